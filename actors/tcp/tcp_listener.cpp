#include "actors/tcp/tcp_listener.hpp"

#include "actors/core/logging.hpp"
#include "actors/tcp/tcp_session.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <cerrno>
#include <cstring>
#include <memory>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

namespace logpipe {

namespace {

/// Each connection's receive buffer, kept small (the kernel doubles it): a
/// sender re-sends what a failed receiver may not have read (the tcp
/// output's resend_window), which must cover this.
constexpr int receive_buffer = 256 * 1024;

// A non-blocking listening socket on `where`, or -1 with the reason in
// `error`. Made here rather than by CAF to set the receive buffer, which
// accepted connections inherit.
int open_listening_socket(const host_port& where, std::string& error) {
  auto found = resolve(where, true, error);
  if (!found)
    return -1;
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    found->ai_protocol);
  if (fd < 0) {
    error = std::strerror(errno);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    error = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// A stop is answered once every block taken off the wire is published and
// every session has ended.
void answer_stop_when_done(tcp_listener_broker* self) {
  auto& st = self->state;
  if (st.stopping && st.waiting.empty() && st.sessions.empty() && st.stop_promise.pending())
    st.stop_promise.deliver(true);
}

// Publishes waiting blocks while the window has room.
void publish_waiting(tcp_listener_broker* self) {
  auto& st = self->state;
  while (st.credit.available() && !st.waiting.empty()) {
    auto& [blk, session] = st.waiting.front();
    blk.seq = st.credit.take();
    self->send(st.bus, publish_atom_v, std::move(blk));
    // Anonymous, as every message to a session: a session that ended
    // without reading its mailbox (its connection closed) is never freed by
    // CAF 0.17, and a sender reference in there would keep this listener
    // alive with it.
    if (auto hdl = caf::actor_cast<tcp_session_actor>(session))
      caf::anon_send(hdl, published_atom_v);
    st.waiting.pop_front();
  }
  answer_stop_when_done(self);
}

bool allowed(const tcp_listener_state& st, const std::string& peer) {
  if (st.allow.empty())
    return true;
  for (const auto& net : st.allow)
    if (contains(net, peer))
      return true;
  return false;
}

void accept(tcp_listener_broker* self, caf::io::connection_handle hdl) {
  auto& st = self->state;
  auto peer = self->remote_addr(hdl) + ":" + std::to_string(self->remote_port(hdl));
  if (st.stopping) {
    self->close(hdl);
    return;
  }
  if (!allowed(st, self->remote_addr(hdl))) {
    log::warn("input {}: refused {}: not in `allow`", st.component, peer);
    self->close(hdl);
    return;
  }
  if (st.sessions.size() >= st.max_connections) {
    log::warn("input {}: refused {}: max_connections ({}) reached", st.component, peer,
              st.max_connections);
    self->close(hdl);
    return;
  }
  auto session = self->fork(tcp_session, hdl, self->address(), st.index, st.limits,
                            st.component);
  // Sessions end with their listener; their normal ends are only counted.
  self->link_to(session);
  self->monitor(session);
  st.sessions.insert(session.address());
  log::info("input {}: {} connected ({} connections)", st.component, peer,
            st.sessions.size());
}

} // namespace

caf::behavior tcp_listener(tcp_listener_broker* self, component_context ctx) {
  auto& st = self->state;
  const auto& cfg = ctx.config;
  st.component = cfg.name;
  st.index = ctx.index;
  st.bus = ctx.bus;
  st.listen = cfg.get_string("listen");
  st.max_connections = static_cast<std::size_t>(cfg.get_int("max_connections"));
  st.limits.max_block = cfg.get_size("max_block");
  st.limits.max_name = static_cast<std::size_t>(cfg.get_int("max_name"));
  st.credit = credit_window(static_cast<std::uint64_t>(cfg.get_int("window")));
  std::string error;
  for (const auto& text : cfg.get_list("allow"))
    if (auto net = parse_network(text, error))
      st.allow.push_back(*net);
  // The schema's check has validated `listen` and `allow`.
  auto where = parse_host_port(st.listen, error);
  int fd = where ? open_listening_socket(*where, error) : -1;
  if (fd < 0) {
    log::error("input {}: cannot listen on {}: {}", st.component, st.listen, error);
    self->quit(caf::make_error(caf::sec::cannot_open_port));
    return {};
  }
  st.acceptor = self->add_doorman(fd);
  log::info("input {}: listening on {}", st.component, st.listen);
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto& st = self->state;
    st.sessions.erase(msg.source);
    answer_stop_when_done(self);
  });
  self->request(st.bus, caf::infinite, attach_atom_v, input_atom_v, st.index)
    .then([=](std::uint64_t first_seq) {
      self->state.credit.open(first_seq);
      publish_waiting(self);
    });
  return {
    [=](const caf::io::new_connection_msg& msg) { accept(self, msg.handle); },
    [=](const caf::io::acceptor_closed_msg&) {
      if (!self->state.stopping) {
        log::error("input {}: the listening socket closed", self->state.component);
        self->quit(caf::make_error(caf::sec::runtime_error));
      }
    },
    [=](publish_atom, log_block& blk) {
      auto session = caf::actor_cast<caf::actor_addr>(self->current_sender());
      self->state.waiting.emplace_back(std::move(blk), std::move(session));
      publish_waiting(self);
    },
    [=](ack_atom, std::uint64_t seq) {
      if (self->state.credit.ack(seq))
        publish_waiting(self);
    },
    [=](stop_atom) -> caf::result<bool> {
      auto& st = self->state;
      st.stopping = true;
      self->close(st.acceptor);
      for (const auto& addr : st.sessions)
        caf::anon_send(caf::actor_cast<tcp_session_actor>(addr), stop_atom_v);
      // Blocks already taken off the wire are still published.
      st.stop_promise = self->make_response_promise();
      answer_stop_when_done(self);
      return st.stop_promise;
    },
  };
}

config::kind_schema tcp_input_schema() {
  using namespace config;
  kind_schema schema;
  schema.type = "tcp";
  schema.summary = "Receives logpipe 1.x wire connections (docs/wire-protocol.md) from "
                   "collectors; each block carries its file name and, as origin, the "
                   "sender's IP address.";
  schema.keys = {
    required(make_key("listen", value_kind::string, "",
                      "Address and port to listen on: \"0.0.0.0:5151\", "
                      "\"127.0.0.1:5151\", \"[::1]:5151\".")),
    make_key("allow", value_kind::string_list, "[]",
             "Client networks allowed to connect, in CIDR form "
             "([\"10.0.0.0/8\", \"127.0.0.1/32\"]); others are refused and logged. "
             "Empty: every client."),
    bounded(make_key("max_connections", value_kind::integer, "256",
                     "Connections at once; more are refused and logged."),
            1, 65536),
    bounded(make_key("max_block", value_kind::size, "102399",
                     "Longest block accepted (1.x senders send at most 102,399 bytes); "
                     "a longer one closes the connection."),
            1, 64 << 20),
    bounded(make_key("max_name", value_kind::integer, "255",
                     "Longest file name accepted; a longer one closes the connection."),
            1, 255),
    bounded(make_key("window", value_kind::integer, "8",
                     "Blocks in flight for the whole input (all its connections "
                     "together); while it is full, connections stop being read."),
            1, 65536),
  };
  schema.check = [](const component_config& c) {
    std::vector<key_problem> problems;
    std::string error;
    if (!parse_host_port(c.get_string("listen"), error))
      problems.push_back({"listen", error});
    for (const auto& text : c.get_list("allow"))
      if (!parse_network(text, error))
        problems.push_back({"allow", "\"" + text + "\": " + error});
    return problems;
  };
  return schema;
}

input_actor spawn_tcp_input(caf::actor_system& sys, const component_context& ctx) {
  return caf::actor_cast<input_actor>(sys.middleman().spawn_broker(tcp_listener, ctx));
}

} // namespace logpipe
