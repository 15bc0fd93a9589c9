#pragma once

// One connection of a tcp input: reads in large pieces, decodes frames as
// they complete, hands whole blocks to its listener, and stops reading while
// too many of them wait for the bus (activity tokens), so a fast sender is
// pushed back by TCP and a slow one never delays the others. A malformed
// frame closes this connection only, and is logged with the peer's address.

#include "actors/tcp/wire.hpp"
#include "messages/tcp_input.hpp"

#include <caf/io/broker.hpp>
#include <caf/stateful_actor.hpp>

#include <string>

namespace logpipe {

struct tcp_session_state {
  static constexpr const char* name = "tcp_session";

  /// "input <name>: <peer address>:<port>", for log lines.
  std::string label;
  /// The peer's address: the origin of the blocks it sends.
  std::string peer;
  std::uint32_t index = 0;
  /// Weak, as the listener's references to its sessions: brokers still alive
  /// when the middleman stops are never cleaned up, and a cycle of strong
  /// references would leak them.
  caf::actor_addr listener;
  wire::decoder decoder;
  /// Blocks handed to the listener and not yet published.
  std::size_t pending = 0;
  /// Bytes of all blocks taken off this connection so far (the next offset).
  std::uint64_t offset = 0;
  /// No read is allowed until pending blocks go out.
  bool paused = false;
};

using tcp_session_broker = caf::io::stateful_broker<tcp_session_state>;

/// `listener` is weak (see tcp_session_state::listener).
caf::behavior tcp_session(tcp_session_broker* self, caf::io::connection_handle hdl,
                          caf::actor_addr listener, std::uint32_t index,
                          wire::decoder_limits limits, std::string component);

} // namespace logpipe
