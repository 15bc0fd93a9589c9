#pragma once

// The bus: broadcasts every block to every output as one shared message,
// collects the outputs' acks and returns credit to the producing input when
// every output that counts has acked. Keeps each output's unacked blocks so a
// restarted output receives them again.

#include "messages/interfaces.hpp"

#include <caf/message.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace logpipe {

/// How the bus treats one output when it falls behind.
struct output_policy {
  std::string name;
  /// false (on_full = "block"): the output holds back the inputs.
  /// true (on_full = "drop"): beyond queue_limit unacked blocks, further
  /// blocks are dropped for this output, and it never holds back an input.
  bool drop = false;
  std::uint64_t queue_limit = 64;
};

/// Names a block in acknowledgements: (input index, sequence number).
using block_key = std::pair<std::uint32_t, std::uint64_t>;

struct bus_output {
  output_policy policy;
  output_actor handle;
  /// A drop output given up by the supervisor: no longer sent anything.
  bool detached = false;
  /// Delivered (or waiting for the output to attach) and not yet acked.
  std::map<block_key, caf::message> unacked;
  std::uint64_t dropped = 0;
  /// Whether the last block for it was dropped (to log transitions only).
  bool dropping = false;
};

struct bus_input {
  input_actor handle;
  /// Above every sequence number seen from this input index.
  std::uint64_t next_seq = 0;
  /// Published and not yet acked. An input may publish its numbers out of
  /// order (a file input's tails share its window), never one twice.
  std::set<std::uint64_t> in_flight;
  std::uint64_t max_in_flight = 0;
};

struct bus_state {
  static constexpr const char* name = "bus";

  std::vector<bus_output> outputs;
  std::vector<bus_input> inputs;
  /// Per block: how many blocking outputs have yet to ack it.
  std::map<block_key, std::uint32_t> waiting;
  std::uint64_t published = 0;
};

bus_actor::behavior_type bus(bus_actor::stateful_pointer<bus_state> self,
                             std::vector<output_policy> outputs);

} // namespace logpipe
