#pragma once

// `[[outputs]] type = "stdout"`: writes the bytes of every block to the
// agent's standard output, in arrival order, and acks each after the write.

#include "actors/core/component_registry.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace logpipe {

struct stdout_output_state {
  static constexpr const char* name = "stdout_output";
  /// The component's name from its config, for log lines.
  std::string component;
  std::uint32_t index = 0;
  bus_actor bus;
  int fd = 1;
};

output_actor::behavior_type
stdout_output(output_actor::stateful_pointer<stdout_output_state> self,
              component_context ctx, int fd);

config::kind_schema stdout_output_schema();

/// Runs detached (its own thread): writing to a pipe may block.
output_actor spawn_stdout_output(caf::actor_system& sys, const component_context& ctx);

} // namespace logpipe
