#pragma once

// The agent's own log: a thin facade over spdlog with logpipe's five levels
// (debug, info, notice, warn, error). Lines look like
//   2026-11-26 08:40:01.123 [1234] notice: message
// Safe to call from any thread.

#include "config/config.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <utility>

namespace logpipe::log {

/// Sends the log to `file` (appending; empty: standard error) at `level`.
/// Throws std::runtime_error if the file cannot be opened.
void setup(const std::string& file, config::log_level level);

bool enabled(config::log_level level);

void write(config::log_level level, const std::string& text);

template <class... Ts>
void debug(fmt::format_string<Ts...> f, Ts&&... xs) {
  if (enabled(config::log_level::debug))
    write(config::log_level::debug, fmt::format(f, std::forward<Ts>(xs)...));
}

template <class... Ts>
void info(fmt::format_string<Ts...> f, Ts&&... xs) {
  if (enabled(config::log_level::info))
    write(config::log_level::info, fmt::format(f, std::forward<Ts>(xs)...));
}

template <class... Ts>
void notice(fmt::format_string<Ts...> f, Ts&&... xs) {
  if (enabled(config::log_level::notice))
    write(config::log_level::notice, fmt::format(f, std::forward<Ts>(xs)...));
}

template <class... Ts>
void warn(fmt::format_string<Ts...> f, Ts&&... xs) {
  if (enabled(config::log_level::warn))
    write(config::log_level::warn, fmt::format(f, std::forward<Ts>(xs)...));
}

template <class... Ts>
void error(fmt::format_string<Ts...> f, Ts&&... xs) {
  if (enabled(config::log_level::error))
    write(config::log_level::error, fmt::format(f, std::forward<Ts>(xs)...));
}

} // namespace logpipe::log
