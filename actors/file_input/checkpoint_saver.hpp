#pragma once

// Writes a file input's checkpoints on a thread of its own. The watcher hands
// out reading credit; were it to fsync itself, every file of the input would
// wait for the disk (tens to hundreds of milliseconds while the disk is busy).

#include "messages/file_input.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace logpipe {

/// The checkpoint file of one input, shared by its saver and by the
/// watcher's last save when it ends: one write at a time, and never back to
/// an older generation.
class checkpoint_file {
public:
  explicit checkpoint_file(std::string path) : path_(std::move(path)) {}

  /// Writes `text` as `generation` (see write_checkpoint_file) unless a
  /// later generation is on disk. False and `error` on failure.
  bool write(std::uint64_t generation, const std::string& text, std::string& error);

private:
  std::mutex mutex_;
  const std::string path_;
  std::uint64_t written_ = 0;
};

checkpoint_saver_actor::behavior_type checkpoint_saver(std::shared_ptr<checkpoint_file> file);

} // namespace logpipe
