// fd_watcher with a real actor system: one notice per arm(), a notice on EOF,
// and a destructor that returns at once even while its thread waits in poll.

#include "actors/shared/fd_watcher.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/wait_until.hpp"

#include "messages/atoms.hpp"
#include "messages/registration.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <fcntl.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;

class fd_watcher_test : public ::testing::Test {
protected:
  fd_watcher_test() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::runtime_error("pipe2 failed");
    read_fd = fds[0];
    write_fd = fds[1];
  }

  ~fd_watcher_test() override {
    watcher.reset();
    close_write();
    ::close(read_fd);
  }

  void start() {
    watcher = std::make_unique<fd_watcher>(read_fd, self->address(),
                                           caf::make_message(readable_atom_v));
  }

  void put(const std::string& text) {
    ASSERT_EQ(::write(write_fd, text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
  }

  void close_write() {
    if (write_fd >= 0) {
      ::close(write_fd);
      write_fd = -1;
    }
  }

  std::string drain() {
    std::string result;
    char buf[256];
    ssize_t n;
    while ((n = ::read(read_fd, buf, sizeof(buf))) > 0)
      result.append(buf, static_cast<std::size_t>(n));
    return result;
  }

  /// Waits for one notice; false if none came within `limit`.
  bool await_notice(std::chrono::milliseconds limit = 5000ms) {
    bool got = false;
    self->receive([&](readable_atom) { got = true; },
                  caf::after(limit) >> [] {});
    return got;
  }

  /// Stops the watcher (joining its thread: it sends nothing afterwards) and
  /// counts the notices still in the mailbox.
  int stop_and_count_leftover_notices() {
    watcher.reset();
    int count = 0;
    for (bool more = true; more;) {
      more = false;
      self->receive([&](readable_atom) { ++count; more = true; },
                    caf::after(0ms) >> [] {});
    }
    return count;
  }

  real_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  int read_fd = -1;
  int write_fd = -1;
  std::unique_ptr<fd_watcher> watcher;
};

TEST_F(fd_watcher_test, notifies_once_per_arm) {
  start();
  put("first");
  ASSERT_TRUE(await_notice());
  // More data without arm(): no notice.
  put("second");
  EXPECT_EQ(drain(), "firstsecond");
  put("third");
  watcher->arm();
  ASSERT_TRUE(await_notice());
  EXPECT_EQ(drain(), "third");
  // Armed on an empty pipe: the next write is noticed.
  watcher->arm();
  put("fourth");
  ASSERT_TRUE(await_notice());
  EXPECT_EQ(drain(), "fourth");
  // Exactly three notices: none for "second", none without arm().
  EXPECT_EQ(stop_and_count_leftover_notices(), 0);
}

TEST_F(fd_watcher_test, arming_with_unread_data_notifies_again_at_once) {
  start();
  put("x");
  ASSERT_TRUE(await_notice());
  // The reader did not drain the pipe: each arm() gives one more notice.
  watcher->arm();
  ASSERT_TRUE(await_notice());
  watcher->arm();
  ASSERT_TRUE(await_notice());
  EXPECT_EQ(stop_and_count_leftover_notices(), 0);
  EXPECT_EQ(drain(), "x");
}

TEST_F(fd_watcher_test, notifies_when_the_writer_closes) {
  start();
  close_write();
  ASSERT_TRUE(await_notice());
  char c;
  EXPECT_EQ(::read(read_fd, &c, 1), 0) << "EOF";
  EXPECT_EQ(stop_and_count_leftover_notices(), 0);
}

TEST_F(fd_watcher_test, notifies_eof_after_data_once_armed_again) {
  start();
  put("last words");
  ASSERT_TRUE(await_notice());
  close_write();
  EXPECT_EQ(drain(), "last words");
  watcher->arm();
  ASSERT_TRUE(await_notice());
  char c;
  EXPECT_EQ(::read(read_fd, &c, 1), 0) << "EOF";
  EXPECT_EQ(stop_and_count_leftover_notices(), 0);
}

TEST_F(fd_watcher_test, destructor_returns_promptly_while_armed_and_waiting) {
  start();
  // Nothing to read: the thread waits in poll() on both descriptors.
  auto started = clock_type::now();
  watcher.reset();
  EXPECT_LT(clock_type::now() - started, 500ms);
  EXPECT_EQ(stop_and_count_leftover_notices(), 0);
}

TEST_F(fd_watcher_test, destructor_returns_promptly_while_disarmed) {
  start();
  put("x");
  ASSERT_TRUE(await_notice());
  // Disarmed, data pending: the thread waits in poll() on its eventfd only.
  auto started = clock_type::now();
  watcher.reset();
  EXPECT_LT(clock_type::now() - started, 500ms);
  EXPECT_EQ(stop_and_count_leftover_notices(), 0);
}

TEST_F(fd_watcher_test, a_dead_target_gets_nothing_and_the_destructor_still_works) {
  caf::actor_addr dead;
  {
    caf::scoped_actor gone{sys};
    dead = gone->address();
  }
  auto w = std::make_unique<fd_watcher>(read_fd, dead, caf::make_message(readable_atom_v));
  put("x");
  auto started = clock_type::now();
  w.reset();
  EXPECT_LT(clock_type::now() - started, 500ms);
}

} // namespace
} // namespace logpipe::test
