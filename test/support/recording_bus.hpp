#pragma once

// A bus double for deterministic tests: it records what inputs publish and
// what outputs attach and ack, and numbers inputs from `first_seq`.

#include "messages/interfaces.hpp"

#include <cstdint>
#include <memory>
#include <tuple>
#include <vector>

namespace logpipe::test {

/// What the bus double was told.
struct bus_record {
  std::uint64_t first_seq = 0;
  std::vector<std::uint32_t> inputs_attached;
  std::vector<std::uint32_t> outputs_attached;
  std::vector<log_block> published;
  /// (output, input, seq) in arrival order.
  std::vector<std::tuple<std::uint32_t, std::uint32_t, std::uint64_t>> acks;
};

inline bus_actor::behavior_type recording_bus(bus_actor::pointer,
                                              std::shared_ptr<bus_record> rec) {
  return {
    [=](attach_atom, input_atom, std::uint32_t index) {
      rec->inputs_attached.push_back(index);
      return rec->first_seq;
    },
    [=](attach_atom, output_atom, std::uint32_t index) {
      rec->outputs_attached.push_back(index);
    },
    [=](detach_atom, output_atom, std::uint32_t) {},
    [=](publish_atom, const log_block& blk) { rec->published.push_back(blk); },
    [=](ack_atom, std::uint32_t output, std::uint32_t input, std::uint64_t seq) {
      rec->acks.emplace_back(output, input, seq);
    },
    [=](status_atom) { return bus_status{}; },
  };
}

} // namespace logpipe::test
