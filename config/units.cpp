#include "config/units.hpp"

#include <array>
#include <cctype>
#include <limits>

namespace logpipe::config {

namespace {

struct unit {
  std::string_view name;
  std::uint64_t factor;
};

constexpr std::uint64_t kib = 1024;

// Every spelling parse_size accepts (compared case-insensitively).
constexpr std::array<unit, 13> size_units{{
    {"b", 1},
    {"k", 1000},
    {"kb", 1000},
    {"kib", kib},
    {"m", 1000 * 1000},
    {"mb", 1000 * 1000},
    {"mib", kib * kib},
    {"g", 1000 * 1000 * 1000},
    {"gb", 1000 * 1000 * 1000},
    {"gib", kib * kib * kib},
    {"t", 1000ull * 1000 * 1000 * 1000},
    {"tb", 1000ull * 1000 * 1000 * 1000},
    {"tib", kib * kib * kib * kib},
}};

// Largest first, so that format_size picks the largest exact unit.
constexpr std::array<unit, 4> binary_units{{
    {"TiB", kib * kib * kib * kib},
    {"GiB", kib * kib * kib},
    {"MiB", kib * kib},
    {"KiB", kib},
}};

// Duration units in microseconds, largest first. Unlike sizes these are
// case-sensitive: "M" would read as months as easily as minutes.
constexpr std::uint64_t us_per_s = 1000 * 1000;
constexpr std::array<unit, 6> duration_units{{
    {"d", 24 * 3600 * us_per_s},
    {"h", 3600 * us_per_s},
    {"m", 60 * us_per_s},
    {"s", us_per_s},
    {"ms", 1000},
    {"us", 1},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i]))
        != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Splits "<digits>[ ]<unit>" into its number and unit text. Only plain decimal
// integers: no sign, no fraction, no surrounding blanks.
struct number_and_unit {
  std::uint64_t number = 0;
  std::string_view unit;
};

std::optional<number_and_unit> split(std::string_view text) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
      return std::nullopt;
    n = n * 10 + digit;
    ++i;
  }
  if (i == 0)
    return std::nullopt;
  auto rest = text.substr(i);
  if (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  // A space must be followed by a unit ("64 " is malformed).
  if (rest.empty() && i != text.size())
    return std::nullopt;
  return number_and_unit{n, rest};
}

std::optional<std::uint64_t> multiply(std::uint64_t n, std::uint64_t factor) {
  if (factor != 0 && n > std::numeric_limits<std::uint64_t>::max() / factor)
    return std::nullopt;
  return n * factor;
}

} // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto parts = split(text);
  if (!parts)
    return std::nullopt;
  if (parts->unit.empty())
    return parts->number; // plain bytes
  for (const auto& u : size_units)
    if (iequals(parts->unit, u.name))
      return multiply(parts->number, u.factor);
  return std::nullopt;
}

std::optional<std::chrono::microseconds> parse_duration(std::string_view text) {
  auto parts = split(text);
  // A bare number is rejected: "5" could mean seconds or milliseconds.
  if (!parts || parts->unit.empty())
    return std::nullopt;
  for (const auto& u : duration_units) {
    if (parts->unit != u.name)
      continue;
    auto us = multiply(parts->number, u.factor);
    if (!us || *us > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    return std::chrono::microseconds(static_cast<std::int64_t>(*us));
  }
  return std::nullopt;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes != 0)
    for (const auto& u : binary_units)
      if (bytes % u.factor == 0)
        return std::to_string(bytes / u.factor) + std::string(u.name);
  return std::to_string(bytes) + "B";
}

std::string format_duration(std::chrono::microseconds d) {
  auto count = d.count();
  if (count == 0)
    return "0s";
  // Magnitude as unsigned so that the minimum int64 does not overflow.
  std::uint64_t magnitude = count < 0 ? 0 - static_cast<std::uint64_t>(count)
                                      : static_cast<std::uint64_t>(count);
  std::string sign = count < 0 ? "-" : "";
  for (const auto& u : duration_units)
    if (magnitude % u.factor == 0)
      return sign + std::to_string(magnitude / u.factor) + std::string(u.name);
  return sign + std::to_string(magnitude) + "us"; // not reached: 1us divides all
}

} // namespace logpipe::config
