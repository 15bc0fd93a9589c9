#include "http_body.hpp"

#include <algorithm>
#include <cstdint>

namespace logpipe::http {

namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD"; // U+FFFD

bool is_continuation(unsigned char c, unsigned char low = 0x80, unsigned char high = 0xBF) {
  return c >= low && c <= high;
}

/// Checks the UTF-8 sequence that starts at text[i]. Returns whether it is
/// valid; `size` is its length, or for an invalid one the length of its
/// longest valid prefix (at least 1), which one U+FFFD replaces.
bool utf8_sequence(std::string_view text, std::size_t i, std::size_t& size) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size = 1;
  if (lead < 0x80)
    return true;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80; // no overlong forms
    high = lead == 0xED ? 0x9F : 0xBF; // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF; // nothing above U+10FFFF
  } else {
    return false;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (i + k >= text.size())
      return false;
    const auto c = static_cast<unsigned char>(text[i + k]);
    if (k == 1 ? !is_continuation(c, low, high) : !is_continuation(c))
      return false;
    size = k + 1;
  }
  return true;
}

void append_escaped_ascii(std::string& out, char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  if (static_cast<unsigned char>(c) < 0x20) {
    static constexpr char hex[] = "0123456789abcdef";
    out += "\\u00";
    out += hex[(c >> 4) & 0xF];
    out += hex[c & 0xF];
    return;
  }
  out += c;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(),
                       [](char x, char y) { return lower(x) == lower(y); });
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equal_ignoring_case(text.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && blank(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && blank(text.back()))
    text.remove_suffix(1);
  return text;
}

/// RFC 9110 token characters, which a header name consists of.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void append_line(std::string& body, body_format format, const line_source& source,
                 std::string_view line) {
  if (format == body_format::raw) {
    body += line;
    return;
  }
  if (!line.empty() && line.back() == '\n')
    line.remove_suffix(1);
  body += "{\"file\":";
  append_json_string(body, source.file_name);
  body += ",\"origin\":";
  append_json_string(body, source.origin);
  body += ",\"line\":";
  append_json_string(body, line);
  body += "}\n";
}

} // namespace

body_format parse_format(std::string_view text) {
  return text == "ndjson" ? body_format::ndjson : body_format::raw;
}

const char* default_content_type(body_format format) {
  return format == body_format::ndjson ? "application/x-ndjson"
                                       : "text/plain; charset=utf-8";
}

lines_taken append_lines(std::string& body, body_format format, const line_source& source,
                         std::string_view bytes, std::size_t offset, std::size_t max_lines) {
  lines_taken taken{0, std::min(offset, bytes.size())};
  while (taken.lines < max_lines && taken.end < bytes.size()) {
    auto newline = bytes.find('\n', taken.end);
    auto next = newline == std::string_view::npos ? bytes.size() : newline + 1;
    append_line(body, format, source, bytes.substr(taken.end, next - taken.end));
    taken.end = next;
    ++taken.lines;
  }
  return taken;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t size = 1;
    if (!utf8_sequence(text, i, size))
      out += replacement_character;
    else if (size == 1)
      append_escaped_ascii(out, text[i]);
    else
      out += text.substr(i, size);
    i += size;
  }
  out += '"';
}

std::optional<std::string> url_problem(std::string_view url) {
  std::string_view rest;
  if (starts_with_ignoring_case(url, "http://"))
    rest = url.substr(7);
  else if (starts_with_ignoring_case(url, "https://"))
    rest = url.substr(8);
  else
    return "must start with http:// or https://, got \"" + std::string(url) + "\"";
  if (rest.empty() || rest.front() == '/' || rest.front() == ':')
    return "names no host: \"" + std::string(url) + "\"";
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return "must not contain spaces or control characters (percent-encode them): \""
             + std::string(url) + "\"";
  return std::nullopt;
}

std::optional<std::string> header_problem(std::string_view entry) {
  if (entry.find_first_of("\r\n") != std::string_view::npos)
    return std::string("contains a line break");
  auto colon = entry.find(':');
  if (colon == std::string_view::npos)
    return std::string("has no colon: must be \"Name: value\"");
  auto name = entry.substr(0, colon);
  if (name.empty())
    return std::string("has no name before its colon: must be \"Name: value\"");
  if (!std::all_of(name.begin(), name.end(), is_token_char))
    return "has an invalid header name \"" + std::string(name)
           + "\" (letters, digits and !#$%&'*+-.^_`|~ only, no spaces)";
  return std::nullopt;
}

bool has_header(const std::vector<std::string>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [name](const std::string& entry) {
    auto colon = entry.find(':');
    return colon != std::string::npos
           && equal_ignoring_case(trim(std::string_view(entry).substr(0, colon)), name);
  });
}

std::vector<std::string> request_headers(std::vector<std::string> configured,
                                         body_format format) {
  if (!has_header(configured, "Content-Type"))
    configured.push_back(std::string("Content-Type: ") + default_content_type(format));
  return configured;
}

std::string printable_excerpt(std::string_view text, std::size_t max) {
  std::string out(text.substr(0, max));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
      c = '?';
  if (text.size() > max)
    out += "...";
  return out;
}

} // namespace logpipe::http
