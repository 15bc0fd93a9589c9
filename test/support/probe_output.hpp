#pragma once

// An output for tests under the real scheduler: it forwards a copy of every
// block to a probe actor of the test (a scoped_actor) and acks it, or holds
// the acks while stalled until it gets tick_atom.

#include "actors/core/bus.hpp"

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <vector>

namespace logpipe::test {

/// An output that also takes tick_atom: ack what it holds and stop stalling.
using probe_output_actor = output_actor::extend<caf::reacts_to<tick_atom>>;

struct probe_output_state {
  static constexpr const char* name = "probe_output";
  bool stalled = false;
  std::vector<block_key> held;
};

inline probe_output_actor::behavior_type
probe_output(probe_output_actor::stateful_pointer<probe_output_state> self,
             caf::actor probe, std::uint32_t index, bus_actor bus, bool stalled) {
  self->state.stalled = stalled;
  self->send(bus, attach_atom_v, output_atom_v, index);
  return {
    [=](publish_atom, const log_block& blk) {
      caf::anon_send(probe, blk); // a copy, for the test thread
      if (self->state.stalled)
        self->state.held.emplace_back(blk.input, blk.seq);
      else
        self->send(bus, ack_atom_v, index, blk.input, blk.seq);
    },
    [=](tick_atom) {
      self->state.stalled = false;
      for (auto [input, seq] : self->state.held)
        self->send(bus, ack_atom_v, index, input, seq);
      self->state.held.clear();
    },
  };
}

} // namespace logpipe::test
