#pragma once

// The vocabulary between agents linked through CAF's own distribution layer:
// a caf_link (`[[outputs]] type = "caf"`) sends blocks to a remote
// caf_ingress (`[[inputs]] type = "caf"`), which answers each one once its
// own outputs have it. Only built-in types and log_block cross the link.

#include "messages/interfaces.hpp"

#include <caf/actor.hpp>

namespace logpipe {

using caf_ingress_actor = input_actor::extend<
  // From a link that has just connected: the log_block protocol version it
  // speaks; answers its own. A link whose version differs sends nothing.
  caf::replies_to<hello_atom, std::uint32_t>::with<std::uint32_t>,
  // From a link: a block, named by its (input, seq) at the sending agent.
  // Answered with (delivered, input, seq) once every output here acked it.
  caf::reacts_to<publish_atom, log_block>>;

using caf_link_actor = output_actor::extend<
  // From the remote ingress: the block (input, seq) is delivered there.
  caf::reacts_to<delivered_atom, std::uint32_t, std::uint64_t>,
  // Internal: time to try endpoint `index` again; `attempt` names the retry
  // so that a superseded timer does nothing.
  caf::reacts_to<retry_atom, std::uint32_t, std::uint64_t>>;

} // namespace logpipe
