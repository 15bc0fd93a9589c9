#pragma once

// One collected file: reads what is appended (pread straight into the block),
// cuts at newlines in line mode, deflates if configured, publishes to the bus
// with a sequence number from its dir_watcher, rotates the file by size, and
// follows it through renames, truncation and deletion.

#include "actors/file_input/checkpoint_store.hpp"
#include "actors/shared/child_process.hpp"
#include "actors/shared/rotation.hpp"
#include "messages/file_input.hpp"

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace logpipe {

/// What every tail of one file input shares.
struct file_tail_settings {
  std::string folder;
  std::uint32_t input_index = 0;
  std::string origin;
  bus_actor bus;
  std::size_t block_size = 128 * 1024;
  bool line_mode = false;
  std::size_t max_line = 64 * 1024;
  bool deflate = false;
  int compress_level = -1;
  /// Where deflate blocks are compressed, in turn; empty: by the tail itself.
  std::vector<block_compressor_actor> compressors;
  std::uint64_t rotate_size = 0; // 0: never
  std::string exec_before_rotating;
  std::string exec_after_rotating;
  std::chrono::microseconds hook_timeout{std::chrono::seconds(60)};
  std::chrono::microseconds close_inactive{std::chrono::seconds(60)};
};

/// Where a tail starts reading: the file's generation (log_block::source_id)
/// and the offset in it.
struct file_position {
  std::uint64_t source_id = 0;
  std::uint64_t offset = 0;
};

struct file_tail_state {
  static constexpr const char* name = "file_tail";

  file_tail_state() = default;
  file_tail_state(const file_tail_state&) = delete;
  file_tail_state& operator=(const file_tail_state&) = delete;
  ~file_tail_state();

  std::shared_ptr<const file_tail_settings> settings;
  dir_watcher_actor watcher;
  tail_id id = 0;
  /// Its current name in the folder, and the name its blocks carry.
  std::string file_name;
  std::string shipped_name;
  file_identity identity;
  /// Stamped on every block; a new one when the file is read again from 0.
  std::uint64_t source_id = 0;
  int fd = -1;
  /// The next byte to read, and the file's size when last looked at.
  std::uint64_t offset = 0;
  std::uint64_t known_size = 0;
  /// Deleted, moved out, or renamed to a name that is not collected.
  bool removed = false;
  /// Removed and idle for close_inactive: ship what is left, then finish.
  bool final_read = false;
  bool stopped = false;
  bool awaiting_credit = false;
  bool tick_scheduled = false;
  caf::actor_clock::time_point next_tick;
  caf::actor_clock::time_point last_activity;
  std::uint64_t split_lines = 0;
  // Rotation by size: the before-hook runs, then the rename, then the after-hook.
  bool rotating = false;
  std::string rotated_to;
  std::optional<child_process> before_hook;
  caf::actor_clock::time_point hook_started;
  background_hooks after_hooks;
  /// Reused for deflate output.
  std::vector<char> deflated;
  /// Blocks at the compressors are numbered in read order and published in
  /// that order: the answers that came early wait here, with their end offset.
  std::uint64_t next_to_compress = 0;
  std::uint64_t next_to_publish = 0;
  std::map<std::uint64_t, std::pair<log_block, std::uint64_t>> compressed;
  /// Finishing waits until the compressors have answered every block.
  bool finish_when_compressed = false;

  std::size_t compressing() const { return next_to_compress - next_to_publish; }
};

/// Starts with its file closed: it opens it (by name, checking the identity)
/// when there is something to read, and closes it when idle.
file_tail_actor::behavior_type
file_tail(file_tail_actor::stateful_pointer<file_tail_state> self,
          std::shared_ptr<const file_tail_settings> settings, dir_watcher_actor watcher,
          tail_id id, std::string name, std::string shipped_name, file_identity identity,
          file_position start);

} // namespace logpipe
