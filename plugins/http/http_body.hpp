#pragma once

// Request bodies and settings of the http output, with no CAF in them: lines
// cut from a block's bytes, as they are (raw) or as JSON objects (ndjson),
// and the checks of the `url` and `headers` keys.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace logpipe::http {

enum class body_format { raw, ndjson };

/// "raw" or "ndjson" (the `format` key's choices); raw for anything else.
body_format parse_format(std::string_view text);

/// The Content-Type a body of `format` is sent with unless headers set one.
const char* default_content_type(body_format format);

/// Where a block's lines come from, for the ndjson fields.
struct line_source {
  std::string_view origin;
  std::string_view file_name;
};

/// What append_lines took: how many lines, and the offset after the last.
struct lines_taken {
  std::size_t lines = 0;
  std::size_t end = 0;
};

/// Appends to `body` at most `max_lines` lines of `bytes`, from `offset`.
/// A line ends after a '\n'; bytes at the end without one count as a line.
lines_taken append_lines(std::string& body, body_format format, const line_source& source,
                         std::string_view bytes, std::size_t offset, std::size_t max_lines);

/// Appends `text` as a JSON string (quotes included): escapes quotes,
/// backslashes and control characters, and replaces each invalid UTF-8
/// sequence by U+FFFD, so that the result is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

/// Why a `url` value is unusable, or nothing if it is fine.
std::optional<std::string> url_problem(std::string_view url);

/// Why a `headers` entry ("Name: value") is unusable, or nothing.
std::optional<std::string> header_problem(std::string_view entry);

/// Whether `headers` has an entry named `name` (compared case-insensitively).
bool has_header(const std::vector<std::string>& headers, std::string_view name);

/// The configured headers, plus Content-Type for `format` if they set none.
std::vector<std::string> request_headers(std::vector<std::string> configured,
                                         body_format format);

/// At most `max` bytes of `text`, with anything not printable ASCII shown
/// as '?' (an answer excerpt for a log line).
std::string printable_excerpt(std::string_view text, std::size_t max);

} // namespace logpipe::http
