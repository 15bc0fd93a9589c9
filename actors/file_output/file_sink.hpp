#pragma once

// `[[outputs]] type = "file"`: writes each stream under its file name in an
// output folder (an aggregator's end of logpipe): path/<file name>, or
// path/<origin>/<file name>. Names are hostile input; a block is acked only
// once all its bytes are written; a full or failing disk holds the blocks
// (and, through the bus, the inputs) and is retried; files rotate by size
// with a hook. With by_origin, source bytes a file already holds are not
// written again.

#include "actors/core/component_registry.hpp"
#include "actors/file_output/output_folder.hpp"
#include "actors/file_output/written_ranges.hpp"
#include "actors/shared/child_process.hpp"
#include "actors/shared/rotation.hpp"

#include <caf/actor_clock.hpp>
#include <caf/message.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace logpipe {

using file_sink_actor = output_actor::extend<
  // Internal timer: reap the rotation hooks, kill those past hook_timeout.
  caf::reacts_to<tick_atom>,
  // Internal timer: try the held blocks again after a disk error.
  caf::reacts_to<retry_atom>>;

/// Duplicate bytes skipped and not yet logged: one line per burst.
struct duplicate_burst {
  /// The file they were for, as logged.
  std::string file;
  std::uint64_t bytes = 0;
  /// Bytes were added since the last tick (the burst goes on).
  bool grew = false;
};

/// Keys already logged about, bounded: a hostile peer may send endless names.
struct logged_once {
  std::set<std::string> seen;
  /// The bound was reached (and said so).
  bool full = false;
};

struct file_sink_state {
  static constexpr const char* name = "file_sink";

  file_sink_state() = default;
  file_sink_state(const file_sink_state&) = delete;
  file_sink_state& operator=(const file_sink_state&) = delete;
  /// Logs what the output did.
  ~file_sink_state();

  /// The component's name from its config, for log lines.
  std::string component;
  std::uint32_t index = 0;
  bus_actor bus;
  std::unique_ptr<output_folder> folder;
  bool inflate = false;
  std::string exec_after_rotating;
  std::chrono::microseconds hook_timeout{std::chrono::seconds(60)};
  /// Running after-rotation hooks.
  background_hooks hooks;
  bool tick_scheduled = false;
  /// Reused for every inflated block.
  std::vector<char> inflated;
  std::string inflate_error;
  /// Files already logged as refused, or as having non-zlib blocks.
  logged_once refused_names;
  logged_once not_deflate_names;
  /// by_origin only: which source bytes each file holds.
  std::unique_ptr<written_ranges> ranges;
  duplicate_burst burst;
  /// A write failed for a reason about the disk (full, quota, I/O error,
  /// read-only): that block and every later one, in order, unacked, until a
  /// retry writes them. The bus's own messages: no bytes are copied.
  std::deque<caf::message> held;
  std::chrono::microseconds retry_interval{std::chrono::seconds(5)};
  bool retry_scheduled = false;
  /// Retries that failed since the disk error began.
  std::uint64_t retries = 0;
  std::uint64_t blocks = 0;
  std::uint64_t bytes = 0;
  std::uint64_t refused = 0;
  std::uint64_t not_deflate = 0;
  std::uint64_t rotations = 0;
  /// Bytes of re-sent blocks not written, since they already were.
  std::uint64_t duplicate_bytes = 0;
};

file_sink_actor::behavior_type
file_sink(file_sink_actor::stateful_pointer<file_sink_state> self, component_context ctx);

config::kind_schema file_sink_schema();

/// Runs detached (its own thread): disk writes may block.
output_actor spawn_file_sink(caf::actor_system& sys, const component_context& ctx);

} // namespace logpipe
