#pragma once

// `[[outputs]] type = "caf"`: forwards blocks to the caf inputs (caf_ingress)
// of other agents through CAF's distribution layer (docs/caf-links.md). One
// link per configured endpoint, connected asynchronously through the
// middleman actor; endpoint_pool routes each stream (round-robin or
// failover). A block is acked to the bus only when the remote ingress says
// every output there has it; blocks not yet delivered when a link drops are
// sent again, in order, once an endpoint is linked again.

#include "actors/core/component_registry.hpp"
#include "actors/shared/endpoint_pool.hpp"
#include "actors/shared/network_address.hpp"
#include "messages/caf_link.hpp"

#include <caf/actor.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/message.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace logpipe {

/// A block on its way: the very (publish_atom, log_block) message the bus
/// shares with every output, sent on unchanged.
struct linked_block {
  caf::message msg;

  const log_block& block() const { return msg.get_as<log_block>(1); }
};

/// One configured endpoint and the link to the ingress published there.
struct remote_ingress {
  enum class status {
    idle,       // not linked; a retry may be scheduled
    connecting, // waiting for the middleman
    greeting,   // connected, waiting for the protocol version
    ready,      // sending
  };

  host_port address;
  /// As configured, for the log.
  std::string text;
  status state = status::idle;
  /// Names the current connect attempt or retry timer: answers to older
  /// ones are dropped.
  std::uint64_t attempt = 0;
  /// The remote ingress while connected.
  caf::actor remote;
  /// Routed here, not sent yet.
  std::deque<linked_block> queued;
  /// Sent, not delivered yet, in sending order.
  std::deque<linked_block> in_flight;
  /// Connect attempts that failed since the last link, for the log.
  std::uint64_t failures = 0;
  /// Delay before the next attempt while no endpoint is linked.
  caf::timespan backoff{};
  /// The peer speaks another protocol version: retried only after
  /// disable_timeout.
  bool refused = false;
};

struct caf_link_state {
  static constexpr const char* name = "caf_link";

  /// The component's name from its config, for log lines.
  std::string component;
  std::uint32_t index = 0;
  bus_actor bus;
  /// The middleman (or, with TLS, the openssl manager) that connects us.
  caf::io::middleman_actor network;
  /// The log_block protocol version we speak (protocol_version; tests vary it).
  std::uint32_t version = 0;
  /// Blocks in flight per endpoint.
  std::size_t window = 0;
  caf::timespan connect_timeout{};
  caf::timespan disable_timeout{};
  std::optional<endpoint_pool> pool;
  std::vector<remote_ingress> endpoints;
  /// Blocks for which no endpoint is healthy, oldest first.
  std::deque<linked_block> parked;
  std::uint64_t attempts = 0;
};

using caf_link_impl = caf_link_actor::stateful_pointer<caf_link_state>;

/// `network` connects the link; `version` is normally protocol_version.
caf_link_actor::behavior_type caf_link(caf_link_impl self, component_context ctx,
                                       caf::io::middleman_actor network,
                                       std::uint32_t version);

config::kind_schema caf_output_schema();

output_actor spawn_caf_output(caf::actor_system& sys, const component_context& ctx);

} // namespace logpipe
