#include "actors/stdio/null_output.hpp"

#include "actors/core/logging.hpp"

#include <caf/actor_system.hpp>

namespace logpipe {

null_output_state::~null_output_state() {
  log::info("output {}: took {} blocks, {} bytes", component, blocks, bytes);
}

output_actor::behavior_type
null_output(output_actor::stateful_pointer<null_output_state> self, component_context ctx) {
  auto& st = self->state;
  st.component = ctx.config.name;
  st.index = ctx.index;
  st.bus = ctx.bus;
  self->send(ctx.bus, attach_atom_v, output_atom_v, ctx.index);
  return {
    [=](publish_atom, const log_block& blk) {
      auto& st = self->state;
      ++st.blocks;
      st.bytes += blk.bytes.size();
      self->send(st.bus, ack_atom_v, st.index, blk.input, blk.seq);
    },
  };
}

config::kind_schema null_output_schema() {
  config::kind_schema schema;
  schema.type = "null";
  schema.summary = "Acknowledges every block at once and keeps nothing (for measuring "
                   "inputs); logs how much it took when the agent stops.";
  return schema;
}

output_actor spawn_null_output(caf::actor_system& sys, const component_context& ctx) {
  return sys.spawn(null_output, ctx);
}

} // namespace logpipe
