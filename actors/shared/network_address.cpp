#include "actors/shared/network_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace logpipe {

namespace {

constexpr std::string_view mapped_prefix = "::ffff:";

// The 16 bytes of a numeric IPv4 or IPv6 address (IPv4 mapped into IPv6).
std::optional<std::array<std::uint8_t, 16>> address_bytes(std::string_view text) {
  std::string s(text);
  std::array<std::uint8_t, 16> bytes{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    std::memcpy(bytes.data() + 12, &v4, 4);
    return bytes;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(bytes.data(), &v6, 16);
    return bytes;
  }
  return std::nullopt;
}

bool is_v4(std::string_view text) {
  in_addr v4{};
  return inet_pton(AF_INET, std::string(text).c_str(), &v4) == 1;
}

} // namespace

std::optional<host_port> parse_host_port(std::string_view text, std::string& error) {
  host_port result;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "expected \"[address]:port\"";
      return std::nullopt;
    }
    result.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      error = "expected \"host:port\" (an IPv6 address goes in brackets: \"[::1]:5151\")";
      return std::nullopt;
    }
    result.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (result.host.empty()) {
    error = "the host is empty";
    return std::nullopt;
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0
      || port > 65535) {
    error = "the port must be a number from 1 to 65535";
    return std::nullopt;
  }
  result.port = static_cast<std::uint16_t>(port);
  return result;
}

std::string to_string(const host_port& x) {
  if (x.host.find(':') != std::string::npos)
    return "[" + x.host + "]:" + std::to_string(x.port);
  return x.host + ":" + std::to_string(x.port);
}

address_list resolve(const host_port& x, bool passive, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* found = nullptr;
  auto port = std::to_string(x.port);
  if (int rc = ::getaddrinfo(x.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = "cannot resolve " + x.host + ": "
            + (rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc));
    return address_list(nullptr, &::freeaddrinfo);
  }
  return address_list(found, &::freeaddrinfo);
}

std::optional<ip_network> parse_network(std::string_view text, std::string& error) {
  auto slash = text.find('/');
  auto address = text.substr(0, slash);
  auto bytes = address_bytes(address);
  if (!bytes) {
    error = "expected an address or a network such as \"10.0.0.0/8\" or \"fd00::/8\"";
    return std::nullopt;
  }
  bool v4 = is_v4(address);
  unsigned max_prefix = v4 ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    auto prefix_text = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(prefix_text.data(),
                                     prefix_text.data() + prefix_text.size(), prefix);
    if (ec != std::errc{} || end != prefix_text.data() + prefix_text.size()
        || prefix_text.empty() || prefix > max_prefix) {
      error = "the prefix length must be a number from 0 to " + std::to_string(max_prefix);
      return std::nullopt;
    }
  }
  ip_network net;
  net.bytes = *bytes;
  net.prefix = v4 ? prefix + 96 : prefix;
  return net;
}

bool contains(const ip_network& net, std::string_view address) {
  auto bytes = address_bytes(address);
  if (!bytes)
    return false;
  unsigned bits = net.prefix;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
    unsigned take = bits >= 8 ? 8 : bits;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
    if (((*bytes)[i] & mask) != (net.bytes[i] & mask))
      return false;
    bits -= take;
  }
  return true;
}

std::string unmapped_address(std::string_view address) {
  if (address.size() > mapped_prefix.size() && address.substr(0, mapped_prefix.size()) == mapped_prefix
      && is_v4(address.substr(mapped_prefix.size())))
    return std::string(address.substr(mapped_prefix.size()));
  return std::string(address);
}

} // namespace logpipe
