#pragma once

// Sizes and durations with units. SI prefixes are powers of ten (1 MB =
// 1,000,000 bytes), binary prefixes powers of two (1 MiB = 1,048,576 bytes).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace logpipe::config {

/// "512", "512B", "64KB", "64KiB", "10MB", "10MiB", "1GB", "1GiB", "1TB",
/// "1TiB" (unit case-insensitive, optional space before it). nullopt if
/// malformed or overflowing.
std::optional<std::uint64_t> parse_size(std::string_view text);

/// "250ms", "60s", "5m", "2h", "1d", "100us" (one unit, optional space).
/// nullopt if malformed or overflowing.
std::optional<std::chrono::microseconds> parse_duration(std::string_view text);

/// Human-readable forms for messages and docs: "64KiB", "250ms".
std::string format_size(std::uint64_t bytes);
std::string format_duration(std::chrono::microseconds d);

} // namespace logpipe::config
