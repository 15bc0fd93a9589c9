#pragma once

// The supervisor spawns the bus and every configured component and restarts
// a crashed component with exponential backoff. One that crashes too often
// (restart_limit within restart_window) counts as failed and is retried at
// restart_backoff_max for as long as the agent runs: its blocks wait, held by
// the inputs' windows. Only an on_full = "drop" output, whose acks never hold
// anything back, is given up. It also runs the graceful shutdown: stop
// inputs, drain, exit.

#include "actors/core/component_registry.hpp"
#include "config/config.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace logpipe {

using supervisor_impl_actor = supervisor_actor::extend<
  // Backoff elapsed: respawn the component in this slot.
  caf::reacts_to<restart_atom, std::uint32_t>,
  // While stopping: check whether the bus has drained.
  caf::reacts_to<tick_atom>>;

struct component_slot {
  config::component_config config;
  caf::actor_addr addr;
  input_actor input;   // set for inputs
  output_actor output; // set for outputs
  /// "running", "restarting", "failed" (past restart_limit: retried at
  /// restart_backoff_max), "given up" (a drop output past the limit) or
  /// "finished".
  std::string state;
  std::uint32_t restarts = 0;
  /// Times of the restarts within the current restart window.
  std::deque<caf::actor_clock::time_point> recent;
  /// Past restart_limit; cleared once it runs a whole restart_window.
  bool failing = false;
  caf::actor_clock::time_point spawned_at;
};

struct supervisor_state {
  static constexpr const char* name = "supervisor";

  supervisor_state() = default;
  supervisor_state(const supervisor_state&) = delete;
  supervisor_state& operator=(const supervisor_state&) = delete;
  /// Whatever ends the supervisor (a graceful stop, an exit message, an
  /// exception) ends the bus and every component with it.
  ~supervisor_state();

  config::agent_config config;
  const component_registry* registry = nullptr;
  std::map<std::string, std::string> start_once;
  bus_actor bus;
  std::vector<component_slot> slots;
  bool stopping = false;
  caf::actor_clock::time_point stop_deadline;
  caf::typed_response_promise<bool> stop_promise;
  /// Inputs asked to stop that have not answered yet.
  std::size_t inputs_stopping = 0;
};

/// `registry` must outlive the actor. `start_once` goes to the components'
/// first spawn only.
supervisor_impl_actor::behavior_type
supervisor(supervisor_impl_actor::stateful_pointer<supervisor_state> self,
           config::agent_config config, const component_registry* registry,
           std::map<std::string, std::string> start_once);

} // namespace logpipe
