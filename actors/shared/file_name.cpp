#include "actors/shared/file_name.hpp"

#include <cstdio>

namespace logpipe {

namespace {

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

} // namespace

std::string file_name_problem(std::string_view name, std::size_t max_length) {
  if (name.empty())
    return "is empty";
  if (name == "." || name == "..")
    return "is a reference to a folder";
  if (name.size() > max_length)
    return "is longer than " + std::to_string(max_length) + " bytes";
  for (unsigned char c : name) {
    if (c == '/')
      return "contains '/'";
    if (c == '\0')
      return "contains a NUL byte";
    if (is_control(c))
      return "contains a control character";
  }
  return {};
}

std::string printable_name(std::string_view name) {
  constexpr std::size_t max_shown = 80;
  std::string result;
  for (unsigned char c : name) {
    if (result.size() >= max_shown) {
      result += "...";
      break;
    }
    if (is_control(c) || c == '\\' || c >= 0x80) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      result += escaped;
    } else {
      result += static_cast<char>(c);
    }
  }
  return result;
}

} // namespace logpipe
