#pragma once

// `[[outputs]] type = "tcp"`: forwards blocks to logpipe 1.x compatible
// receivers (docs/wire-protocol.md, docs/tcp-output.md). A CAF io broker with
// one connection per endpoint in use; endpoint_pool decides which endpoint a
// stream goes to. Each block is cut into pieces of at most 102,399 bytes, one
// wire message each; a block is acked once all its pieces are handed to the
// kernel. The pieces a lost connection had not completely written go to the
// next healthy endpoint, so a failover loses no block that was not acked.
// Connecting happens on short-lived threads: neither the actor system nor the
// middleman's thread ever waits for a peer.

#include "actors/core/component_registry.hpp"
#include "actors/shared/endpoint_pool.hpp"
#include "actors/shared/network_address.hpp"

#include <caf/actor_clock.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/message.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace logpipe {

/// A connected socket on its way from a connecting thread to the sink: it is
/// closed on destruction unless the sink took it, so that a message that is
/// never handled (the sink is gone) does not leak it.
class connected_socket {
public:
  explicit connected_socket(int fd) : fd_(fd) {}
  ~connected_socket();
  connected_socket(const connected_socket&) = delete;
  connected_socket& operator=(const connected_socket&) = delete;

  /// Hands the descriptor over; the object no longer closes it.
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

using connected_socket_ptr = std::shared_ptr<connected_socket>;

/// A block being sent, and the message that holds its bytes: the very
/// message the bus shares with every output, so the sink copies no bytes
/// until it encodes them into a connection's write buffer.
struct outgoing_block {
  /// (publish_atom, log_block).
  caf::message msg;
  /// Routing key: origin and file name.
  std::string stream;
  /// Pieces not yet completely handed to the kernel.
  std::size_t pieces_left = 0;

  const log_block& block() const { return msg.get_as<log_block>(1); }
};

/// Up to max_block_1x bytes of a block (all of a deflated one), sent as one
/// wire message: the unit that is resent after a failure.
struct block_piece {
  std::shared_ptr<outgoing_block> block;
  std::size_t offset = 0;
  std::size_t size = 0;
  /// Sent again after a failure although the kernel had taken it (its block
  /// is acked already): not counted again.
  bool resent = false;
};

/// One configured endpoint and its connection.
struct endpoint_link {
  enum class status { idle, connecting, connected };

  host_port address;
  /// As configured, for the log.
  std::string text;
  status state = status::idle;
  /// Names the current connect attempt: results of older ones are dropped.
  std::uint64_t attempt = 0;
  caf::io::connection_handle hdl;
  /// Routed here, not yet in the write buffer.
  std::deque<block_piece> queued;
  /// In CAF's write buffer, each with the stream position of its last byte.
  std::deque<std::pair<block_piece, std::uint64_t>> sending;
  /// Bytes put into the write buffer on this connection, and how many of
  /// them the kernel took: their difference is CAF's `remaining`.
  std::uint64_t appended = 0;
  std::uint64_t written = 0;
  /// The latest pieces the kernel took, newest last, with when: the peer may
  /// not have read them yet, so they are sent again if the connection fails
  /// (at most resend_window bytes, for at most resend_horizon).
  std::deque<std::pair<block_piece, caf::actor_clock::time_point>> handed;
  std::uint64_t handed_bytes = 0;
};

struct tcp_sink_state {
  static constexpr const char* name = "tcp_sink";

  /// The component's name from its config, for log lines.
  std::string component;
  std::uint32_t index = 0;
  bus_actor bus;
  std::chrono::microseconds connect_timeout{};
  std::chrono::microseconds disable_timeout{};
  /// Bytes buffered in CAF for one connection above which nothing more is
  /// written into it.
  std::uint64_t high_water = 0;
  /// Bytes of handed pieces kept to be sent again after a failure.
  std::uint64_t resend_window = 0;
  std::optional<endpoint_pool> pool;
  std::vector<endpoint_link> links;
  /// Pieces for which no endpoint was healthy, oldest first: they wait for
  /// the next retry.
  std::deque<block_piece> parked;
  bool retry_scheduled = false;
  std::uint64_t attempts = 0;
};

using tcp_sink_broker = caf::io::stateful_broker<tcp_sink_state>;

caf::behavior tcp_sink(tcp_sink_broker* self, component_context ctx);

config::kind_schema tcp_sink_schema();

output_actor spawn_tcp_sink(caf::actor_system& sys, const component_context& ctx);

} // namespace logpipe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(logpipe::connected_socket_ptr)
