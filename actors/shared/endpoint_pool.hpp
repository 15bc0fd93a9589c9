#pragma once

// Which receiver a stream of blocks goes to, for the tcp output: endpoint
// health (a failed endpoint is left out for `disable_timeout`), round-robin or
// failover choice, a stream's stickiness to its endpoint, and the retry
// backoff while every endpoint is down. No CAF and no clock of its own: every
// call that needs the time takes it, so tests drive it with made-up times.

#include "config/schema.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace logpipe {

enum class balance_mode {
  /// A new stream goes to the next healthy endpoint in turn and stays there
  /// while that endpoint is healthy.
  round_robin,
  /// Every stream goes to the first healthy endpoint in list order.
  failover,
};

/// Most endpoints one output may list.
constexpr std::size_t max_endpoints = 8;

/// The `balance` key both network outputs declare.
config::key_spec balance_key();

/// `balance`'s value as a mode.
balance_mode balance_of(const std::string& text);

/// Problems of an endpoint list from the configuration (`key` names it in
/// the messages): 1 to max_endpoints entries, each "host:port", none twice.
std::vector<config::key_problem> check_endpoints(const std::string& key,
                                                 const std::vector<std::string>& entries);

class endpoint_pool {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  /// The first retry delay while no endpoint is healthy; it doubles with
  /// every further retry, up to disable_timeout.
  static constexpr duration first_backoff = std::chrono::milliseconds(100);
  /// A stream not routed for this long is forgotten (its next block is a new
  /// stream), so that names that come and go do not pile up.
  static constexpr duration stream_idle_limit = std::chrono::hours(1);

  endpoint_pool(std::size_t endpoints, balance_mode mode, duration disable_timeout);

  std::size_t size() const { return disabled_until_.size(); }
  balance_mode mode() const { return mode_; }

  /// Whether `endpoint` may be chosen at `now`: it has not failed within the
  /// last disable_timeout, or it was re-enabled since (connected, retry).
  bool healthy(std::size_t endpoint, time_point now) const;
  bool any_healthy(time_point now) const;

  /// The endpoint for the next piece of `stream` (any string naming it), or
  /// nothing if no endpoint is healthy. round_robin: the stream's endpoint
  /// while it is healthy, otherwise the next healthy one in turn, which the
  /// stream then keeps; failover: the first healthy endpoint in list order.
  std::optional<std::size_t> route(const std::string& stream, time_point now);

  /// `endpoint` could not connect or lost its connection: it is left out
  /// until now + disable_timeout (while another endpoint is healthy).
  void failed(std::size_t endpoint, time_point now);

  /// A connection to `endpoint` was established: it is healthy, and the
  /// backoff starts again from first_backoff.
  void connected(std::size_t endpoint);

  /// The delay before the next retry while no endpoint is healthy:
  /// first_backoff, doubled by every call up to disable_timeout, until a
  /// connection succeeds.
  duration next_backoff();

  /// A backoff elapsed with no endpoint healthy: re-enables the endpoint
  /// that failed longest ago (so that retries take the endpoints in turn)
  /// and returns it.
  std::size_t retry();

  /// Streams with an endpoint of their own (round_robin only).
  std::size_t streams() const { return streams_.size(); }

private:
  struct stream_route {
    std::size_t endpoint;
    time_point last_used;
  };

  std::optional<std::size_t> first_healthy_from(std::size_t start, time_point now) const;
  void forget_idle_streams(time_point now);

  balance_mode mode_;
  duration disable_timeout_;
  duration backoff_;
  /// Per endpoint: left out before this time (time_point::min(): enabled).
  std::vector<time_point> disabled_until_;
  /// round_robin: where the search for a new stream's endpoint starts.
  std::size_t next_ = 0;
  std::unordered_map<std::string, stream_route> streams_;
  time_point next_sweep_ = time_point::min();
};

} // namespace logpipe
