#pragma once

// Addresses in the configuration: "host:port" endpoints (IPv6 in brackets)
// and client networks in CIDR form ("10.0.0.0/8", "::1/128"), and resolving
// an endpoint to socket addresses.

#include <netdb.h>

#include <array>
#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace logpipe {

struct host_port {
  /// A name or an address, without brackets.
  std::string host;
  std::uint16_t port = 0;
};

/// Parses "host:port", "1.2.3.4:5151" or "[::1]:5151"; on failure returns
/// nothing and says why in `error`.
std::optional<host_port> parse_host_port(std::string_view text, std::string& error);

/// "host:port", with brackets around an IPv6 address.
std::string to_string(const host_port& x);

/// getaddrinfo()'s list, freed with it.
using address_list = std::unique_ptr<addrinfo, void (*)(addrinfo*)>;

/// The stream-socket addresses of `x` (to listen on if `passive`); nothing,
/// and why in `error`, if the name does not resolve.
address_list resolve(const host_port& x, bool passive, std::string& error);

/// An IPv4 or IPv6 network. IPv4 networks also match IPv4-mapped IPv6
/// addresses (::ffff:a.b.c.d), as a dual-stack listener reports them.
struct ip_network {
  /// In IPv6 form; an IPv4 network is stored as ::ffff:a.b.c.d.
  std::array<std::uint8_t, 16> bytes{};
  /// Prefix length over the 128 bits.
  unsigned prefix = 0;
};

/// Parses "10.0.0.0/8", "127.0.0.1" (a single host), "fd00::/8"; on failure
/// returns nothing and says why in `error`.
std::optional<ip_network> parse_network(std::string_view text, std::string& error);

/// Whether the numeric address `address` (as a socket reports it) is in
/// `net`. False for anything that is not an address.
bool contains(const ip_network& net, std::string_view address);

/// "1.2.3.4" for "::ffff:1.2.3.4"; other addresses unchanged.
std::string unmapped_address(std::string_view address);

} // namespace logpipe
