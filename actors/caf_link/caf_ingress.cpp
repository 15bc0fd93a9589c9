#include "actors/caf_link/caf_ingress.hpp"

#include "actors/caf_link/link_settings.hpp"
#include "actors/core/logging.hpp"
#include "actors/shared/network_address.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <chrono>

namespace logpipe {

namespace {

using self_ptr = caf_ingress_impl;

/// How long the middleman may take to open the listening port.
constexpr auto publish_timeout = std::chrono::seconds(30);

// A stop is answered once every received block is published: the bus then
// drains them.
void answer_stop_when_done(self_ptr self) {
  auto& st = self->state;
  if (st.stopping && st.waiting.empty() && st.stop_promise.pending())
    st.stop_promise.deliver(true);
}

void publish_waiting(self_ptr self) {
  auto& st = self->state;
  while (st.credit.available() && !st.waiting.empty()) {
    auto& [blk, from] = st.waiting.front();
    blk.input = st.index;
    blk.seq = st.credit.take();
    st.in_bus.emplace(blk.seq, std::move(from));
    self->send(st.bus, publish_atom_v, std::move(blk));
    st.waiting.pop_front();
  }
  answer_stop_when_done(self);
}

} // namespace

void caf_ingress_state::unpublish() {
  if (port != 0)
    caf::anon_send(network, caf::unpublish_atom::value, self_addr, std::exchange(port, 0));
}

caf_ingress_state::~caf_ingress_state() {
  unpublish();
}

caf_ingress_actor::behavior_type caf_ingress(self_ptr self, component_context ctx,
                                             caf::io::middleman_actor network,
                                             std::uint32_t version) {
  auto& st = self->state;
  const auto& cfg = ctx.config;
  st.component = cfg.name;
  st.index = ctx.index;
  st.bus = ctx.bus;
  st.network = std::move(network);
  st.self_addr = self->address();
  st.listen = cfg.get_string("listen");
  st.version = version;
  st.credit = credit_window(static_cast<std::uint64_t>(cfg.get_int("window")));
  if (!cfg.has(tls_cert_key))
    log::warn("input {}: links on {} are plaintext (no `tls`)", st.component, st.listen);
  std::string error;
  auto where = parse_host_port(st.listen, error); // checked by the schema
  auto signatures = self->system().message_types<caf_ingress_actor>();
  self->request(st.network, publish_timeout, publish_atom_v, where->port,
                caf::actor_cast<caf::strong_actor_ptr>(self), std::move(signatures),
                where->host, true)
    .then(
      [=](std::uint16_t port) {
        auto& st = self->state;
        st.port = port;
        if (st.stopping)
          st.unpublish();
        else
          log::info("input {}: listening on {}", st.component, st.listen);
      },
      [=](caf::error& err) {
        log::error("input {}: cannot listen on {}: {}", self->state.component,
                   self->state.listen, self->system().render(err));
        self->quit(std::move(err));
      });
  self->request(st.bus, caf::infinite, attach_atom_v, input_atom_v, st.index)
    .then([=](std::uint64_t first_seq) {
      self->state.credit.open(first_seq);
      publish_waiting(self);
    });
  return {
    [=](hello_atom, std::uint32_t theirs) -> std::uint32_t {
      auto& st = self->state;
      auto peer = self->current_sender() ? to_string(self->current_sender()->node())
                                         : std::string("an unknown node");
      if (theirs != st.version)
        log::error("input {}: refused a link from {}: it speaks log_block protocol "
                   "version {}, this agent speaks {}; upgrade the older agent",
                   st.component, peer, theirs, st.version);
      else
        log::info("input {}: linked with {}", st.component, peer);
      return st.version;
    },
    [=](publish_atom, log_block& blk) {
      auto& st = self->state;
      if (st.stopping)
        return; // not acked: the link sends it again to the restarted agent
      linked_block_origin from{self->current_sender(), blk.input, blk.seq};
      st.waiting.emplace_back(std::move(blk), std::move(from));
      publish_waiting(self);
    },
    [=](ack_atom, std::uint64_t seq) {
      auto& st = self->state;
      if (!st.credit.ack(seq))
        return;
      if (auto i = st.in_bus.find(seq); i != st.in_bus.end()) {
        const auto& from = i->second;
        caf::anon_send(caf::actor_cast<caf_link_actor>(from.link), delivered_atom_v,
                       from.input, from.seq);
        st.in_bus.erase(i);
      }
      publish_waiting(self);
    },
    [=](stop_atom) -> caf::result<bool> {
      auto& st = self->state;
      st.stopping = true;
      st.unpublish();
      st.stop_promise = self->make_response_promise<bool>();
      answer_stop_when_done(self);
      return st.stop_promise;
    },
  };
}

config::kind_schema caf_input_schema() {
  using namespace config;
  kind_schema schema;
  schema.type = "caf";
  schema.summary = "Receives blocks from the `caf` outputs of other logpipe agents "
                   "(docs/caf-links.md) and acknowledges each once every output of "
                   "this agent has it.";
  schema.keys = {
    required(make_key("listen", value_kind::string, "",
                      "Address and port to listen on: \"0.0.0.0:5252\", "
                      "\"127.0.0.1:5252\", \"[::1]:5252\".")),
    bounded(make_key("window", value_kind::integer, "64",
                     "Blocks in flight for the whole input (all its links together); "
                     "blocks beyond it wait, and each link sends at most its own "
                     "`window` before it waits for acknowledgements."),
            1, 65536),
  };
  for (auto& key : tls_keys())
    schema.keys.push_back(std::move(key));
  schema.check = [](const component_config& c) {
    auto problems = check_tls(c);
    std::string error;
    if (!parse_host_port(c.get_string("listen"), error))
      problems.push_back({"listen", error});
    return problems;
  };
  return schema;
}

input_actor spawn_caf_input(caf::actor_system& sys, const component_context& ctx) {
  return sys.spawn(caf_ingress, ctx, link_network(sys, ctx.config), protocol_version);
}

} // namespace logpipe
