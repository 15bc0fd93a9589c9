#pragma once

// A double of CAF's middleman actor for deterministic tests of the caf input
// and output: "connecting" to host:port yields whatever actor the test put
// there, and publishing is recorded.

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/node_id.hpp>
#include <caf/sec.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace logpipe::test {

struct network_record {
  /// "host:port" -> the actor a connect there reaches; absent: the connect
  /// fails.
  std::map<std::string, caf::actor> reachable;
  /// Every connect asked, as "host:port", in order.
  std::vector<std::string> connects;
  /// Every publish asked: (host, port).
  std::vector<std::pair<std::string, std::uint16_t>> publishes;
  std::vector<std::uint16_t> unpublished;
  /// Publishing fails (the port is taken).
  bool refuse_publish = false;
};

inline caf::io::middleman_actor::behavior_type
fake_network(caf::io::middleman_actor::pointer, std::shared_ptr<network_record> rec) {
  using caf::result;
  using caf::strong_actor_ptr;
  return {
    [=](caf::publish_atom, std::uint16_t port, strong_actor_ptr&, std::set<std::string>&,
        std::string& host, bool) -> result<std::uint16_t> {
      rec->publishes.emplace_back(host, port);
      if (rec->refuse_publish)
        return caf::make_error(caf::sec::cannot_open_port);
      return port;
    },
    [=](caf::open_atom, std::uint16_t port, std::string&, bool) -> result<std::uint16_t> {
      return port;
    },
    [=](caf::connect_atom, std::string& host, std::uint16_t port)
      -> result<caf::node_id, strong_actor_ptr, std::set<std::string>> {
      auto where = host + ":" + std::to_string(port);
      rec->connects.push_back(where);
      auto i = rec->reachable.find(where);
      if (i == rec->reachable.end())
        return caf::make_error(caf::sec::cannot_connect_to_node);
      return {caf::node_id{}, caf::actor_cast<strong_actor_ptr>(i->second),
              std::set<std::string>{}};
    },
    [=](caf::unpublish_atom, const caf::actor_addr&, std::uint16_t port) {
      rec->unpublished.push_back(port);
    },
    [=](caf::close_atom, std::uint16_t) {},
    [=](caf::spawn_atom, const caf::node_id&, std::string&, const caf::message&,
        std::set<std::string>&) -> result<strong_actor_ptr> {
      return caf::make_error(caf::sec::unexpected_message);
    },
    [=](caf::get_atom, const caf::node_id& node)
      -> result<caf::node_id, std::string, std::uint16_t> {
      return {node, std::string(), std::uint16_t{0}};
    },
  };
}

} // namespace logpipe::test
