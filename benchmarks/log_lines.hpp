#pragma once

// Deterministic log text shaped like an application's log (access lines,
// cache debug lines, slow-query warnings, timeouts), about 130 bytes a line,
// with the numbers and ids that keep real logs from compressing too well.
// The same seed gives the same text on every machine.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace logpipe::bench {

class log_line_generator {
public:
  explicit log_line_generator(std::uint64_t seed = 0x10c1) : state_(seed) {}

  /// Appends one line, newline included.
  void append_line(std::string& out) {
    micros_ += 200 + below(5000);
    char line[320];
    const int n = format(line, sizeof line);
    // A line never nears the buffer's size; a cut one would still be text.
    const auto length = n < 0 ? 0 : static_cast<std::size_t>(n);
    out.append(line, length < sizeof line ? length : sizeof line - 1);
  }

private:
  // splitmix64: tiny, and the same everywhere (std distributions are not).
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }

  template <std::size_t N>
  const char* pick(const char* const (&choices)[N]) {
    return choices[below(N)];
  }

  int format(char* line, std::size_t size) {
    static const char* const hosts[] = {"web-01", "web-02", "web-03", "api-07", "batch-2"};
    static const char* const services[] = {"checkout", "catalog", "auth", "search"};
    static const char* const methods[] = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};
    static const char* const paths[] = {"/api/v2/orders", "/api/v2/cart/items", "/login",
                                        "/api/v2/products", "/static/app.js", "/healthz"};
    const auto secs = micros_ / 1000000;
    const auto frac = static_cast<unsigned>(micros_ % 1000000);
    char head[96];
    std::snprintf(head, sizeof head, "2026-11-26T%02u:%02u:%02u.%06uZ %s %s[%u]:",
                  static_cast<unsigned>(8 + secs / 3600 % 16),
                  static_cast<unsigned>(secs / 60 % 60), static_cast<unsigned>(secs % 60),
                  frac, pick(hosts), pick(services), 1000 + below(4));
    const unsigned kind = below(100);
    if (kind < 70)
      return std::snprintf(line, size,
                           "%s INFO  %s %s/%u status=%u bytes=%u duration_ms=%u "
                           "req_id=%016llx\n",
                           head, pick(methods), pick(paths), below(100000),
                           kind < 66 ? 200u : 404u, 200 + below(40000), 1 + below(400),
                           static_cast<unsigned long long>(next()));
    if (kind < 90)
      return std::snprintf(line, size,
                           "%s DEBUG cache %s key=user:%u:profile ttl=%us shard=%u "
                           "size=%u\n",
                           head, below(4) ? "hit" : "miss", below(1000000), 60 * below(60),
                           below(16), 100 + below(9000));
    if (kind < 97)
      return std::snprintf(line, size,
                           "%s WARN  slow query on orders_2026: %u ms rows=%u "
                           "(threshold 250 ms) plan=index_scan\n",
                           head, 250 + below(3000), below(50000));
    return std::snprintf(line, size,
                         "%s ERROR payment provider timeout after %u ms, retry %u/5 "
                         "order=%u trace=%016llx\n",
                         head, 1000 + below(9000), 1 + below(5), below(10000000),
                         static_cast<unsigned long long>(next()));
  }

  std::uint64_t state_;
  std::uint64_t micros_ = 0;
};

/// Exactly `size` bytes of whole lines (the last one cut short and given a
/// newline), the same for the same size.
inline std::string log_text(std::size_t size) {
  log_line_generator gen;
  std::string text;
  text.reserve(size + 320);
  while (text.size() < size)
    gen.append_line(text);
  text.resize(size);
  if (size > 0)
    text.back() = '\n';
  return text;
}

/// One line, newline included.
inline std::string log_line() {
  log_line_generator gen;
  std::string line;
  gen.append_line(line);
  return line;
}

} // namespace logpipe::bench
