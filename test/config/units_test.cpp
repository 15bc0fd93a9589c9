#include "config/units.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace {

using namespace logpipe::config;
using std::chrono::microseconds;

struct size_case {
  std::string text;
  std::optional<std::uint64_t> bytes;
};

TEST(units, parse_size) {
  const std::uint64_t k = 1000, ki = 1024;
  const std::vector<size_case> cases{
      {"0", 0},
      {"512", 512},
      {"512B", 512},
      {"512b", 512},
      {"64K", 64 * k},
      {"64KB", 64 * k},
      {"64kb", 64 * k},
      {"64KiB", 64 * ki},
      {"64kib", 64 * ki},
      {"64KIB", 64 * ki},
      {"64 KiB", 64 * ki},
      {"10M", 10 * k * k},
      {"10MB", 10 * k * k},
      {"10MiB", 10 * ki * ki},
      {"1G", k * k * k},
      {"1GB", k * k * k},
      {"1GiB", ki * ki * ki},
      {"2T", 2 * k * k * k * k},
      {"2TB", 2 * k * k * k * k},
      {"2TiB", 2 * ki * ki * ki * ki},
      {"007KiB", 7 * ki},
      {"18446744073709551615", 18446744073709551615ull}, // largest uint64
      {"16777215TiB", 16777215ull << 40},                 // largest that fits
      // malformed
      {"", std::nullopt},
      {"KiB", std::nullopt},
      {"-1", std::nullopt},
      {"+1", std::nullopt},
      {"1.5MiB", std::nullopt},
      {"12XB", std::nullopt},
      {"64  KiB", std::nullopt},
      {" 64KiB", std::nullopt},
      {"64KiB ", std::nullopt},
      {"64 ", std::nullopt},
      {"64Ki", std::nullopt},
      {"64KiBs", std::nullopt},
      {"1PB", std::nullopt},
      // overflow
      {"18446744073709551616", std::nullopt},
      {"16777216TiB", std::nullopt},
      {"99999999999999999999999B", std::nullopt},
  };
  for (const auto& c : cases)
    EXPECT_EQ(parse_size(c.text), c.bytes) << "text: \"" << c.text << "\"";
}

struct duration_case {
  std::string text;
  std::optional<microseconds> value;
};

TEST(units, parse_duration) {
  const std::vector<duration_case> cases{
      {"100us", microseconds(100)},
      {"250ms", microseconds(250000)},
      {"60s", microseconds(60000000)},
      {"60 s", microseconds(60000000)},
      {"5m", microseconds(300000000)},
      {"2h", microseconds(7200000000)},
      {"1d", microseconds(86400000000)},
      {"0s", microseconds(0)},
      {"9223372036854775807us", microseconds(9223372036854775807)},
      {"106751991d", microseconds(106751991ll * 86400 * 1000000)},
      // malformed
      {"", std::nullopt},
      {"60", std::nullopt}, // no unit: seconds or milliseconds?
      {"s", std::nullopt},
      {"1.5s", std::nullopt},
      {"-1s", std::nullopt},
      {"5 minutes", std::nullopt},
      {"5S", std::nullopt}, // case-sensitive
      {"5M", std::nullopt},
      {"1w", std::nullopt},
      {"5s ", std::nullopt},
      // overflow
      {"9223372036854775808us", std::nullopt},
      {"106751992d", std::nullopt}, // fits in uint64, not in int64 microseconds
      {"99999999999999999999s", std::nullopt},
  };
  for (const auto& c : cases)
    EXPECT_EQ(parse_duration(c.text), c.value) << "text: \"" << c.text << "\"";
}

TEST(units, format_size) {
  EXPECT_EQ(format_size(0), "0B");
  EXPECT_EQ(format_size(1), "1B");
  EXPECT_EQ(format_size(1000), "1000B");
  EXPECT_EQ(format_size(1024), "1KiB");
  EXPECT_EQ(format_size(1536), "1536B");
  EXPECT_EQ(format_size(64 * 1024), "64KiB");
  EXPECT_EQ(format_size(1024 * 1024), "1MiB");
  EXPECT_EQ(format_size(1536 * 1024), "1536KiB");
  EXPECT_EQ(format_size(3ull << 30), "3GiB");
  EXPECT_EQ(format_size(5ull << 40), "5TiB");
  EXPECT_EQ(format_size(1ull << 50), "1024TiB");
}

TEST(units, format_duration) {
  EXPECT_EQ(format_duration(microseconds(0)), "0s");
  EXPECT_EQ(format_duration(microseconds(1)), "1us");
  EXPECT_EQ(format_duration(microseconds(1500)), "1500us");
  EXPECT_EQ(format_duration(microseconds(250000)), "250ms");
  EXPECT_EQ(format_duration(microseconds(1500000)), "1500ms");
  EXPECT_EQ(format_duration(std::chrono::seconds(5)), "5s");
  EXPECT_EQ(format_duration(std::chrono::seconds(60)), "1m");
  EXPECT_EQ(format_duration(std::chrono::seconds(90)), "90s");
  EXPECT_EQ(format_duration(std::chrono::hours(2)), "2h");
  EXPECT_EQ(format_duration(std::chrono::hours(48)), "2d");
  EXPECT_EQ(format_duration(microseconds(-250000)), "-250ms");
}

TEST(units, format_then_parse_round_trips) {
  for (std::uint64_t bytes : {0ull, 1ull, 1000ull, 4096ull, 10ull << 20, 7ull << 40})
    EXPECT_EQ(parse_size(format_size(bytes)), bytes);
  for (std::int64_t us : {1ll, 999ll, 250000ll, 60000000ll, 86400000000ll})
    EXPECT_EQ(parse_duration(format_duration(microseconds(us))), microseconds(us));
}

} // namespace
