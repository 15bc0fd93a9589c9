// checkpoint_saver: writes a file input's checkpoints away from its watcher.
// It answers each save with the error ("" if none), never writes an older
// generation over a newer one (the watcher's last save at its end may come
// first), and a failed save leaves its generation to be written again.

#include "actors/file_input/checkpoint_saver.hpp"

#include "test/support/actor_fixture.hpp"
#include "test/support/process_helpers.hpp"

#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

namespace {

using namespace logpipe;
using logpipe::proc_test::read_file;
using logpipe::proc_test::temp_dir;

class checkpoint_saver_test : public ::testing::Test {
protected:
  /// Saves `text` as `generation` and returns the saver's answer.
  std::string save(std::uint64_t generation, const std::string& text) {
    std::string answer = "(no answer)";
    self->request(saver, caf::infinite, save_atom_v, generation, text)
      .receive([&](const std::string& error) { answer = error; },
               [&](const caf::error& err) { answer = "(failed: " + sys.render(err) + ")"; });
    return answer;
  }

  ~checkpoint_saver_test() override { caf::anon_send_exit(saver, caf::exit_reason::user_shutdown); }

  logpipe::test::real_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  temp_dir dir{"logpipe-saver"};
  std::string path = dir.path() + "/input.checkpoints";
  std::shared_ptr<checkpoint_file> file = std::make_shared<checkpoint_file>(path);
  checkpoint_saver_actor saver = sys.spawn<caf::detached>(checkpoint_saver, file);
};

TEST_F(checkpoint_saver_test, writes_the_text_and_answers_no_error) {
  EXPECT_EQ(save(1, "first\n"), "");
  EXPECT_EQ(read_file(path), "first\n");
  EXPECT_EQ(save(2, "second\n"), "");
  EXPECT_EQ(read_file(path), "second\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_F(checkpoint_saver_test, never_goes_back_to_an_older_generation) {
  EXPECT_EQ(save(2, "newer\n"), "");
  EXPECT_EQ(save(1, "older\n"), "");
  EXPECT_EQ(read_file(path), "newer\n");
  // The watcher's last save, written directly, is the latest.
  std::string error;
  EXPECT_TRUE(file->write(3, "last\n", error)) << error;
  EXPECT_EQ(save(2, "newer\n"), "");
  EXPECT_EQ(read_file(path), "last\n");
}

TEST_F(checkpoint_saver_test, a_failed_save_answers_why_and_can_be_done_again) {
  std::filesystem::remove_all(dir.path());
  auto error = save(1, "lost\n");
  EXPECT_NE(error.find("cannot create " + path + ".tmp"), std::string::npos) << error;
  std::filesystem::create_directories(dir.path());
  EXPECT_EQ(save(1, "kept\n"), "");
  EXPECT_EQ(read_file(path), "kept\n");
}

} // namespace
