#include "actors/file_output/output_folder.hpp"

#include "actors/shared/file_name.hpp"
#include "actors/shared/rotation.hpp"
#include "actors/shared/write_all.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace logpipe {

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

// Why opening a name failed in a way that no retry can fix, because of what
// the name is (not a regular file), or nullptr.
const char* unopenable_name(int err) {
  switch (err) {
    case ELOOP:
      return "file is a symbolic link";
    case EISDIR:
      return "is a folder";
    case ENXIO:
      return "is a FIFO or socket";
    case ENOTDIR:
      return "a part of the path is not a folder";
    default:
      return nullptr;
  }
}

// mkdir -p: creates every missing folder of `path`; 0 or errno.
int make_folders(const std::string& path, mode_t mode) {
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/')
      continue;
    const std::string prefix = path.substr(0, i);
    struct stat info;
    if (::stat(prefix.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
      continue;
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST)
      return errno;
  }
  return 0;
}

void close_fd(int fd) {
  if (fd >= 0)
    ::close(fd);
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Renames `from` to a free rotated name in `dir_fd` (never over an existing
// file: two rotations within one microsecond get distinct names); 0 or errno.
int rename_rotated(int dir_fd, const std::string& from, std::string& to) {
  auto when = std::chrono::system_clock::now();
  for (int attempt = 0; attempt < 100; ++attempt) {
    to = rotated_name(from, when + std::chrono::microseconds(attempt));
    if (::renameat2(dir_fd, from.c_str(), dir_fd, to.c_str(), RENAME_NOREPLACE) == 0)
      return 0;
    if (errno == EINVAL) {
      // A file system without RENAME_NOREPLACE: check, then rename.
      struct stat info;
      if (::fstatat(dir_fd, to.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0)
        continue;
      return ::renameat(dir_fd, from.c_str(), dir_fd, to.c_str()) == 0 ? 0 : errno;
    }
    if (errno != EEXIST)
      return errno;
  }
  return EEXIST;
}

} // namespace

std::optional<mode_t> parse_file_mode(std::string_view text) {
  if (text.size() < 3 || text.size() > 4)
    return std::nullopt;
  mode_t mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7')
      return std::nullopt;
    mode = mode * 8 + static_cast<mode_t>(c - '0');
  }
  return mode;
}

output_folder::output_folder(output_folder_settings settings)
  : settings_(std::move(settings)) {
  // Folders get x wherever files get r, so what may read a file may list it.
  folder_mode_ = settings_.file_mode | ((settings_.file_mode & 0444) >> 2);
  auto& path = settings_.path;
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  if (settings_.max_open_files == 0)
    settings_.max_open_files = 1;
  if (int err = make_folders(path, folder_mode_))
    throw std::system_error(err, std::generic_category(), "cannot create " + path);
  dir_fd_ = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "cannot open folder " + path);
}

output_folder::~output_folder() {
  close_all();
  close_fd(dir_fd_);
}

void output_folder::close_all() {
  opened_ = false;
  for (auto& f : files_)
    close_fd(f.fd);
  files_.clear();
  by_key_.clear();
}

std::string output_folder::folder_of(std::string_view origin) const {
  if (settings_.layout == folder_layout::flat)
    return settings_.path;
  return settings_.path + "/" + std::string(origin);
}

std::string output_folder::name_problem(std::string_view origin,
                                        std::string_view name) const {
  if (settings_.layout == folder_layout::by_origin) {
    if (auto why = file_name_problem(origin); !why.empty())
      return "origin " + why;
  }
  if (auto why = file_name_problem(name); !why.empty())
    return "file name " + why;
  return {};
}

int output_folder::open_origin_folder(std::string_view origin, append_result& result) {
  if (settings_.layout == folder_layout::flat)
    return dir_fd_;
  const std::string folder(origin);
  if (::mkdirat(dir_fd_, folder.c_str(), folder_mode_) != 0 && errno != EEXIST) {
    result.outcome = append_result::failed;
    result.error = errno;
    result.problem = "cannot create folder " + folder_of(origin) + ": " + errno_text(errno);
    return -1;
  }
  int fd = ::openat(dir_fd_, folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0)
    return fd;
  int err = errno;
  // With O_DIRECTORY a symbolic link is reported as ENOTDIR, not ELOOP.
  struct stat info;
  if (err == ELOOP
      || (err == ENOTDIR && ::fstatat(dir_fd_, folder.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0
          && S_ISLNK(info.st_mode))) {
    result.outcome = append_result::refused;
    result.error = ELOOP;
    result.problem = "origin folder is a symbolic link";
    return -1;
  }
  if (err == ENOTDIR) {
    result.outcome = append_result::refused;
    result.error = err;
    result.problem = "origin folder is not a folder";
    return -1;
  }
  result.outcome = append_result::failed;
  result.error = err;
  result.problem = "cannot open folder " + folder_of(origin) + ": " + errno_text(err);
  return -1;
}

int output_folder::open_in(int dir_fd, std::string_view name, std::uint64_t& size,
                           append_result& result, const open_file* keep) {
  const std::string file(name);
  // O_NONBLOCK: a FIFO planted under the name must not block the open.
  const int flags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
  int fd;
  for (;;) {
    fd = ::openat(dir_fd, file.c_str(), flags, settings_.file_mode);
    if (fd >= 0)
      break;
    if (errno == EINTR)
      continue;
    if ((errno == EMFILE || errno == ENFILE) && !files_.empty() && &files_.back() != keep) {
      // Out of descriptors: give back one of ours and try again.
      evict_oldest();
      continue;
    }
    break;
  }
  if (fd < 0) {
    int err = errno;
    if (const char* why = unopenable_name(err)) {
      result.outcome = append_result::refused;
      result.error = err;
      result.problem = why;
    } else {
      result.outcome = append_result::failed;
      result.error = err;
      result.problem = "cannot open: " + errno_text(err);
    }
    return -1;
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    result.outcome = append_result::failed;
    result.error = errno;
    result.problem = "cannot stat: " + errno_text(errno);
    ::close(fd);
    return -1;
  }
  if (!S_ISREG(info.st_mode)) {
    // A FIFO with a reader, a device: never a file to append a stream to.
    result.outcome = append_result::refused;
    result.error = EINVAL;
    result.problem = "is not a regular file (a FIFO, socket or device)";
    ::close(fd);
    return -1;
  }
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0)
    ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  size = static_cast<std::uint64_t>(info.st_size);
  return fd;
}

void output_folder::evict_oldest() {
  if (files_.empty())
    return;
  auto& oldest = files_.back();
  close_fd(oldest.fd);
  by_key_.erase(oldest.key);
  files_.pop_back();
}

output_folder::open_file*
output_folder::find_or_open(std::string_view origin, std::string_view name,
                            append_result& result) {
  key_.clear();
  if (settings_.layout == folder_layout::by_origin) {
    key_.append(origin);
    key_ += '/';
  }
  key_.append(name);
  if (auto it = by_key_.find(key_); it != by_key_.end()) {
    files_.splice(files_.begin(), files_, it->second);
    return &files_.front();
  }
  if (files_.size() >= settings_.max_open_files)
    evict_oldest();
  int dir = open_origin_folder(origin, result);
  if (dir < 0)
    return nullptr;
  std::uint64_t size = 0;
  int fd = open_in(dir, name, size, result, nullptr);
  if (dir != dir_fd_)
    ::close(dir);
  if (fd < 0)
    return nullptr;
  open_file f;
  f.key = key_;
  f.origin = std::string(origin);
  f.name = std::string(name);
  f.fd = fd;
  f.size = size;
  files_.push_front(std::move(f));
  by_key_.emplace(files_.front().key, files_.begin());
  return &files_.front();
}

// Renames the file and opens a new one under its name. Leaves `file.fd` at
// -1 (and `result` filled) if the new file cannot be opened.
void output_folder::rotate(open_file& file, append_result& result) {
  const std::uint64_t old_size = file.size;
  append_result folder_result;
  int dir = open_origin_folder(file.origin, folder_result);
  if (dir < 0) {
    file.rotation_failed = true;
    result.rotation_problem = folder_result.problem;
    return;
  }
  // Rename only if the name still is our file: someone may have moved or
  // deleted it, and then we just start a new one.
  struct stat ours, there;
  std::string new_name;
  bool renamed = false;
  if (::fstat(file.fd, &ours) == 0
      && ::fstatat(dir, file.name.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0
      && same_file(ours, there)) {
    if (int err = rename_rotated(dir, file.name, new_name)) {
      file.rotation_failed = true;
      result.rotation_problem =
        "cannot rename to " + new_name + ": " + errno_text(err);
      if (dir != dir_fd_)
        ::close(dir);
      return;
    }
    renamed = true;
  }
  close_fd(file.fd);
  file.fd = open_in(dir, file.name, file.size, result, &file);
  if (dir != dir_fd_)
    ::close(dir);
  if (renamed)
    result.rotated = folder_rotation{folder_of(file.origin), file.name, new_name, old_size};
}

void output_folder::forget_front() {
  close_fd(files_.front().fd);
  by_key_.erase(files_.front().key);
  files_.pop_front();
  opened_ = false;
}

append_result output_folder::open_for_append(std::string_view origin, std::string_view name,
                                             bool fresh_size, std::uint64_t& size) {
  opened_ = false;
  append_result result;
  if (auto why = name_problem(origin, name); !why.empty()) {
    result.outcome = append_result::refused;
    result.problem = std::move(why);
    return result;
  }
  open_file* file = find_or_open(origin, name, result);
  if (!file)
    return result;
  if (fresh_size) {
    struct stat info;
    if (::fstat(file->fd, &info) != 0) {
      result.outcome = append_result::failed;
      result.error = errno;
      result.problem = "cannot stat: " + errno_text(errno);
      forget_front(); // `file` is the front entry
      return result;
    }
    file->size = static_cast<std::uint64_t>(info.st_size);
  }
  if (settings_.rotate_size > 0 && file->size >= settings_.rotate_size
      && !file->rotation_failed) {
    rotate(*file, result);
    if (file->fd < 0) {
      forget_front();
      return result;
    }
  }
  size = file->size;
  opened_ = true;
  return result;
}

append_result output_folder::write_opened(const char* data, std::size_t size) {
  append_result result;
  if (!opened_) {
    result.outcome = append_result::failed;
    result.error = EBADF;
    result.problem = "no file opened to write to";
    return result;
  }
  auto& file = files_.front();
  const auto before = file.size;
  if (int err = write_all(file.fd, data, size, &file.size)) {
    result.outcome = append_result::failed;
    result.error = err;
    result.problem = "cannot write: " + errno_text(err);
    // Takes back the part written (a disk that filled up mid-block), so that
    // the block written again later is in the file once.
    if (file.size > before && ::ftruncate(file.fd, static_cast<off_t>(before)) != 0)
      result.problem += "; the " + std::to_string(file.size - before)
                        + " bytes written of it stay (cannot truncate: " + errno_text(errno)
                        + ")";
    // Its size and state are unknown now: open it afresh next time.
    forget_front();
  }
  return result;
}

append_result output_folder::append(std::string_view origin, std::string_view name,
                                    const char* data, std::size_t size) {
  std::uint64_t file_size = 0;
  append_result result = open_for_append(origin, name, false, file_size);
  if (result.outcome != append_result::written)
    return result;
  append_result written = write_opened(data, size);
  result.outcome = written.outcome;
  result.error = written.error;
  result.problem = std::move(written.problem);
  return result;
}

} // namespace logpipe
