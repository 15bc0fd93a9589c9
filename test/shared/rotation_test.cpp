// Rotation helpers: the rotated name (local time, microseconds), recognising
// rotated names, the hook environment, and running hooks as real processes.

#include "actors/shared/rotation.hpp"
#include "test/support/process_helpers.hpp"
#include "test/support/wait_until.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace logpipe;
using namespace std::chrono_literals;
using logpipe::proc_test::read_file;
using logpipe::proc_test::temp_dir;

/// Sets TZ for the scope of a test and restores the previous value.
class scoped_tz {
public:
  explicit scoped_tz(const char* tz) {
    if (const char* old = std::getenv("TZ"))
      old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  scoped_tz(const scoped_tz&) = delete;
  scoped_tz& operator=(const scoped_tz&) = delete;
  ~scoped_tz() {
    if (old_)
      ::setenv("TZ", old_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }

private:
  std::optional<std::string> old_;
};

std::chrono::system_clock::time_point at(std::int64_t seconds, std::int64_t micros) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(seconds) + std::chrono::microseconds(micros)));
}

/// Waits for a hook to exit; its wait status in words, or nothing on timeout.
std::optional<std::string> wait_for_exit(child_process& hook) {
  std::optional<std::string> how;
  logpipe::test::wait_until([&] { return (how = hook.try_reap()).has_value(); });
  return how;
}

TEST(rotation, rotated_name_in_utc) {
  scoped_tz tz("UTC");
  // 2026-11-26 08:40:01 UTC = 1795682401.
  EXPECT_EQ(rotated_name("app.log", at(1795682401, 123456)),
            "_app.log-20261126_084001_123456");
  EXPECT_EQ(rotated_name("app.log", at(1795682401, 7)),
            "_app.log-20261126_084001_000007");
  EXPECT_EQ(rotated_name("app.log", at(1795682401, 0)),
            "_app.log-20261126_084001_000000");
  EXPECT_EQ(rotated_name("my app.log", at(0, 999999)),
            "_my app.log-19700101_000000_999999");
  // Before 1970 the microseconds still count up from the whole second.
  EXPECT_EQ(rotated_name("old", at(-1, 250000)), "_old-19691231_235959_250000");
}

TEST(rotation, rotated_name_uses_local_time) {
  scoped_tz tz("UTC-2"); // POSIX sign: two hours east of UTC
  EXPECT_EQ(rotated_name("app.log", at(1795682401, 123456)),
            "_app.log-20261126_104001_123456");
}

TEST(rotation, rotated_name_now_is_recognised) {
  const auto name = rotated_name("app.log", std::chrono::system_clock::now());
  EXPECT_EQ(name.size(), std::string("_app.log-20261126_084001_123456").size());
  EXPECT_TRUE(is_rotated_name(name)) << name;
}

TEST(rotation, is_rotated_name) {
  struct name_case {
    std::string name;
    bool rotated;
  };
  const std::vector<name_case> cases{
      {"_app.log-20261126_084001_123456", true},
      {"_-20261126_084001_123456", true},   // from an empty name
      {"_a-b_c-20261126_084001_123456", true},
      {"__app.log-20261126_084001_123456-20261127_000000_000000", true},
      {"_my app.log-20261126_084001_123456", true},
      {"app.log-20261126_084001_123456", false}, // no leading `_`
      {"_app.log20261126_084001_123456", false},  // no `-`
      {"_app.log-2026112_084001_123456", false},  // 7 date digits
      {"_app.log-20261126_08400_123456", false},
      {"_app.log-20261126_084001_12345", false},
      {"_app.log-20261126-084001_123456", false},
      {"_app.log-20261126_084001-123456", false},
      {"_app.log-2026112x_084001_123456", false},
      {"_app.log-20261126_084001_123456.gz", false},
      {"_app.log-20261126_084001_123456 ", false},
      {"-20261126_084001_123456", false},
      {"_20261126_084001_123456", false},
      {"_app.log", false},
      {"_", false},
      {"", false},
      {"app.log", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(is_rotated_name(c.name), c.rotated) << "'" << c.name << "'";
}

TEST(rotation, hook_env) {
  const auto env = rotation_hook_env("/var/log/app", "app.log",
                                     "_app.log-20261126_084001_123456");
  const std::map<std::string, std::string> expected{
      {"LOGPIPE_ROTATING_PATHNAME", "/var/log/app"},
      {"LOGPIPE_ROTATING_OLD_FILENAME", "app.log"},
      {"LOGPIPE_ROTATING_NEW_FILENAME", "_app.log-20261126_084001_123456"},
  };
  EXPECT_EQ(env, expected);
}

TEST(rotation, hook_sees_the_variables) {
  temp_dir dir("logpipe-rotation");
  const auto out = dir.file("hook out");
  ::setenv("LOGPIPE_TEST_AGENT_VAR", "agent", 1);
  auto hook = start_hook(
      "printf '%s|%s|%s|%s' \"$LOGPIPE_ROTATING_PATHNAME\" "
      "\"$LOGPIPE_ROTATING_OLD_FILENAME\" \"$LOGPIPE_ROTATING_NEW_FILENAME\" "
      "\"$LOGPIPE_TEST_AGENT_VAR\" > \"$LOGPIPE_ROTATING_PATHNAME/hook out\"; "
      "echo to-stdout",
      rotation_hook_env(dir.path(), "my app.log", "_my app.log-20261126_084001_123456"));
  ::unsetenv("LOGPIPE_TEST_AGENT_VAR");
  EXPECT_TRUE(hook.running());
  EXPECT_EQ(hook.stdout_fd(), -1); // standard output goes to /dev/null
  EXPECT_EQ(wait_for_exit(hook), std::optional<std::string>("exited with status 0"));
  EXPECT_EQ(read_file(out),
            dir.path() + "|my app.log|_my app.log-20261126_084001_123456|agent");
  EXPECT_FALSE(hook.running());
}

TEST(rotation, failing_hook_reports_its_status) {
  auto hook = start_hook("exit 3", {});
  EXPECT_EQ(wait_for_exit(hook), std::optional<std::string>("exited with status 3"));
}

TEST(rotation, slow_hook_can_be_terminated) {
  auto hook = start_hook("sleep 30", {});
  ASSERT_TRUE(hook.running());
  EXPECT_EQ(hook.try_reap(), std::nullopt);
  const auto start = std::chrono::steady_clock::now();
  hook.terminate();
  EXPECT_FALSE(hook.running());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(rotation, background_hooks_report_unusual_ends_and_kill_late_ones) {
  background_hooks hooks;
  auto t0 = std::chrono::steady_clock::now();
  // A hook that succeeds is reaped without a word.
  hooks.start("exit 0", {}, t0);
  ASSERT_TRUE(logpipe::test::wait_until([&] {
    EXPECT_EQ(hooks.supervise(t0 + 1s, 10s), std::vector<std::string>{});
    return hooks.empty();
  }));
  hooks.start("exit 3", {}, t0);
  hooks.start("sleep 30", {}, t0);
  std::vector<std::string> ends;
  // Before the timeout: the two short hooks are reaped, the sleeper runs on.
  ASSERT_TRUE(logpipe::test::wait_until([&] {
    for (auto& how : hooks.supervise(t0 + 1s, 10s))
      ends.push_back(how);
    return ends.size() == 1;
  }));
  EXPECT_EQ(ends, std::vector<std::string>{"exited with status 3"});
  EXPECT_FALSE(hooks.empty()) << "the sleeper still runs";
  // At the timeout it is killed.
  EXPECT_EQ(hooks.supervise(t0 + 10s, 10s),
            std::vector<std::string>{"still ran after 10 s; killed"});
  EXPECT_TRUE(hooks.empty());
}

} // namespace
