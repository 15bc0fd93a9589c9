#pragma once

// Waiting for a condition in tests that run real threads or processes: the
// test asserts the condition, the deadline only bounds how long it may take.

#include <chrono>
#include <functional>
#include <thread>

namespace logpipe::test {

using clock_type = std::chrono::steady_clock;

/// Generous: sanitizer builds are several times slower than normal ones.
constexpr auto default_timeout = std::chrono::seconds(10);

/// Polls `pred` until it holds or `timeout` passes; returns whether it held.
/// Use as `ASSERT_TRUE(wait_until(...)) << "what"`.
inline bool wait_until(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = default_timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (pred())
      return true;
    if (clock_type::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

} // namespace logpipe::test
