#include "actors/file_input/glob.hpp"

#include <utility>

namespace logpipe {

namespace {

/// Length of the character at `pos` of `text`: the length of a well-formed
/// UTF-8 sequence starting there (2 to 4 bytes), else 1 (ASCII, or a byte
/// that does not start a valid sequence: file names are bytes, not text).
std::size_t char_length(std::string_view text, std::size_t pos) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  std::size_t n = 0;
  unsigned char min_second = 0x80, max_second = 0xBF;
  if (lead < 0x80) {
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    if (lead == 0xE0)
      min_second = 0xA0; // no overlong forms
    else if (lead == 0xED)
      max_second = 0x9F; // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    if (lead == 0xF0)
      min_second = 0x90;
    else if (lead == 0xF4)
      max_second = 0x8F; // nothing above U+10FFFF
  } else {
    return 1;
  }
  if (pos + n > text.size())
    return 1;
  if (byte(pos + 1) < min_second || byte(pos + 1) > max_second)
    return 1;
  for (std::size_t i = 2; i < n; ++i)
    if (byte(pos + i) < 0x80 || byte(pos + i) > 0xBF)
      return 1;
  return n;
}

} // namespace

// Iterative matching with a single backtrack point: when a literal or `?`
// fails, the most recent `*` absorbs one more character of the name and
// matching resumes just after that `*`. Earlier stars never need revisiting
// (a later star can absorb anything an earlier one could), so the work is
// O(pattern * name) at worst, with no recursion, whatever the pattern.
//
// `?` and the characters a `*` absorbs are whole UTF-8 characters when the
// name holds well-formed UTF-8 there, single bytes otherwise; literals compare
// byte by byte.
bool glob_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0;
  std::size_t star_p = std::string_view::npos; // index just after the last `*`
  std::size_t star_n = 0;                      // where that `*`'s match ends
  while (n < name.size()) {
    if (p < pattern.size()) {
      const char c = pattern[p];
      if (c == '*') {
        while (p < pattern.size() && pattern[p] == '*')
          ++p;
        if (p == pattern.size())
          return true; // a trailing `*` takes the rest of the name
        star_p = p;
        star_n = n;
        continue;
      }
      if (c == '?') {
        ++p;
        n += char_length(name, n);
        continue;
      }
      if (c == name[n]) {
        ++p;
        ++n;
        continue;
      }
    }
    if (star_p == std::string_view::npos)
      return false;
    // Let the last `*` take one more character and try again after it.
    star_n += char_length(name, star_n);
    p = star_p;
    n = star_n;
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

name_filter::name_filter(std::vector<std::string> include,
                         std::vector<std::string> exclude)
  : include_(std::move(include)), exclude_(std::move(exclude)) {
}

bool name_filter::accepts(std::string_view name) const {
  bool included = include_.empty();
  for (const auto& pattern : include_) {
    if (glob_match(pattern, name)) {
      included = true;
      break;
    }
  }
  if (!included)
    return false;
  for (const auto& pattern : exclude_)
    if (glob_match(pattern, name))
      return false;
  return true;
}

} // namespace logpipe
