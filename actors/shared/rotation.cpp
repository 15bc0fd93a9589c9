#include "actors/shared/rotation.hpp"

#include <cstdio>
#include <ctime>

namespace logpipe {

namespace {

/// The length of `-YYYYMMDD_HHMMSS_uuuuuu`.
constexpr std::size_t suffix_length = 1 + 8 + 1 + 6 + 1 + 6;

bool all_digits(std::string_view text) {
  for (char c : text)
    if (c < '0' || c > '9')
      return false;
  return true;
}

} // namespace

std::string rotated_name(const std::string& name,
                         std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  // Floor, not truncation: before 1970 the microseconds stay in 0..999999.
  const auto secs = time_point_cast<seconds>(when);
  const auto whole = secs > when ? secs - seconds(1) : secs;
  const auto micros = duration_cast<microseconds>(when - whole).count();
  const std::time_t t = system_clock::to_time_t(whole);
  std::tm local{};
  ::localtime_r(&t, &local);
  char stamp[128];
  std::snprintf(stamp, sizeof stamp, "-%04d%02d%02d_%02d%02d%02d_%06ld",
                local.tm_year + 1900, local.tm_mon + 1, local.tm_mday, local.tm_hour,
                local.tm_min, local.tm_sec, static_cast<long>(micros));
  return "_" + name + stamp;
}

bool is_rotated_name(std::string_view name) {
  if (name.size() < 1 + suffix_length || name.front() != '_')
    return false;
  const auto suffix = name.substr(name.size() - suffix_length);
  return suffix[0] == '-' && all_digits(suffix.substr(1, 8)) && suffix[9] == '_'
         && all_digits(suffix.substr(10, 6)) && suffix[16] == '_'
         && all_digits(suffix.substr(17, 6));
}

std::map<std::string, std::string> rotation_hook_env(const std::string& folder,
                                                     const std::string& old_name,
                                                     const std::string& new_name) {
  return {
    {"LOGPIPE_ROTATING_PATHNAME", folder},
    {"LOGPIPE_ROTATING_OLD_FILENAME", old_name},
    {"LOGPIPE_ROTATING_NEW_FILENAME", new_name},
  };
}

child_process start_hook(const std::string& command,
                         const std::map<std::string, std::string>& env) {
  return child_process::start(command, env, /*capture_stdout=*/false);
}

void background_hooks::start(const std::string& command,
                             const std::map<std::string, std::string>& env, time_point now) {
  running_.emplace_back(start_hook(command, env), now);
}

std::vector<std::string> background_hooks::supervise(time_point now,
                                                     std::chrono::microseconds timeout) {
  std::vector<std::string> unusual;
  for (auto i = running_.begin(); i != running_.end();) {
    auto how = i->first.try_reap();
    if (!how && now - i->second >= timeout) {
      i->first.terminate();
      how = "still ran after " + std::to_string(timeout.count() / 1000000) + " s; killed";
    }
    if (!how) {
      ++i;
      continue;
    }
    if (*how != "exited with status 0")
      unusual.push_back(*how);
    i = running_.erase(i);
  }
  return unusual;
}

} // namespace logpipe
