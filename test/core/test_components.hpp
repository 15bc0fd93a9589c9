#pragma once

// Test doubles for the roles: a producer input and a recording output whose
// behaviour (ack, stall, crash) the test controls. What they see survives
// restarts in shared records.

#include "actors/core/component_registry.hpp"
#include "actors/core/credit_window.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

namespace logpipe::test {

/// What a recording output received, across its restarts.
struct sink_record {
  struct entry {
    std::uint32_t input;
    std::uint64_t seq;
    const char* data; // address of the bytes, to prove there was no copy
    std::size_t size;
  };
  std::vector<entry> received;
  /// While true, blocks are recorded but not acked.
  bool stalled = false;
  /// Throw when a block with this seq arrives (once).
  std::optional<std::uint64_t> crash_at;
  /// Throw on every block (for give-up tests).
  bool always_crash = false;
  int spawns = 0;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> held; // unacked while stalled
};

struct recording_output_state {
  static constexpr const char* name = "recording_output";
};

inline output_actor::behavior_type
recording_output(output_actor::stateful_pointer<recording_output_state> self,
                 std::shared_ptr<sink_record> rec, std::uint32_t index, bus_actor bus) {
  ++rec->spawns;
  self->send(bus, attach_atom_v, output_atom_v, index);
  return {
    [=](publish_atom, const log_block& blk) {
      if (rec->always_crash || (rec->crash_at && *rec->crash_at == blk.seq)) {
        rec->crash_at.reset();
        throw std::runtime_error("recording_output: planned crash");
      }
      rec->received.push_back({blk.input, blk.seq, blk.bytes.data(), blk.bytes.size()});
      if (rec->stalled)
        rec->held.emplace_back(blk.input, blk.seq);
      else
        self->send(bus, ack_atom_v, index, blk.input, blk.seq);
    },
  };
}

/// What a producing input did.
struct source_record {
  std::vector<std::uint64_t> acked;
  std::vector<const char*> sent_data; // addresses of the bytes it published
  int spawns = 0;
  bool stopped = false;
  /// Throw once this many acks have arrived.
  std::optional<std::size_t> crash_after_acks;
};

struct producer_input_state {
  static constexpr const char* name = "producer_input";
  producer_input_state() : credit(1) {}
  credit_window credit;
  std::uint64_t remaining = 0;
};

/// Publishes `count` blocks of `block_size` bytes, as fast as its window allows.
inline input_actor::behavior_type
producer_input(input_actor::stateful_pointer<producer_input_state> self,
               std::shared_ptr<source_record> rec, std::uint32_t index, bus_actor bus,
               std::uint64_t window, std::uint64_t count, std::size_t block_size) {
  ++rec->spawns;
  self->state.credit = credit_window(window);
  self->state.remaining = count;
  auto pump = [=] {
    auto& st = self->state;
    while (st.remaining > 0 && st.credit.available() && !rec->stopped) {
      log_block blk;
      blk.origin = "test";
      blk.file_name = "test.log";
      blk.input = index;
      blk.seq = st.credit.take();
      blk.bytes.assign(block_size, static_cast<char>('a' + blk.seq % 26));
      rec->sent_data.push_back(blk.bytes.data());
      --st.remaining;
      self->send(bus, publish_atom_v, std::move(blk));
    }
  };
  self->request(bus, caf::infinite, attach_atom_v, input_atom_v, index)
    .then([=](std::uint64_t first) {
      self->state.credit.open(first);
      pump();
    });
  return {
    [=](ack_atom, std::uint64_t seq) {
      if (self->state.credit.ack(seq))
        rec->acked.push_back(seq);
      if (rec->crash_after_acks && rec->acked.size() >= *rec->crash_after_acks)
        throw std::runtime_error("producer_input: planned crash");
      pump();
    },
    [=](stop_atom) {
      rec->stopped = true;
      return true;
    },
  };
}

} // namespace logpipe::test
