#pragma once

// The typed interfaces of every role: the whole system's vocabulary in one
// place. Handlers take `const log_block&` so that one shared message reaches
// every output without a copy of its bytes.

#include "messages/atoms.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>

namespace logpipe {

/// An input produces blocks and publishes them to the bus within its window.
using input_actor = caf::typed_actor<
  // From the bus: every output that counts has the block (input, seq).
  caf::reacts_to<ack_atom, std::uint64_t>,
  // From the supervisor at shutdown: stop producing, keep taking acks;
  // answer once nothing more will be published.
  caf::replies_to<stop_atom>::with<bool>>;

/// An output writes or forwards blocks and acknowledges each to the bus.
using output_actor = caf::typed_actor<
  // From the bus: a block to deliver; answer with (ack, output, input, seq).
  caf::reacts_to<publish_atom, log_block>>;

/// The bus broadcasts every block to every output and returns credit.
using bus_actor = caf::typed_actor<
  // From an input at start: its index; answers the first sequence number it
  // may use (above any the bus still tracks for that index).
  caf::replies_to<attach_atom, input_atom, std::uint32_t>::with<std::uint64_t>,
  // From an output at start: its index; the bus (re)sends its unacked blocks.
  caf::reacts_to<attach_atom, output_atom, std::uint32_t>,
  // From the supervisor: the output is gone for good; stop waiting for it.
  caf::reacts_to<detach_atom, output_atom, std::uint32_t>,
  // From an input: a new block.
  caf::reacts_to<publish_atom, log_block>,
  // From an output: (output index, input index, seq) is delivered.
  caf::reacts_to<ack_atom, std::uint32_t, std::uint32_t, std::uint64_t>,
  // Counters for tests, shutdown draining and operators.
  caf::replies_to<status_atom>::with<bus_status>>;

/// The supervisor owns the bus and every component.
using supervisor_actor = caf::typed_actor<
  // Graceful shutdown: stop inputs, drain in-flight blocks up to the grace
  // period; answers whether everything drained.
  caf::replies_to<stop_atom>::with<bool>,
  // The state of every component.
  caf::replies_to<status_atom>::with<component_status_list>>;

} // namespace logpipe
