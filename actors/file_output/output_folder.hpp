#pragma once

// The file output's folder: appends blocks to files named by their senders,
// which are hostile input. Every file is opened relative to the folder's own
// descriptor, never through a symbolic link, so nothing is written outside
// the folder whatever the name. Keeps a bounded cache of open descriptors
// (least recently used closed first), the size of each file, and rotates a
// file by size before the write that would start at or beyond it.

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_map>

namespace logpipe {

enum class folder_layout {
  /// path/<file name>: every sender's data for one name in one file.
  flat,
  /// path/<origin>/<file name>.
  by_origin,
};

struct output_folder_settings {
  std::string path;
  folder_layout layout = folder_layout::flat;
  /// Mode of new files (the umask applies); folders get it plus x where r is.
  mode_t file_mode = 0640;
  std::size_t max_open_files = 256;
  /// 0: never rotate.
  std::uint64_t rotate_size = 0;
};

/// A rotation done before a write: what its hook is told.
struct folder_rotation {
  /// The folder the file is in (path, or path/origin).
  std::string folder;
  std::string old_name;
  std::string new_name;
  /// The file's size when it was rotated.
  std::uint64_t old_size = 0;
};

struct append_result {
  enum outcome_kind {
    /// Every byte was written.
    written,
    /// The name (or origin) is not acceptable, or is taken by something that
    /// is not a regular file (a symbolic link, a folder, a FIFO, a socket, a
    /// device): nothing was written, and nothing ever will be under that name.
    refused,
    /// Opening or writing failed (ENOSPC, EIO, EACCES...): nothing of the
    /// block stays in the file (unless taking back a partial write failed,
    /// which `problem` says); the block is not delivered.
    failed,
  };
  outcome_kind outcome = written;
  /// For refused and failed: what was wrong, to complete a log line.
  std::string problem;
  /// For failed: the errno.
  int error = 0;
  /// A rotation happened before the write.
  std::optional<folder_rotation> rotated;
  /// A rotation was due but the rename failed (the file keeps growing and is
  /// not rotated again until it is reopened): why.
  std::string rotation_problem;
};

/// "0640" -> 0640; nothing unless `text` is 3 or 4 octal digits.
std::optional<mode_t> parse_file_mode(std::string_view text);

class output_folder {
public:
  /// Creates `settings.path` (with its parents) if missing, and opens it.
  /// Throws std::system_error.
  explicit output_folder(output_folder_settings settings);
  ~output_folder();

  output_folder(const output_folder&) = delete;
  output_folder& operator=(const output_folder&) = delete;

  /// Why a block from `origin` named `name` cannot be written, or "" if it
  /// can (origin matters only in the by_origin layout).
  std::string name_problem(std::string_view origin, std::string_view name) const;

  /// Appends `size` bytes to the file for (origin, name), opening it if it
  /// is not in the cache, and rotating it first if it reached rotate_size.
  append_result append(std::string_view origin, std::string_view name,
                       const char* data, std::size_t size);

  /// append() in two steps, for a caller that decides what to write from
  /// the file's size: opens the file (rotating it if due) and sets `size` to
  /// its size now; `fresh_size` takes it with fstat even if the file was
  /// already open (someone else may have truncated it). On success (outcome
  /// `written`) the file is the one write_opened() appends to.
  append_result open_for_append(std::string_view origin, std::string_view name,
                                bool fresh_size, std::uint64_t& size);
  /// Appends to the file the last successful open_for_append() opened
  /// (outcome `failed` if there is none).
  append_result write_opened(const char* data, std::size_t size);

  /// Closes every cached descriptor.
  void close_all();

  /// Descriptors open now.
  std::size_t open_files() const { return files_.size(); }

  /// The folder where files of `origin` go (path, or path/origin).
  std::string folder_of(std::string_view origin) const;

  const output_folder_settings& settings() const { return settings_; }

private:
  struct open_file {
    std::string key;
    std::string origin;
    std::string name;
    int fd = -1;
    std::uint64_t size = 0;
    bool rotation_failed = false;
  };
  using file_list = std::list<open_file>;

  /// Opens the origin's folder (creating it), or returns the folder's own
  /// descriptor in the flat layout. -1 and `result` filled on failure.
  int open_origin_folder(std::string_view origin, append_result& result);
  /// Opens the file relative to `dir_fd`; -1 and `result` filled on failure.
  /// Out of descriptors, it closes cached ones, but never `keep`.
  int open_in(int dir_fd, std::string_view name, std::uint64_t& size,
              append_result& result, const open_file* keep);
  /// The cached entry for the key in key_, opened if needed; nullptr and
  /// `result` filled on failure.
  open_file* find_or_open(std::string_view origin, std::string_view name,
                          append_result& result);
  void rotate(open_file& file, append_result& result);
  void evict_oldest();
  /// Closes and drops the front (most recently used) entry.
  void forget_front();

  output_folder_settings settings_;
  mode_t folder_mode_;
  int dir_fd_ = -1;
  /// Most recently used first.
  file_list files_;
  std::unordered_map<std::string, file_list::iterator> by_key_;
  /// Reused to build lookup keys ("origin/name" or "name").
  std::string key_;
  /// open_for_append() succeeded and nothing has touched the cache since:
  /// the front entry is the file to write to.
  bool opened_ = false;
};

} // namespace logpipe
