#include "actors/core/bus.hpp"

#include "actors/core/logging.hpp"

#include <caf/actor_cast.hpp>
#include <caf/mailbox_element.hpp>

namespace logpipe {

namespace {

using self_ptr = bus_actor::stateful_pointer<bus_state>;

bus_input& input_slot(bus_state& st, std::uint32_t index) {
  if (index >= st.inputs.size())
    st.inputs.resize(index + 1);
  return st.inputs[index];
}

// Every output that counts has the block: return the credit to its input.
void complete(self_ptr self, const block_key& key) {
  auto& in = input_slot(self->state, key.first);
  in.in_flight.erase(key.second);
  if (in.handle)
    self->send(in.handle, ack_atom_v, key.second);
}

void deliver(self_ptr self, bus_output& out, const caf::message& msg) {
  // Enqueued as it is, so the very same message (and its bytes) reaches
  // every output; its content is (publish, log_block), as outputs accept.
  if (out.handle)
    caf::actor_cast<caf::abstract_actor*>(out.handle)
      ->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{self->ctrl()},
                                          caf::make_message_id(), {}, msg),
                self->context());
}

// One ack fewer to wait for: an output has the block.
void release(self_ptr self, const bus_output& out, const block_key& key) {
  if (out.policy.drop)
    return;
  auto i = self->state.waiting.find(key);
  if (i != self->state.waiting.end() && --i->second == 0) {
    self->state.waiting.erase(i);
    complete(self, key);
  }
}

void publish(self_ptr self, const block_key& key, caf::message msg) {
  auto& st = self->state;
  auto& in = input_slot(st, key.first);
  if (!in.in_flight.insert(key.second).second) {
    log::error("bus: input {} reused sequence number {}; block ignored",
               key.first, key.second);
    return;
  }
  in.next_seq = std::max(in.next_seq, key.second + 1);
  in.max_in_flight = std::max<std::uint64_t>(in.max_in_flight, in.in_flight.size());
  ++st.published;
  std::uint32_t blocking = 0;
  for (auto& out : st.outputs) {
    if (out.detached)
      continue;
    if (out.policy.drop && out.unacked.size() >= out.policy.queue_limit) {
      if (!out.dropping)
        log::warn("output {} is full ({} blocks unacked): dropping blocks for it",
                  out.policy.name, out.unacked.size());
      out.dropping = true;
      ++out.dropped;
      continue;
    }
    if (out.dropping) {
      log::notice("output {} takes blocks again; {} dropped so far",
                  out.policy.name, out.dropped);
      out.dropping = false;
    }
    out.unacked.emplace(key, msg);
    if (!out.policy.drop)
      ++blocking;
    deliver(self, out, msg);
  }
  if (blocking > 0)
    st.waiting.emplace(key, blocking);
  else
    complete(self, key);
}

} // namespace

bus_actor::behavior_type bus(self_ptr self, std::vector<output_policy> outputs) {
  for (auto& policy : outputs) {
    bus_output out;
    out.policy = std::move(policy);
    self->state.outputs.push_back(std::move(out));
  }
  return {
    [=](attach_atom, input_atom, std::uint32_t index) -> std::uint64_t {
      auto& in = input_slot(self->state, index);
      in.handle = caf::actor_cast<input_actor>(self->current_sender());
      return in.next_seq;
    },
    [=](attach_atom, output_atom, std::uint32_t index) {
      if (index >= self->state.outputs.size()) {
        log::error("bus: attach from unknown output index {}", index);
        return;
      }
      auto& out = self->state.outputs[index];
      if (out.detached)
        return;
      out.handle = caf::actor_cast<output_actor>(self->current_sender());
      // A restarted output gets again what its predecessor had not acked.
      for (const auto& entry : out.unacked)
        deliver(self, out, entry.second);
    },
    [=](detach_atom, output_atom, std::uint32_t index) {
      if (index >= self->state.outputs.size())
        return;
      auto& out = self->state.outputs[index];
      if (!out.policy.drop) {
        // Its acks count: letting its blocks go would ack them unwritten.
        log::error("bus: output {} (on_full = \"block\") cannot be detached; its {} "
                   "blocks keep waiting for it",
                   out.policy.name, out.unacked.size());
        return;
      }
      // A drop output never holds an input back: what it had not acked is
      // lost for it, and counted.
      out.detached = true;
      out.handle = nullptr;
      out.dropped += out.unacked.size();
      out.unacked.clear();
    },
    [=](publish_atom, const log_block& blk) {
      block_key key{blk.input, blk.seq};
      // Take the message as it is (moving the block, not copying its bytes)
      // and hand that one message to every output.
      publish(self, key, self->current_mailbox_element()->move_content_to_message());
    },
    [=](ack_atom, std::uint32_t output, std::uint32_t input, std::uint64_t seq) {
      if (output >= self->state.outputs.size())
        return;
      auto& out = self->state.outputs[output];
      if (out.unacked.erase(block_key{input, seq}) > 0)
        release(self, out, block_key{input, seq});
    },
    [=](status_atom) {
      bus_status result;
      for (const auto& in : self->state.inputs) {
        result.in_flight.push_back(in.in_flight.size());
        result.max_in_flight.push_back(in.max_in_flight);
      }
      for (const auto& out : self->state.outputs) {
        result.unacked.push_back(out.unacked.size());
        result.dropped.push_back(out.dropped);
      }
      result.published = self->state.published;
      return result;
    },
  };
}

} // namespace logpipe
