// endpoint_pool: which endpoint a stream goes to, with made-up times.

#include "actors/shared/endpoint_pool.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;
using time_point = endpoint_pool::time_point;

// Any fixed origin will do: the pool only compares times.
const time_point t0 = time_point{} + 1000h;

std::optional<std::size_t> none = std::nullopt;

TEST(endpoint_pool_test, round_robin_gives_new_streams_the_endpoints_in_turn) {
  endpoint_pool pool(3, balance_mode::round_robin, 60s);
  EXPECT_EQ(pool.route("a", t0), 0u);
  EXPECT_EQ(pool.route("b", t0), 1u);
  EXPECT_EQ(pool.route("c", t0), 2u);
  EXPECT_EQ(pool.route("d", t0), 0u);
  EXPECT_EQ(pool.streams(), 4u);
}

TEST(endpoint_pool_test, round_robin_keeps_a_stream_on_its_endpoint) {
  endpoint_pool pool(2, balance_mode::round_robin, 60s);
  EXPECT_EQ(pool.route("a", t0), 0u);
  EXPECT_EQ(pool.route("b", t0), 1u);
  // Not in turn: a stream keeps its endpoint however the others go.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(pool.route("a", t0 + i * 1s), 0u);
    EXPECT_EQ(pool.route("a", t0 + i * 1s), 0u);
    EXPECT_EQ(pool.route("b", t0 + i * 1s), 1u);
  }
  // New streams keep taking turns.
  EXPECT_EQ(pool.route("c", t0 + 10s), 0u);
  EXPECT_EQ(pool.route("d", t0 + 10s), 1u);
}

TEST(endpoint_pool_test, round_robin_moves_a_stream_off_a_failed_endpoint_for_good) {
  endpoint_pool pool(3, balance_mode::round_robin, 60s);
  EXPECT_EQ(pool.route("a", t0), 0u);
  EXPECT_EQ(pool.route("b", t0), 1u);
  pool.failed(1, t0 + 1s);
  EXPECT_FALSE(pool.healthy(1, t0 + 1s));
  // b moves to the next healthy endpoint in turn; a stays.
  EXPECT_EQ(pool.route("b", t0 + 2s), 2u);
  EXPECT_EQ(pool.route("a", t0 + 2s), 0u);
  // New streams skip the failed endpoint.
  EXPECT_EQ(pool.route("c", t0 + 3s), 0u);
  EXPECT_EQ(pool.route("d", t0 + 3s), 2u);
  // Once 1 is healthy again, b stays where it went, and new streams use 1.
  EXPECT_TRUE(pool.healthy(1, t0 + 61s));
  EXPECT_EQ(pool.route("b", t0 + 61s), 2u);
  EXPECT_EQ(pool.route("e", t0 + 61s), 0u);
  EXPECT_EQ(pool.route("f", t0 + 61s), 1u);
}

TEST(endpoint_pool_test, a_failed_endpoint_is_left_out_for_exactly_disable_timeout) {
  endpoint_pool pool(2, balance_mode::round_robin, 60s);
  pool.failed(0, t0);
  EXPECT_FALSE(pool.healthy(0, t0));
  EXPECT_FALSE(pool.healthy(0, t0 + 60s - 1ns));
  EXPECT_TRUE(pool.healthy(0, t0 + 60s));
  EXPECT_TRUE(pool.healthy(1, t0));
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(pool.route("s" + std::to_string(i), t0 + 59s), 1u) << i;
  // A failure again restarts the period.
  pool.failed(0, t0 + 60s);
  EXPECT_FALSE(pool.healthy(0, t0 + 119s));
  EXPECT_TRUE(pool.healthy(0, t0 + 120s));
}

TEST(endpoint_pool_test, failover_sends_everything_to_the_first_healthy_endpoint) {
  endpoint_pool pool(3, balance_mode::failover, 60s);
  EXPECT_EQ(pool.route("a", t0), 0u);
  EXPECT_EQ(pool.route("b", t0), 0u);
  pool.failed(0, t0 + 1s);
  EXPECT_EQ(pool.route("a", t0 + 1s), 1u);
  EXPECT_EQ(pool.route("c", t0 + 1s), 1u);
  pool.failed(1, t0 + 2s);
  EXPECT_EQ(pool.route("a", t0 + 2s), 2u);
  // The first endpoint takes everything back once its timeout is over.
  EXPECT_EQ(pool.route("a", t0 + 61s), 0u);
  EXPECT_EQ(pool.route("b", t0 + 61s), 0u);
  EXPECT_EQ(pool.streams(), 0u) << "failover keeps no per-stream state";
}

TEST(endpoint_pool_test, nothing_is_routed_while_every_endpoint_is_down) {
  endpoint_pool pool(2, balance_mode::round_robin, 60s);
  EXPECT_EQ(pool.route("a", t0), 0u);
  pool.failed(0, t0);
  pool.failed(1, t0 + 1s);
  EXPECT_FALSE(pool.any_healthy(t0 + 2s));
  EXPECT_EQ(pool.route("a", t0 + 2s), none);
  EXPECT_EQ(pool.route("b", t0 + 2s), none);
  EXPECT_TRUE(pool.any_healthy(t0 + 60s));
  EXPECT_EQ(pool.route("a", t0 + 60s), 0u);
}

TEST(endpoint_pool_test, backoff_doubles_up_to_disable_timeout_and_restarts_on_connect) {
  endpoint_pool pool(1, balance_mode::failover, 1s);
  std::vector<endpoint_pool::duration> expected = {100ms, 200ms, 400ms, 800ms, 1s, 1s};
  for (auto want : expected)
    EXPECT_EQ(pool.next_backoff(), want);
  pool.connected(0);
  EXPECT_EQ(pool.next_backoff(), 100ms);
  EXPECT_EQ(pool.next_backoff(), 200ms);
}

TEST(endpoint_pool_test, backoff_never_exceeds_a_short_disable_timeout) {
  endpoint_pool pool(1, balance_mode::failover, 50ms);
  EXPECT_EQ(pool.next_backoff(), 50ms);
  EXPECT_EQ(pool.next_backoff(), 50ms);
}

TEST(endpoint_pool_test, retry_re_enables_the_endpoints_in_turn_before_their_timeout) {
  endpoint_pool pool(3, balance_mode::failover, 60s);
  pool.failed(1, t0);
  pool.failed(0, t0 + 1s);
  pool.failed(2, t0 + 2s);
  auto now = t0 + 3s;
  ASSERT_FALSE(pool.any_healthy(now));
  // The one that failed longest ago first.
  EXPECT_EQ(pool.retry(), 1u);
  EXPECT_TRUE(pool.healthy(1, now));
  EXPECT_EQ(pool.route("a", now), 1u);
  pool.failed(1, now);
  EXPECT_EQ(pool.retry(), 0u);
  EXPECT_EQ(pool.route("a", now), 0u);
  pool.failed(0, now + 1s);
  EXPECT_EQ(pool.retry(), 2u);
  pool.failed(2, now + 2s);
  EXPECT_EQ(pool.retry(), 1u);
}

TEST(endpoint_pool_test, a_connection_re_enables_its_endpoint) {
  endpoint_pool pool(2, balance_mode::failover, 60s);
  pool.failed(0, t0);
  EXPECT_EQ(pool.route("a", t0 + 1s), 1u);
  pool.connected(0);
  EXPECT_TRUE(pool.healthy(0, t0 + 1s));
  EXPECT_EQ(pool.route("a", t0 + 1s), 0u);
}

TEST(endpoint_pool_test, streams_idle_for_an_hour_are_forgotten) {
  endpoint_pool pool(2, balance_mode::round_robin, 60s);
  EXPECT_EQ(pool.route("old", t0), 0u);
  EXPECT_EQ(pool.route("busy", t0), 1u);
  EXPECT_EQ(pool.route("busy", t0 + 50min), 1u);
  // A new stream after the hour sweeps the idle one away.
  EXPECT_EQ(pool.route("new", t0 + 61min), 0u);
  EXPECT_EQ(pool.streams(), 2u);
  // "old" is a new stream now: next in turn, not necessarily its old endpoint.
  EXPECT_EQ(pool.route("old", t0 + 62min), 1u);
  EXPECT_EQ(pool.route("busy", t0 + 62min), 1u);
}

} // namespace
} // namespace logpipe::test
