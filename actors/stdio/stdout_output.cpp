#include "actors/stdio/stdout_output.hpp"

#include "actors/core/logging.hpp"
#include "actors/shared/write_all.hpp"

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>

#include <cstring>
#include <unistd.h>

namespace logpipe {

output_actor::behavior_type
stdout_output(output_actor::stateful_pointer<stdout_output_state> self,
              component_context ctx, int fd) {
  self->state.component = ctx.config.name;
  self->state.index = ctx.index;
  self->state.bus = ctx.bus;
  self->state.fd = fd;
  self->send(ctx.bus, attach_atom_v, output_atom_v, ctx.index);
  return {
    [=](publish_atom, const log_block& blk) {
      auto& st = self->state;
      if (auto err = write_all(st.fd, blk.bytes.data(), blk.bytes.size())) {
        log::error("output {}: writing to standard output: {}", self->state.component,
                   std::strerror(err));
        // Unacked: the supervisor restarts us and the bus sends it again.
        self->quit(caf::make_error(caf::sec::runtime_error));
        return;
      }
      self->send(st.bus, ack_atom_v, st.index, blk.input, blk.seq);
    },
  };
}

config::kind_schema stdout_output_schema() {
  config::kind_schema schema;
  schema.type = "stdout";
  schema.summary = "Writes the bytes of every block to the agent's standard "
                   "output (for trying things out and for pipelines).";
  return schema;
}

output_actor spawn_stdout_output(caf::actor_system& sys,
                                 const component_context& ctx) {
  return sys.spawn<caf::detached>(stdout_output, ctx, STDOUT_FILENO);
}

} // namespace logpipe
