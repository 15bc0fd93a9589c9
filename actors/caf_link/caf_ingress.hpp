#pragma once

// `[[inputs]] type = "caf"`: receives blocks from the caf outputs (caf_link)
// of other agents through CAF's distribution layer (docs/caf-links.md). The
// ingress is published on its `listen` address; it numbers each block it
// receives as its own, publishes it within the input's credit window, and
// tells the sending link once this agent's bus has the acks of every output:
// the sender's checkpoint then reflects data written here.

#include "actors/core/component_registry.hpp"
#include "actors/core/credit_window.hpp"
#include "messages/caf_link.hpp"

#include <caf/io/middleman_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

namespace logpipe {

/// A block a remote link sent, and how to answer for it.
struct linked_block_origin {
  /// The remote link (a proxy for the actor on the other node).
  caf::strong_actor_ptr link;
  /// The block's (input, seq) at the sending agent.
  std::uint32_t input = 0;
  std::uint64_t seq = 0;
};

struct caf_ingress_state {
  static constexpr const char* name = "caf_ingress";

  caf_ingress_state() : credit(1) {}
  caf_ingress_state(const caf_ingress_state&) = delete;
  caf_ingress_state& operator=(const caf_ingress_state&) = delete;
  /// However the ingress ends, its port closes, so that a restarted ingress
  /// can take it again.
  ~caf_ingress_state();

  /// Closes the port (asynchronously) if it is open.
  void unpublish();

  /// The component's name from its config, for log lines.
  std::string component;
  std::uint32_t index = 0;
  bus_actor bus;
  /// The middleman (or, with TLS, the openssl manager) that publishes us.
  caf::io::middleman_actor network;
  std::string listen;
  /// The port we are published on, once we are, and who is published there.
  std::uint16_t port = 0;
  caf::actor_addr self_addr;
  /// The log_block protocol version we speak (protocol_version; tests vary it).
  std::uint32_t version = 0;
  credit_window credit;
  /// Received blocks waiting for credit, oldest first.
  std::deque<std::pair<log_block, linked_block_origin>> waiting;
  /// Published blocks by their sequence number here.
  std::unordered_map<std::uint64_t, linked_block_origin> in_bus;
  bool stopping = false;
  caf::typed_response_promise<bool> stop_promise;
};

using caf_ingress_impl = caf_ingress_actor::stateful_pointer<caf_ingress_state>;

/// `network` publishes the ingress; `version` is normally protocol_version.
caf_ingress_actor::behavior_type caf_ingress(caf_ingress_impl self, component_context ctx,
                                             caf::io::middleman_actor network,
                                             std::uint32_t version);

config::kind_schema caf_input_schema();

input_actor spawn_caf_input(caf::actor_system& sys, const component_context& ctx);

} // namespace logpipe
