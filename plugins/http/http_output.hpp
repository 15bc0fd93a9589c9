#pragma once

// `[[outputs]] type = "http"` (the http plugin): POSTs the lines of every
// block to an HTTP endpoint, `batch_size` lines at most per request, as they
// are or as JSON objects. A block is acked only once every line of it was in
// a request answered 2xx; a failed request is sent again, the same body,
// after a backoff.

#include "http_body.hpp"
#include "http_transport.hpp"

#include "actors/core/component_registry.hpp"

#include <caf/message.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace logpipe {

using http_output_actor = output_actor::extend<
  // Internal: send what is unsent (self-sent after a publish or a success).
  caf::reacts_to<flush_atom>,
  // Internal timer: send the failed request again.
  caf::reacts_to<retry_atom>>;

/// A block not yet acked: the bus's message (its bytes are not copied), and
/// its inflated bytes if it came deflated.
struct http_pending_block {
  /// (publish_atom, log_block).
  caf::message msg;
  std::optional<std::vector<char>> inflated;

  const log_block& block() const { return msg.get_as<log_block>(1); }
  /// The bytes whose lines are sent.
  std::string_view bytes() const;
};

/// A request being sent or waiting to be sent again, and where the sent
/// lines end: `end_block` blocks from the front are wholly in it, and
/// `end_offset` bytes of the next one.
struct http_batch {
  http_request request;
  std::size_t lines = 0;
  std::size_t end_block = 0;
  std::size_t end_offset = 0;
};

struct http_output_state {
  static constexpr const char* name = "http_output";

  http_output_state() = default;
  http_output_state(const http_output_state&) = delete;
  http_output_state& operator=(const http_output_state&) = delete;
  /// Logs what the output did.
  ~http_output_state();

  /// The component's name from its config, for log lines.
  std::string component;
  std::uint32_t index = 0;
  bus_actor bus;
  http_transport transport;
  std::string url;
  /// Configured headers plus the Content-Type.
  std::vector<std::string> headers;
  http::body_format format = http::body_format::raw;
  std::size_t batch_size = 1000;
  std::chrono::milliseconds backoff_max{30000};
  /// Delay before the next retry: 100 ms, doubled after each failure.
  std::chrono::milliseconds backoff{100};
  /// Unacked blocks in arrival order; the first `sent_offset` bytes of the
  /// front one are delivered.
  std::deque<http_pending_block> blocks;
  std::size_t sent_offset = 0;
  std::optional<http_batch> batch;
  bool flush_queued = false;
  bool retry_scheduled = false;
  /// Failed attempts since the last success.
  std::uint64_t failures = 0;
  std::uint64_t requests = 0;
  std::uint64_t lines = 0;
  std::uint64_t failed_requests = 0;
};

/// `transport` makes the HTTP exchanges (blocking).
http_output_actor::behavior_type
http_output(http_output_actor::stateful_pointer<http_output_state> self,
            component_context ctx, http_transport transport);

config::kind_schema http_output_schema();

/// Runs detached (its own thread) with the libcurl transport: requests block.
output_actor spawn_http_output(caf::actor_system& sys, const component_context& ctx);

} // namespace logpipe
