#pragma once

// File names that come from elsewhere (the wire, a remote agent) are hostile
// input: before one is used as a path component it must pass this check.

#include <cstddef>
#include <string>
#include <string_view>

namespace logpipe {

/// The longest file name a folder can hold on Linux (NAME_MAX).
constexpr std::size_t max_file_name = 255;

/// Why `name` cannot be one file name inside a folder, or "" if it can. It
/// must not be empty, ".", "..", longer than `max_length` bytes, or contain
/// '/', NUL or other control characters (bytes below 0x20, and 0x7f).
std::string file_name_problem(std::string_view name,
                              std::size_t max_length = max_file_name);

/// `name` with control and non-printable bytes escaped (\xNN), cut to at
/// most 80 bytes: safe to put in a log line.
std::string printable_name(std::string_view name);

} // namespace logpipe
