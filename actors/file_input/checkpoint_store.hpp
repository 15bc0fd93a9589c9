#pragma once

// Where a file input records how far each file has been delivered. One store
// per input, one file on disk (written atomically: temporary file, fsync,
// rename). A file is known by its identity, not its name: device and inode,
// plus a hash of its first bytes so that a reused inode is not mistaken for
// the file that had it before. Each file also keeps its source id (see
// source_id.hpp), so that a restarted input ships it under the same id.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace logpipe {

/// How many leading bytes the identity hash covers (fewer if the file was
/// shorter when its identity was taken).
constexpr std::size_t identity_prefix = 1024;

struct file_identity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  /// Bytes hashed (min(identity_prefix, size at the time)), and their hash.
  std::uint32_t prefix_length = 0;
  std::uint64_t prefix_hash = 0;

  /// Same device and inode.
  bool same_inode(const file_identity& other) const;
};

/// Reads the identity of an open file (fstat + pread of the prefix).
/// nullopt (errno set) on I/O error.
std::optional<file_identity> identity_of(int fd);

/// Whether the open file `fd` is still the file `id` names: same inode and
/// the same first `id.prefix_length` bytes. A file now shorter than the
/// prefix is not the same file.
bool is_same_file(int fd, const file_identity& id);

/// The hash used for prefixes (64-bit FNV-1a), exposed for tests.
std::uint64_t prefix_hash(const char* data, std::size_t size);

struct checkpoint {
  file_identity id;
  /// The name the file was shipped under (the name blocks carry).
  std::string name;
  /// Every byte before this offset has been delivered (acked by the bus).
  std::uint64_t offset = 0;
  /// The generation of the file that `offset` counts in (log_block::source_id).
  std::uint64_t source_id = 0;
};

class checkpoint_store {
public:
  /// `path`: the store's file (its folder must exist).
  explicit checkpoint_store(std::string path);

  /// Reads the file. A missing file is an empty store (returns true); a
  /// corrupt or unreadable one is an error: returns false and sets `error`,
  /// and the store stays empty. Entries of the previous format (without
  /// source ids) get a new source id each.
  bool load(std::string& error);

  /// Writes every checkpoint to a temporary file in the same folder, fsyncs
  /// it, renames it over the store's file and fsyncs the folder. False and
  /// `error` on failure (the previous file is then untouched).
  bool save(std::string& error) const;

  /// The file's content: what save() writes.
  std::string text() const;

  /// The checkpoint of the file with this device and inode whose recorded
  /// prefix still matches `fd`'s first bytes, if any.
  const checkpoint* find(int fd, const file_identity& id) const;

  /// Whether a checkpoint is kept for this device and inode (whatever its head).
  bool has(std::uint64_t device, std::uint64_t inode) const {
    return entries_.count(std::make_pair(device, inode)) > 0;
  }

  /// Records (or replaces) the checkpoint of `cp.id` (keyed by device+inode).
  void put(const checkpoint& cp);

  /// Forgets the file with this device and inode.
  void erase(const file_identity& id);

  std::size_t size() const { return entries_.size(); }
  std::vector<checkpoint> all() const;
  const std::string& path() const { return path_; }

private:
  std::string path_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, checkpoint> entries_;
};

/// Replaces the file at `path` with `text` as checkpoint_store::save does
/// (temporary file, fsync, rename, fsync of the folder). False and `error`
/// on failure (the previous file is then untouched).
bool write_checkpoint_file(const std::string& path, const std::string& text,
                           std::string& error);

} // namespace logpipe
