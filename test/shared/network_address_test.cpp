// parse_host_port / parse_network / contains / unmapped_address: endpoints
// and client networks as the configuration names them, and how a socket's
// address (IPv4, IPv6, IPv4-mapped IPv6) is matched against a network.

#include "actors/shared/network_address.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace logpipe;

/// A parser of this file: parse_host_port or parse_network.
template <class T>
using parser = std::optional<T> (*)(std::string_view, std::string&);

/// What `parse` makes of `text`, which must parse.
template <class T>
T must_parse(parser<T> parse, const std::string& text) {
  std::string error;
  auto result = parse(text, error);
  EXPECT_TRUE(result.has_value()) << text << ": " << error;
  return result.value_or(T{});
}

/// Why `parse` rejects `text`, or "(parsed)" if it does not.
template <class T>
std::string error_of(parser<T> parse, const std::string& text) {
  std::string error;
  if (parse(text, error))
    return "(parsed)";
  return error;
}

host_port must_parse_host_port(const std::string& text) {
  return must_parse(parse_host_port, text);
}

std::string host_port_error(const std::string& text) {
  return error_of(parse_host_port, text);
}

ip_network must_parse_network(const std::string& text) {
  return must_parse(parse_network, text);
}

std::string network_error(const std::string& text) {
  return error_of(parse_network, text);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- host:port ---------------------------------------------------------------

TEST(network_address, parses_an_ipv4_address_and_port) {
  auto x = must_parse_host_port("1.2.3.4:5151");
  EXPECT_EQ(x.host, "1.2.3.4");
  EXPECT_EQ(x.port, 5151);
}

TEST(network_address, parses_a_bracketed_ipv6_address_without_its_brackets) {
  auto x = must_parse_host_port("[::1]:5151");
  EXPECT_EQ(x.host, "::1");
  EXPECT_EQ(x.port, 5151);
}

TEST(network_address, parses_a_host_name_and_the_extreme_ports) {
  auto x = must_parse_host_port("host.example:80");
  EXPECT_EQ(x.host, "host.example");
  EXPECT_EQ(x.port, 80);
  EXPECT_EQ(must_parse_host_port("h:1").port, 1);
  EXPECT_EQ(must_parse_host_port("h:65535").port, 65535);
}

TEST(network_address, rejects_a_missing_or_out_of_range_port) {
  for (const std::string text : {"host.example", "host.example:", "h:0", "h:65536", "h:x",
                                 "h:80x", "h:-1", "[::1]:"}) {
    auto error = host_port_error(text);
    EXPECT_TRUE(has(error, "port")) << text << ": " << error;
  }
  EXPECT_EQ(host_port_error("h:0"), "the port must be a number from 1 to 65535");
  EXPECT_EQ(host_port_error("h:65536"), "the port must be a number from 1 to 65535");
}

TEST(network_address, rejects_an_unbracketed_ipv6_address_saying_how_to_write_it) {
  auto error = host_port_error("::1:5151");
  EXPECT_TRUE(has(error, "brackets")) << error;
  EXPECT_TRUE(has(error, "[::1]:5151")) << error;
}

TEST(network_address, rejects_an_empty_host) {
  EXPECT_EQ(host_port_error(":5151"), "the host is empty");
  EXPECT_EQ(host_port_error("[]:5151"), "the host is empty");
}

TEST(network_address, rejects_a_bracketed_address_without_a_colon_before_its_port) {
  for (const std::string text : {"[::1]5151", "[::1", "[::1]"})
    EXPECT_EQ(host_port_error(text), "expected \"[address]:port\"") << text;
}

TEST(network_address, to_string_gives_back_what_was_parsed) {
  for (const std::string text : {"1.2.3.4:5151", "[::1]:5151", "host.example:80",
                                 "[fd00::7]:1", "h:65535"})
    EXPECT_EQ(to_string(must_parse_host_port(text)), text);
  EXPECT_EQ(to_string(host_port{"::1", 5151}), "[::1]:5151");
  EXPECT_EQ(to_string(host_port{"10.0.0.5", 80}), "10.0.0.5:80");
}

// ---- networks -----------------------------------------------------------------

TEST(network_address, parses_ipv4_networks_as_mapped_ipv6) {
  auto net = must_parse_network("10.0.0.0/8");
  EXPECT_EQ(net.prefix, 96u + 8u);
  std::array<std::uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0};
  EXPECT_EQ(net.bytes, mapped);
}

TEST(network_address, an_address_alone_is_a_network_of_one_host) {
  auto v4 = must_parse_network("127.0.0.1");
  EXPECT_EQ(v4.prefix, 96u + 32u);
  EXPECT_TRUE(contains(v4, "127.0.0.1"));
  EXPECT_FALSE(contains(v4, "127.0.0.2"));
  auto v6 = must_parse_network("::1");
  EXPECT_EQ(v6.prefix, 128u);
  EXPECT_TRUE(contains(v6, "::1"));
  EXPECT_FALSE(contains(v6, "::2"));
}

TEST(network_address, parses_ipv6_networks) {
  auto net = must_parse_network("fd00::/8");
  EXPECT_EQ(net.prefix, 8u);
  EXPECT_EQ(net.bytes[0], 0xfd);
}

TEST(network_address, rejects_prefixes_beyond_the_address_length) {
  EXPECT_EQ(network_error("10.0.0.0/33"), "the prefix length must be a number from 0 to 32");
  EXPECT_EQ(network_error("::/129"), "the prefix length must be a number from 0 to 128");
  EXPECT_EQ(network_error("fd00::/8x"), "the prefix length must be a number from 0 to 128");
  EXPECT_EQ(network_error("10.0.0.0/-1"), "the prefix length must be a number from 0 to 32");
  // /33 is fine for IPv6.
  EXPECT_EQ(network_error("fd00::/33"), "(parsed)");
}

TEST(network_address, rejects_a_missing_prefix_after_the_slash) {
  EXPECT_EQ(network_error("10.0.0.0/"), "the prefix length must be a number from 0 to 32");
}

TEST(network_address, rejects_what_is_not_an_address) {
  for (const std::string text : {"x/8", "", "/8", "10.0.0/8", "host.example", "10.0.0.0.0/8",
                                 "[::1]/128"}) {
    auto error = network_error(text);
    EXPECT_TRUE(has(error, "expected an address")) << text << ": " << error;
  }
}

/// Every address of `inside` is in `network`, none of `outside` is.
void expect_members(const std::string& network, std::initializer_list<const char*> inside,
                    std::initializer_list<const char*> outside) {
  auto net = must_parse_network(network);
  for (const char* address : inside)
    EXPECT_TRUE(contains(net, address)) << '"' << address << "\" in " << network;
  for (const char* address : outside)
    EXPECT_FALSE(contains(net, address)) << '"' << address << "\" not in " << network;
}

TEST(network_address, an_ipv4_network_contains_exactly_its_addresses) {
  expect_members("10.0.0.0/8", {"10.0.0.0", "10.1.2.3", "10.255.255.255"},
                 {"11.0.0.0", "9.255.255.255"});
  // A prefix that ends inside a byte.
  expect_members("192.168.16.0/20", {"192.168.16.0", "192.168.31.255"},
                 {"192.168.32.0", "192.168.15.255"});
}

TEST(network_address, an_ipv6_network_contains_exactly_its_addresses) {
  expect_members("fd00::/8", {"fd00::1", "fdff:ffff::1"}, {"fe80::1", "::1", "10.1.2.3"});
}

TEST(network_address, an_ipv4_network_contains_its_ipv4_mapped_addresses) {
  // ::10.1.2.3 is IPv4-compatible, not IPv4-mapped.
  expect_members("10.0.0.0/8", {"::ffff:10.1.2.3"}, {"::ffff:11.1.2.3", "::10.1.2.3"});
}

TEST(network_address, a_prefix_of_zero_contains_every_address_of_its_family) {
  expect_members("::/0",
                 {"0.0.0.0", "10.1.2.3", "255.255.255.255", "::", "::1", "fd00::1",
                  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
                 {});
  expect_members("0.0.0.0/0", {"0.0.0.0", "10.1.2.3", "255.255.255.255", "::ffff:1.2.3.4"},
                 {"::1"});
}

TEST(network_address, what_is_not_an_address_is_in_no_network) {
  expect_members("::/0", {},
                 {"", "localhost", "10.1.2", "10.1.2.3:80", "[::1]", "::1/128", "1.2.3.4 "});
}

TEST(network_address, unmapped_address_drops_the_ipv4_mapped_prefix_only) {
  EXPECT_EQ(unmapped_address("::ffff:1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(unmapped_address("1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(unmapped_address("::1"), "::1");
  EXPECT_EQ(unmapped_address("fd00::1"), "fd00::1");
  EXPECT_EQ(unmapped_address("::ffff:"), "::ffff:");
  EXPECT_EQ(unmapped_address("::ffff:abcd"), "::ffff:abcd");
  EXPECT_EQ(unmapped_address("::ffff:1.2.3"), "::ffff:1.2.3");
}

TEST(network_address, resolves_numeric_endpoints_to_stream_addresses) {
  for (bool passive : {false, true}) {
    std::string error;
    auto v4 = resolve(host_port{"127.0.0.1", 5151}, passive, error);
    ASSERT_TRUE(v4) << error;
    EXPECT_EQ(v4->ai_family, AF_INET);
    EXPECT_EQ(v4->ai_socktype, SOCK_STREAM);
    EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(v4->ai_addr)->sin_port), 5151);
    auto v6 = resolve(host_port{"::1", 80}, passive, error);
    ASSERT_TRUE(v6) << error;
    EXPECT_EQ(v6->ai_family, AF_INET6);
  }
}

} // namespace
