#pragma once

// `[[inputs]] type = "exec"`: runs a shell command and ships its standard
// output as blocks of one stream named `output_filename`; runs the command
// again, with backoff, whenever it exits.

#include "actors/core/component_registry.hpp"
#include "actors/core/credit_window.hpp"
#include "actors/shared/child_process.hpp"
#include "actors/shared/fd_watcher.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace logpipe {

using exec_input_actor = input_actor::extend<
  // From the fd_watcher: the command's output is readable or closed.
  caf::reacts_to<readable_atom>,
  // Backoff elapsed: run the command again.
  caf::reacts_to<restart_atom>,
  // Try again to reap a command that closed its output.
  caf::reacts_to<tick_atom>>;

struct exec_input_state {
  static constexpr const char* name = "exec_input";

  exec_input_state() : credit(1) {}

  /// The component's name from its config, for log lines.
  std::string component;
  std::string command;
  std::string file_name;
  std::string origin;
  std::uint32_t index = 0;
  bus_actor bus;
  /// block_size bytes, reused for every read.
  std::vector<char> read_buffer;
  credit_window credit;
  std::chrono::microseconds restart_delay{};
  std::chrono::microseconds next_delay{};
  std::chrono::steady_clock::time_point started_at;
  /// Bytes shipped so far (across runs of the command): the next offset.
  std::uint64_t offset = 0;
  /// A new random id for every run of the command (log_block::source_id).
  std::uint64_t source_id = 0;
  /// Data is waiting but the window is full.
  bool readable = false;
  bool stopped = false;
  // Declared after `child`: the watcher must stop before the pipe closes.
  child_process child;
  std::unique_ptr<fd_watcher> watcher;
};

exec_input_actor::behavior_type
exec_input(exec_input_actor::stateful_pointer<exec_input_state> self,
           component_context ctx);

config::kind_schema exec_input_schema();

input_actor spawn_exec_input(caf::actor_system& sys, const component_context& ctx);

} // namespace logpipe
