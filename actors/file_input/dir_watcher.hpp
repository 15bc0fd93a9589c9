#pragma once

// `[[inputs]] type = "file"`: watches one folder with inotify (no periodic
// scan), starts a file_tail for every file whose name the globs accept, and
// owns what the tails share: the credit window, the checkpoint store, the
// bound on open descriptors.

#include "actors/core/component_registry.hpp"
#include "actors/core/credit_window.hpp"
#include "actors/file_input/checkpoint_saver.hpp"
#include "actors/file_input/checkpoint_store.hpp"
#include "actors/file_input/file_tail.hpp"
#include "actors/file_input/glob.hpp"
#include "actors/shared/fd_watcher.hpp"
#include "messages/file_input.hpp"

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <deque>
#include <map>
#include <set>
#include <memory>
#include <string>

namespace logpipe {

/// A file the watcher knows, with what its checkpoint needs.
struct tracked_file {
  file_tail_actor tail;
  std::string name;
  std::string shipped_name;
  file_identity identity;
  /// The file's current generation (log_block::source_id).
  std::uint64_t source_id = 0;
  /// Every byte of that generation before it is delivered.
  std::uint64_t acked_offset = 0;
  struct block {
    std::uint64_t seq;
    std::uint64_t end;
    /// The generation it was read from: once the file is read again from 0,
    /// the acks of older blocks no longer move the checkpoint.
    std::uint64_t source_id;
    bool acked;
  };
  /// Published blocks in order, until the ones before them are acked too.
  std::deque<block> in_flight;
  bool open = false;
  bool deleted = false;
  bool finished = false;
  /// Its tail read it to its end after it went away (deleted, or renamed to a
  /// name that is not collected): its checkpoint is of no more use.
  bool read_to_end = false;
  std::uint32_t crashes = 0;
  caf::actor_clock::time_point last_active;
};

struct dir_watcher_state {
  static constexpr const char* name = "dir_watcher";

  dir_watcher_state() : filter({}, {}), credit(1), store("") {}
  dir_watcher_state(const dir_watcher_state&) = delete;
  dir_watcher_state& operator=(const dir_watcher_state&) = delete;
  /// Stops the inotify thread, closes the descriptor, saves checkpoints.
  ~dir_watcher_state();

  std::string component;
  std::shared_ptr<file_tail_settings> settings;
  name_filter filter;
  bool read_from_head = false;
  bool first_start = false;
  std::size_t max_open_files = 1024;
  credit_window credit;
  int inotify_fd = -1;
  int folder_wd = -1;
  std::unique_ptr<fd_watcher> inotify_watcher;
  tail_id next_id = 1;
  std::map<tail_id, tracked_file> files;
  /// The names of tracked files (collected ones and those rotated away).
  std::map<std::string, tail_id> by_name;
  /// Watches on the targets of symbolic links (the folder's watch does not
  /// see writes to a file elsewhere).
  std::map<int, tail_id> by_link_watch;
  /// Names of IN_MOVED_FROM events waiting for their IN_MOVED_TO.
  std::map<std::uint32_t, std::string> moving;
  /// Sequence numbers given to a tail and not yet published, and published
  /// ones not yet acked.
  std::map<std::uint64_t, tail_id> granted;
  std::map<std::uint64_t, tail_id> owners;
  /// Acked by the bus before the tail's `published` came (different senders,
  /// no order between them).
  std::set<std::uint64_t> acked_early;
  std::deque<std::pair<tail_id, caf::typed_response_promise<std::uint64_t>>> waiting;
  std::size_t open_files = 0;
  checkpoint_store store;
  /// Where the store is written, by the saver and by the last save at the
  /// end; each save is the store's next generation.
  std::shared_ptr<checkpoint_file> store_file;
  checkpoint_saver_actor saver;
  std::uint64_t store_generation = 0;
  bool dirty = false;
  bool saving = false;
  bool flush_scheduled = false;
  bool save_failing = false;
  caf::actor_clock::time_point last_flush;
  std::chrono::microseconds checkpoint_interval{std::chrono::milliseconds(50)};
  bool stopped = false;
  caf::typed_response_promise<bool> stop_promise;
};

dir_watcher_actor::behavior_type
dir_watcher(dir_watcher_actor::stateful_pointer<dir_watcher_state> self,
            component_context ctx);

config::kind_schema file_input_schema();

input_actor spawn_file_input(caf::actor_system& sys, const component_context& ctx);

} // namespace logpipe
