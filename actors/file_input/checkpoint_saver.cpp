#include "actors/file_input/checkpoint_saver.hpp"

#include "actors/file_input/checkpoint_store.hpp"

namespace logpipe {

bool checkpoint_file::write(std::uint64_t generation, const std::string& text,
                            std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (generation <= written_)
    return true;
  if (!write_checkpoint_file(path_, text, error))
    return false;
  written_ = generation;
  return true;
}

checkpoint_saver_actor::behavior_type checkpoint_saver(std::shared_ptr<checkpoint_file> file) {
  return {
    [file](save_atom, std::uint64_t generation, const std::string& text) {
      std::string error;
      file->write(generation, text, error);
      return error;
    },
  };
}

} // namespace logpipe
