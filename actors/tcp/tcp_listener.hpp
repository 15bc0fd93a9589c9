#pragma once

// `[[inputs]] type = "tcp"`: accepts logpipe 1.x wire connections
// (docs/wire-protocol.md). The listener is the input the bus knows: it
// accepts or refuses clients, forks one tcp_session per connection, and
// publishes the sessions' blocks within the input's credit window, first come
// first served. A session whose blocks wait stops reading, so TCP pushes
// back on its sender and memory stays bounded.

#include "actors/core/component_registry.hpp"
#include "actors/core/credit_window.hpp"
#include "actors/shared/network_address.hpp"
#include "actors/tcp/wire.hpp"
#include "messages/tcp_input.hpp"

#include <caf/io/broker.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/response_promise.hpp>

#include <deque>
#include <set>
#include <string>
#include <vector>

namespace logpipe {

struct tcp_listener_state {
  static constexpr const char* name = "tcp_listener";

  tcp_listener_state() : credit(1) {}

  /// The component's name from its config, for log lines.
  std::string component;
  std::uint32_t index = 0;
  bus_actor bus;
  std::string listen;
  std::vector<ip_network> allow;
  std::size_t max_connections = 0;
  wire::decoder_limits limits;
  credit_window credit;
  /// Blocks from sessions waiting for credit, oldest first, with the session
  /// to tell once each is published.
  std::deque<std::pair<log_block, caf::actor_addr>> waiting;
  caf::io::accept_handle acceptor;
  std::set<caf::actor_addr> sessions;
  bool stopping = false;
  /// Answered once nothing more will be published.
  caf::response_promise stop_promise;
};

using tcp_listener_broker = caf::io::stateful_broker<tcp_listener_state>;

caf::behavior tcp_listener(tcp_listener_broker* self, component_context ctx);

config::kind_schema tcp_input_schema();

input_actor spawn_tcp_input(caf::actor_system& sys, const component_context& ctx);

} // namespace logpipe
