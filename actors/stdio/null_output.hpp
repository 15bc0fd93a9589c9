#pragma once

// `[[outputs]] type = "null"`: acknowledges every block at once and keeps
// nothing (for measuring inputs, and for agents that only forward elsewhere
// later). Logs the blocks and bytes it took when it stops.

#include "actors/core/component_registry.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace logpipe {

struct null_output_state {
  static constexpr const char* name = "null_output";
  std::string component;
  std::uint32_t index = 0;
  bus_actor bus;
  std::uint64_t blocks = 0;
  std::uint64_t bytes = 0;
  ~null_output_state();
};

output_actor::behavior_type
null_output(output_actor::stateful_pointer<null_output_state> self, component_context ctx);

config::kind_schema null_output_schema();

output_actor spawn_null_output(caf::actor_system& sys, const component_context& ctx);

} // namespace logpipe
