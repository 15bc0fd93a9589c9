#include "actors/caf_link/caf_link.hpp"

#include "actors/caf_link/link_settings.hpp"
#include "actors/core/logging.hpp"

#include <caf/actor_system.hpp>

#include <algorithm>
#include <chrono>
#include <set>

namespace logpipe {

namespace {

using self_ptr = caf_link_impl;
using status = remote_ingress::status;

/// While no endpoint is linked, each is tried again after this, doubling up
/// to max_backoff (or disable_timeout if shorter): a restarted aggregator is
/// found again within about max_backoff.
constexpr caf::timespan first_backoff = std::chrono::milliseconds(100);
constexpr caf::timespan max_backoff = std::chrono::seconds(2);

std::string stream_of(const log_block& blk) {
  std::string key = blk.origin;
  key += '\0';
  key += blk.file_name;
  return key;
}

// Sends queued blocks while the endpoint's window has room. The message goes
// as it is (send() would want its type statically), with us as its sender:
// the ingress answers there.
void pump(self_ptr self, std::size_t i) {
  auto& st = self->state;
  auto& ep = st.endpoints[i];
  while (ep.state == status::ready && ep.in_flight.size() < st.window && !ep.queued.empty()) {
    ep.remote->enqueue(caf::actor_cast<caf::strong_actor_ptr>(self), caf::make_message_id(),
                       ep.queued.front().msg, self->context());
    ep.in_flight.push_back(std::move(ep.queued.front()));
    ep.queued.pop_front();
  }
}

void route(self_ptr self, linked_block blk) {
  auto& st = self->state;
  auto i = st.pool->route(stream_of(blk.block()), self->clock().now());
  if (!i) {
    st.parked.push_back(std::move(blk));
    return;
  }
  st.endpoints[*i].queued.push_back(std::move(blk));
  pump(self, *i);
}

void reroute_parked(self_ptr self) {
  auto parked = std::move(self->state.parked);
  self->state.parked.clear();
  for (auto& blk : parked)
    route(self, std::move(blk));
}

void schedule_retry(self_ptr self, std::size_t i, caf::timespan delay) {
  auto& st = self->state;
  auto& ep = st.endpoints[i];
  ep.attempt = ++st.attempts;
  self->delayed_send(self, delay, retry_atom_v, static_cast<std::uint32_t>(i), ep.attempt);
}

caf::timespan next_backoff(const caf_link_state& st, remote_ingress& ep) {
  auto delay = ep.backoff;
  ep.backoff = std::min({2 * ep.backoff, max_backoff, st.disable_timeout});
  return delay;
}

// The link to endpoint `i` is gone (or never came up): what it had not
// delivered goes first in line again, and the endpoint is tried again
// later. The caller has logged why.
void drop_link(self_ptr self, std::size_t i) {
  auto& st = self->state;
  auto& ep = st.endpoints[i];
  if (ep.remote) {
    self->demonitor(ep.remote);
    ep.remote = nullptr;
  }
  ep.state = status::idle;
  auto now = self->clock().now();
  st.pool->failed(i, now);
  std::deque<linked_block> again;
  for (auto* blocks : {&ep.in_flight, &ep.queued, &st.parked}) {
    std::move(blocks->begin(), blocks->end(), std::back_inserter(again));
    blocks->clear();
  }
  st.parked = std::move(again);
  if (st.pool->any_healthy(now)) {
    // Left out for disable_timeout while another endpoint takes its traffic.
    schedule_retry(self, i, st.disable_timeout);
  } else {
    // Nothing is linked: try every idle endpoint soon.
    for (std::size_t j = 0; j < st.endpoints.size(); ++j)
      if (st.endpoints[j].state == status::idle)
        schedule_retry(self, j, st.endpoints[j].refused ? st.disable_timeout
                                                         : next_backoff(st, st.endpoints[j]));
  }
  reroute_parked(self);
}

void linked(self_ptr self, std::size_t i) {
  auto& st = self->state;
  auto& ep = st.endpoints[i];
  ep.state = status::ready;
  ep.refused = false;
  ep.failures = 0;
  ep.backoff = first_backoff;
  st.pool->connected(i);
  log::info("output {}: linked to {}", st.component, ep.text);
  reroute_parked(self);
  pump(self, i);
}

bool is_current(self_ptr self, std::size_t i, std::uint64_t attempt, status expected) {
  const auto& ep = self->state.endpoints[i];
  return ep.attempt == attempt && ep.state == expected;
}

// Connected: both sides check they speak the same log_block protocol before
// any block is sent (a block of another shape would arrive empty).
void greet(self_ptr self, std::size_t i, caf::actor remote) {
  auto& st = self->state;
  auto& ep = st.endpoints[i];
  ep.remote = remote;
  ep.state = status::greeting;
  self->monitor(remote);
  auto attempt = ep.attempt;
  self->request(remote, st.connect_timeout, hello_atom_v, st.version)
    .then(
      [=](std::uint32_t theirs) {
        if (!is_current(self, i, attempt, status::greeting))
          return;
        auto& st = self->state;
        if (theirs == st.version) {
          linked(self, i);
          return;
        }
        log::error("output {}: refused the link to {}: it speaks log_block protocol "
                   "version {}, this agent speaks {}; upgrade the older agent (trying "
                   "again in {} s)",
                   st.component, st.endpoints[i].text, theirs, st.version,
                   std::chrono::duration_cast<std::chrono::seconds>(st.disable_timeout).count());
        st.endpoints[i].refused = true;
        drop_link(self, i);
      },
      [=](caf::error& err) {
        if (!is_current(self, i, attempt, status::greeting))
          return;
        log::warn("output {}: {} did not answer the protocol check: {}",
                  self->state.component, self->state.endpoints[i].text,
                  self->system().render(err));
        drop_link(self, i);
      });
}

void connect(self_ptr self, std::size_t i) {
  auto& st = self->state;
  auto& ep = st.endpoints[i];
  ep.state = status::connecting;
  auto attempt = ep.attempt = ++st.attempts;
  log::debug("output {}: connecting to {}", st.component, ep.text);
  self->request(st.network, st.connect_timeout, connect_atom_v, ep.address.host,
                ep.address.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        if (!is_current(self, i, attempt, status::connecting))
          return;
        if (!ptr) {
          log::warn("output {}: {} has no caf input", self->state.component,
                    self->state.endpoints[i].text);
          drop_link(self, i);
          return;
        }
        greet(self, i, caf::actor_cast<caf::actor>(std::move(ptr)));
      },
      [=](caf::error& err) {
        if (!is_current(self, i, attempt, status::connecting))
          return;
        // Said once, then about once a minute while it lasts.
        auto& ep = self->state.endpoints[i];
        if (ep.failures++ % 30 == 0)
          log::warn("output {}: cannot link to {}: {} ({} attempts)", self->state.component,
                    ep.text, self->system().render(err), ep.failures);
        drop_link(self, i);
      });
}

// Removes the block (input, seq) from wherever it waits; false if unknown.
bool take_delivered(caf_link_state& st, std::uint32_t input, std::uint64_t seq,
                    std::size_t& endpoint) {
  auto is_it = [=](const linked_block& b) {
    return b.block().input == input && b.block().seq == seq;
  };
  auto take = [&](std::deque<linked_block>& blocks) {
    auto found = std::find_if(blocks.begin(), blocks.end(), is_it);
    if (found == blocks.end())
      return false;
    blocks.erase(found);
    return true;
  };
  for (endpoint = 0; endpoint < st.endpoints.size(); ++endpoint)
    if (take(st.endpoints[endpoint].in_flight) || take(st.endpoints[endpoint].queued))
      return true;
  return take(st.parked);
}

} // namespace

caf_link_actor::behavior_type caf_link(self_ptr self, component_context ctx,
                                       caf::io::middleman_actor network,
                                       std::uint32_t version) {
  auto& st = self->state;
  const auto& cfg = ctx.config;
  st.component = cfg.name;
  st.index = ctx.index;
  st.bus = ctx.bus;
  st.network = std::move(network);
  st.version = version;
  st.window = static_cast<std::size_t>(cfg.get_int("window"));
  st.connect_timeout = cfg.get_duration("connect_timeout");
  st.disable_timeout = cfg.get_duration("disable_timeout");
  auto texts = cfg.has("connect") ? config::string_list{cfg.get_string("connect")}
                                  : cfg.get_list("endpoints");
  for (const auto& text : texts) {
    std::string error;
    remote_ingress ep;
    ep.address = *parse_host_port(text, error); // checked by the schema
    ep.text = text;
    ep.backoff = first_backoff;
    st.endpoints.push_back(std::move(ep));
  }
  if (!uses_tls(cfg))
    log::warn("output {}: links to {} are plaintext (no `tls`)", st.component,
              texts.size() == 1 ? texts.front() : std::to_string(texts.size()) + " endpoints");
  st.pool.emplace(st.endpoints.size(), balance_of(cfg.get_string("balance")),
                  std::chrono::duration_cast<endpoint_pool::duration>(st.disable_timeout));
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    for (std::size_t i = 0; i < st.endpoints.size(); ++i)
      if (st.endpoints[i].remote && st.endpoints[i].remote.address() == msg.source) {
        log::warn("output {}: lost the link to {}: {}; {} blocks to send again",
                  st.component, st.endpoints[i].text, self->system().render(msg.reason),
                  st.endpoints[i].in_flight.size());
        drop_link(self, i);
      }
  });
  self->send(st.bus, attach_atom_v, output_atom_v, st.index);
  for (std::size_t i = 0; i < st.endpoints.size(); ++i)
    connect(self, i);
  return {
    [=](publish_atom, const log_block&) {
      // Keep the message the bus shares with every output and send it on as
      // it is: no copy of the bytes here.
      route(self, {self->current_mailbox_element()->move_content_to_message()});
    },
    [=](delivered_atom, std::uint32_t input, std::uint64_t seq) {
      auto& st = self->state;
      std::size_t endpoint = 0;
      if (!take_delivered(st, input, seq, endpoint))
        return;
      self->send(st.bus, ack_atom_v, st.index, input, seq);
      if (endpoint < st.endpoints.size())
        pump(self, endpoint);
    },
    [=](retry_atom, std::uint32_t i, std::uint64_t attempt) {
      if (i < self->state.endpoints.size() && is_current(self, i, attempt, status::idle))
        connect(self, i);
    },
  };
}

config::kind_schema caf_output_schema() {
  using namespace config;
  constexpr std::int64_t us_per_ms = 1000;
  constexpr std::int64_t us_per_s = 1000 * us_per_ms;
  kind_schema schema;
  schema.kind_role = role::output;
  schema.type = "caf";
  schema.summary = "Sends blocks to the `caf` inputs of other logpipe agents "
                   "(docs/caf-links.md); a block is acknowledged once every output of "
                   "the receiving agent has it, so nothing is lost when either side dies.";
  schema.keys = {
    make_key("connect", value_kind::string, "",
             "The receiving agent's `caf` input, \"host:port\" or \"[IPv6]:port\". "
             "Use either this or `endpoints`."),
    make_key("endpoints", value_kind::string_list, "[]",
             "Several receiving agents, 1 to 8 entries of \"host:port\"."),
    balance_key(),
    bounded(make_key("disable_timeout", value_kind::duration, "\"60s\"",
                     "How long an endpoint whose link failed is left out while another "
                     "endpoint is linked. With none linked, every endpoint is tried again "
                     "after 100 ms, doubling up to 2 s (or this, if shorter)."),
            100 * us_per_ms, 24 * 3600 * us_per_s),
    bounded(make_key("connect_timeout", value_kind::duration, "\"5s\"",
                     "How long connecting and the protocol check may take."),
            10 * us_per_ms, 600 * us_per_s),
    bounded(make_key("window", value_kind::integer, "64",
                     "Blocks sent to one endpoint and not yet acknowledged by it."),
            1, 65536),
  };
  for (auto& key : tls_keys())
    schema.keys.push_back(std::move(key));
  schema.check = [](const component_config& c) {
    auto problems = check_tls(c);
    bool has_list = !c.get_list("endpoints").empty();
    if (c.has("connect") && has_list) {
      problems.push_back({"connect", "conflicts with `endpoints`: set only one of them"});
      return problems;
    }
    if (!c.has("connect") && !has_list) {
      problems.push_back({"connect", "is missing: set `connect`, or `endpoints` for several "
                                     "receiving agents"});
      return problems;
    }
    auto endpoint_problems = has_list ? check_endpoints("endpoints", c.get_list("endpoints"))
                                      : check_endpoints("connect", {c.get_string("connect")});
    problems.insert(problems.end(), endpoint_problems.begin(), endpoint_problems.end());
    return problems;
  };
  return schema;
}

output_actor spawn_caf_output(caf::actor_system& sys, const component_context& ctx) {
  return sys.spawn(caf_link, ctx, link_network(sys, ctx.config), protocol_version);
}

} // namespace logpipe
