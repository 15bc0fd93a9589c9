#pragma once

// A small tmpfs mounted on a folder for the life of the object: a real full
// disk (ENOSPC) for the tests of what logpipe does when one fills up.
// Mounting needs root (CAP_SYS_ADMIN); without it `mounted()` is false and
// `why_not()` says why, for the test's skip message.

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <sys/mount.h>

namespace logpipe::test {

class small_tmpfs {
public:
  small_tmpfs(const std::filesystem::path& folder, std::size_t bytes) : folder_(folder) {
    std::filesystem::create_directories(folder);
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
    if (::mount("tmpfs", folder.c_str(), "tmpfs", 0, options.c_str()) == 0)
      mounted_ = true;
    else
      why_not_ = std::string("cannot mount a tmpfs on ") + folder.string() + ": "
                 + std::strerror(errno) + " (the test needs root)";
  }
  ~small_tmpfs() {
    if (mounted_)
      ::umount2(folder_.c_str(), MNT_DETACH);
  }
  small_tmpfs(const small_tmpfs&) = delete;
  small_tmpfs& operator=(const small_tmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }

private:
  std::filesystem::path folder_;
  bool mounted_ = false;
  std::string why_not_;
};

} // namespace logpipe::test
