#pragma once

// The http output's real transport: libcurl, one easy handle reused for every
// request so that the connection is kept alive between them.

#include "http_transport.hpp"

#include <chrono>
#include <cstddef>

namespace logpipe {

/// Bytes of an answer's body kept for the log; the rest is read and dropped.
constexpr std::size_t answer_excerpt_size = 200;

/// A transport that POSTs with libcurl; `timeout` bounds each whole request
/// and its connection setup. The function must be called from one thread at
/// a time (it owns one curl handle).
http_transport make_curl_transport(std::chrono::milliseconds timeout);

} // namespace logpipe
