#include "actors/tcp/tcp_sink.hpp"

#include "actors/core/logging.hpp"
#include "actors/shared/file_name.hpp"
#include "actors/tcp/wire.hpp"
#include "config/units.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>
#include <set>
#include <system_error>
#include <thread>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace logpipe {

connected_socket::~connected_socket() {
  if (fd_ >= 0)
    ::close(fd_);
}

namespace {

using self_ptr = tcp_sink_broker*;
using steady = std::chrono::steady_clock;

constexpr std::size_t max_wire_name = 0xFFFF;
/// A peer's data is read (so that its close is seen) and thrown away.
constexpr std::uint32_t read_chunk = 4096;
/// How much longer than connect_timeout a connect attempt may take before
/// the sink gives up on it (name resolution does not honour the timeout).
constexpr auto connect_watchdog_grace = std::chrono::seconds(1);
/// Our send buffer, kept small (the kernel doubles it): what a failed peer
/// may not have read is this plus its receive buffer, and resend_window
/// must cover both to lose nothing.
constexpr int send_buffer = 256 * 1024;
/// Pieces handed to the kernel longer ago than this are taken as read by
/// the peer and not sent again after a failure.
constexpr auto resend_horizon = std::chrono::seconds(10);

// ---- connecting, on a thread of its own (no CAF here) ---------------------

// Waits for a non-blocking connect to finish; 0 or the error.
int await_connect(int fd, steady::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady::now());
    if (left.count() <= 0)
      return ETIMEDOUT;
    pollfd p{fd, POLLOUT, 0};
    auto n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno;
    if (n == 0)
      continue; // the deadline check above decides
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
      return errno;
    return error;
  }
}

// Resolves `address` and connects to the first of its addresses that
// answers before `deadline`. Returns a connected non-blocking socket, or -1
// with the reason in `error`.
int connect_until(const host_port& address, steady::time_point deadline,
                  std::string& error) {
  auto found = resolve(address, false, error);
  if (!found)
    return -1;
  error = "no address";
  for (auto* ai = found.get(); ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      ai->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    if (rc == EINPROGRESS)
      rc = await_connect(fd, deadline);
    if (rc == 0) {
      int one = 1;
      // Whole messages are written at once: no reason to hold a short tail.
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      // A peer that vanishes without a FIN is found eventually.
      ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof(send_buffer));
      return fd;
    }
    ::close(fd);
    error = rc == ETIMEDOUT ? "timed out" : std::strerror(rc);
    if (steady::now() >= deadline)
      break;
  }
  return -1;
}

// ---- the broker -------------------------------------------------------------

void reroute(self_ptr self, std::deque<block_piece> pieces);

std::optional<std::size_t> link_of(self_ptr self, caf::io::connection_handle hdl) {
  auto& links = self->state.links;
  for (std::size_t i = 0; i < links.size(); ++i)
    if (links[i].state == endpoint_link::status::connected && links[i].hdl == hdl)
      return i;
  return std::nullopt;
}

void ack(self_ptr self, const outgoing_block& block) {
  const auto& blk = block.block();
  self->send(self->state.bus, ack_atom_v, self->state.index, blk.input, blk.seq);
}

// The kernel took all of a piece: its block may be acked, and the piece is
// kept a while in case the peer fails before reading it.
void piece_done(self_ptr self, endpoint_link& link, block_piece piece) {
  if (!piece.resent && --piece.block->pieces_left == 0)
    ack(self, *piece.block);
  auto window = self->state.resend_window;
  if (window == 0)
    return;
  auto now = self->clock().now();
  link.handed_bytes += piece.size;
  link.handed.emplace_back(std::move(piece), now);
  while (!link.handed.empty()
         && (link.handed_bytes > window || now - link.handed.front().second > resend_horizon)) {
    link.handed_bytes -= link.handed.front().first.size;
    link.handed.pop_front();
  }
}

// Appends one piece as one wire message to a write buffer.
void encode(const block_piece& piece, std::vector<char>& buf) {
  const auto& blk = piece.block->block();
  auto need = wire::message_overhead + blk.file_name.size() + wire::block_overhead
              + piece.size;
  // Grow geometrically: an exact reserve per message would copy the whole
  // buffer for every small block.
  if (buf.capacity() - buf.size() < need)
    buf.reserve(std::max(buf.size() + need, 2 * buf.capacity()));
  // A piece is one block on the wire, even an oversize deflated one.
  wire::encode_message(blk.file_name, blk.bytes.data() + piece.offset, piece.size, buf,
                       std::max(piece.size, wire::max_block_1x));
}

// Moves queued pieces into the connection's write buffer while CAF holds
// less than high_water bytes for it.
void fill(self_ptr self, std::size_t i) {
  auto& st = self->state;
  auto& link = st.links[i];
  if (link.state != endpoint_link::status::connected)
    return;
  bool appended = false;
  while (!link.queued.empty() && link.appended - link.written < st.high_water) {
    auto piece = std::move(link.queued.front());
    link.queued.pop_front();
    auto& buf = self->wr_buf(link.hdl);
    auto before = buf.size();
    encode(piece, buf);
    link.appended += buf.size() - before;
    link.sending.emplace_back(std::move(piece), link.appended);
    appended = true;
  }
  if (appended)
    self->flush(link.hdl);
}

void start_connecting(self_ptr self, std::size_t i) {
  auto& st = self->state;
  auto& link = st.links[i];
  link.state = endpoint_link::status::connecting;
  link.attempt = ++st.attempts;
  auto index = static_cast<std::uint32_t>(i);
  auto attempt = link.attempt;
  auto timeout = st.connect_timeout;
  log::debug("output {}: connecting to {}", st.component, link.text);
  try {
    // Weak: a thread still connecting neither keeps the sink alive nor
    // touches it once it is gone (then the socket just closes).
    std::thread([sink = self->address(), index, attempt, address = link.address, timeout] {
      std::string error;
      int fd = connect_until(address, steady::now() + timeout, error);
      auto socket = fd >= 0 ? std::make_shared<connected_socket>(fd) : nullptr;
      auto hdl = caf::actor_cast<caf::actor>(sink);
      if (!hdl)
        return;
      if (socket)
        caf::anon_send(hdl, connected_atom_v, index, attempt, std::move(socket));
      else
        caf::anon_send(hdl, failed_atom_v, index, attempt, std::move(error));
    }).detach();
  } catch (const std::system_error& e) {
    // Reported like any failed attempt, from the mailbox: no re-entry here.
    self->send(self, failed_atom_v, index, attempt,
               std::string("cannot start a thread: ") + e.what());
    return;
  }
  self->delayed_send(self, timeout + connect_watchdog_grace, tick_atom_v, index, attempt);
}

// Pieces were routed to link i: connect, or write if connected.
void serve(self_ptr self, std::size_t i) {
  switch (self->state.links[i].state) {
    case endpoint_link::status::idle:
      start_connecting(self, i);
      break;
    case endpoint_link::status::connecting:
      break;
    case endpoint_link::status::connected:
      fill(self, i);
      break;
  }
}

void schedule_retry(self_ptr self) {
  auto& st = self->state;
  if (st.retry_scheduled)
    return;
  st.retry_scheduled = true;
  self->delayed_send(self, st.pool->next_backoff(), retry_atom_v);
}

// Routes pieces that are older than anything queued (rerouted after a
// failure, or parked): each goes in front of its new endpoint's queue, in
// their order.
void reroute(self_ptr self, std::deque<block_piece> pieces) {
  auto& st = self->state;
  auto now = self->clock().now();
  std::vector<std::deque<block_piece>> routed(st.links.size());
  std::deque<block_piece> unroutable;
  for (auto& piece : pieces) {
    if (auto target = st.pool->route(piece.block->stream, now))
      routed[*target].push_back(std::move(piece));
    else
      unroutable.push_back(std::move(piece));
  }
  for (std::size_t i = 0; i < routed.size(); ++i) {
    if (routed[i].empty())
      continue;
    auto& queue = st.links[i].queued;
    queue.insert(queue.begin(), std::make_move_iterator(routed[i].begin()),
                 std::make_move_iterator(routed[i].end()));
    serve(self, i);
  }
  if (!unroutable.empty()) {
    st.parked.insert(st.parked.begin(), std::make_move_iterator(unroutable.begin()),
                     std::make_move_iterator(unroutable.end()));
    schedule_retry(self);
  }
}

void reroute_parked(self_ptr self) {
  if (self->state.parked.empty())
    return;
  auto pieces = std::move(self->state.parked);
  self->state.parked.clear();
  reroute(self, std::move(pieces));
}

// Where a block is cut into pieces (offset, size). A deflated block is one
// zlib stream: cutting it would break it for the receiver. Whole lines stay
// whole where the block has them, so that a piece sent again after a failure
// never leaves half a line before its repetition.
std::vector<std::pair<std::size_t, std::size_t>> piece_bounds(const log_block& blk) {
  std::vector<std::pair<std::size_t, std::size_t>> bounds;
  const auto& bytes = blk.bytes;
  if ((blk.flags & block_flags::deflated) != 0) {
    bounds.emplace_back(0, bytes.size());
    return bounds;
  }
  for (std::size_t offset = 0; offset < bytes.size();) {
    auto size = std::min(wire::max_block_1x, bytes.size() - offset);
    if (offset + size < bytes.size() && (blk.flags & block_flags::line_aligned) != 0) {
      auto first = bytes.begin() + static_cast<std::ptrdiff_t>(offset);
      auto newline = std::find(std::make_reverse_iterator(first + static_cast<std::ptrdiff_t>(size)),
                               std::make_reverse_iterator(first), '\n');
      if (newline != std::make_reverse_iterator(first))
        size = static_cast<std::size_t>(newline.base() - first);
    }
    bounds.emplace_back(offset, size);
    offset += size;
  }
  return bounds;
}

// Pieces to send again, each block from its first byte: a receiver that got
// a block's first pieces before the failure gets all of it again elsewhere
// rather than a tail that starts mid-line.
std::deque<block_piece> from_block_starts(std::deque<block_piece> pieces) {
  std::deque<block_piece> result;
  std::set<const outgoing_block*> seen;
  for (auto& piece : pieces) {
    if (seen.insert(piece.block.get()).second)
      for (auto [offset, size] : piece_bounds(piece.block->block()))
        if (offset < piece.offset)
          result.push_back({piece.block, offset, size, true});
    result.push_back(std::move(piece));
  }
  return result;
}

// A connect failed or a connection was lost: the endpoint is left out, and
// every piece it had not completely handed to the kernel goes elsewhere.
void link_failed(self_ptr self, std::size_t i, const std::string& what) {
  auto& st = self->state;
  auto& link = st.links[i];
  if (link.state == endpoint_link::status::connected)
    self->close(link.hdl); // no-op if CAF already dropped it
  std::deque<block_piece> unsent;
  // The peer may not have read the latest pieces the kernel took: sent again
  // (at least once: the peer may also have written them already).
  auto now = self->clock().now();
  std::size_t resent = 0;
  for (auto& [piece, when] : link.handed) {
    if (now - when > resend_horizon)
      continue;
    piece.resent = true;
    unsent.push_back(std::move(piece));
    ++resent;
  }
  link.handed.clear();
  link.handed_bytes = 0;
  for (auto& entry : link.sending)
    unsent.push_back(std::move(entry.first));
  for (auto& piece : link.queued)
    unsent.push_back(std::move(piece));
  link.sending.clear();
  link.queued.clear();
  unsent = from_block_starts(std::move(unsent));
  link.state = endpoint_link::status::idle;
  link.hdl = caf::io::connection_handle{};
  link.appended = 0;
  link.written = 0;
  st.pool->failed(i, self->clock().now());
  log::warn("output {}: {}: {}; leaving it out for {} while another endpoint is "
            "healthy{}",
            st.component, link.text, what, config::format_duration(st.disable_timeout),
            unsent.empty() ? std::string()
                           : fmt::format("; sending {} pieces again ({} it may not have "
                                         "read, {} it had not taken)",
                                         unsent.size(), resent, unsent.size() - resent));
  reroute(self, std::move(unsent));
}

bool is_current_attempt(self_ptr self, std::uint32_t i, std::uint64_t attempt) {
  auto& links = self->state.links;
  return i < links.size() && links[i].state == endpoint_link::status::connecting
         && links[i].attempt == attempt;
}

void connected(self_ptr self, std::size_t i, connected_socket& socket) {
  auto& st = self->state;
  auto& link = st.links[i];
  link.hdl = self->add_scribe(socket.release());
  // Read (and drop) whatever the peer sends, so that its close is seen.
  self->configure_read(link.hdl, caf::io::receive_policy::at_most(read_chunk));
  self->ack_writes(link.hdl, true);
  link.state = endpoint_link::status::connected;
  link.appended = 0;
  link.written = 0;
  st.pool->connected(i);
  log::info("output {}: connected to {}", st.component, link.text);
  fill(self, i);
}

// The kernel took `written` more bytes of a connection: pieces that are
// now completely handed over are done.
void transferred(self_ptr self, const caf::io::data_transferred_msg& msg) {
  auto i = link_of(self, msg.handle);
  if (!i)
    return;
  auto& link = self->state.links[*i];
  link.written += msg.written;
  while (!link.sending.empty() && link.sending.front().second <= link.written) {
    auto piece = std::move(link.sending.front().first);
    link.sending.pop_front();
    piece_done(self, link, std::move(piece));
  }
  fill(self, *i);
}

void take_block(self_ptr self, caf::message msg) {
  auto& st = self->state;
  auto block = std::make_shared<outgoing_block>();
  block->msg = std::move(msg);
  const auto& blk = block->block();
  if (blk.bytes.empty()) {
    ack(self, *block);
    return;
  }
  if (auto problem = file_name_problem(blk.file_name, max_wire_name); !problem.empty()) {
    // Receivers refuse such a name by closing the connection: sent, it would
    // fail every endpoint in turn, forever.
    log::error("output {}: a block of \"{}\" from {} cannot be sent: the name {}; "
               "dropped",
               st.component, printable_name(blk.file_name), blk.origin, problem);
    ack(self, *block);
    return;
  }
  block->stream = blk.origin;
  block->stream += '\0';
  block->stream += blk.file_name;
  if ((blk.flags & block_flags::deflated) != 0 && blk.bytes.size() > wire::max_block_1x)
    log::error("output {}: a deflated block of {} bytes of {} is longer than a 1.x "
               "receiver accepts ({}); sent as one block anyway",
               st.component, blk.bytes.size(), blk.file_name, wire::max_block_1x);
  std::deque<block_piece> pieces;
  for (auto [offset, size] : piece_bounds(blk))
    pieces.push_back({block, offset, size});
  block->pieces_left = pieces.size();
  // Older pieces waiting for an endpoint go first.
  reroute_parked(self);
  if (auto target = st.pool->route(block->stream, self->clock().now())) {
    auto& queue = st.links[*target].queued;
    queue.insert(queue.end(), std::make_move_iterator(pieces.begin()),
                 std::make_move_iterator(pieces.end()));
    serve(self, *target);
  } else {
    st.parked.insert(st.parked.end(), std::make_move_iterator(pieces.begin()),
                     std::make_move_iterator(pieces.end()));
    schedule_retry(self);
  }
}

} // namespace

caf::behavior tcp_sink(tcp_sink_broker* self, component_context ctx) {
  auto& st = self->state;
  const auto& cfg = ctx.config;
  st.component = cfg.name;
  st.index = ctx.index;
  st.bus = ctx.bus;
  st.connect_timeout = cfg.get_duration("connect_timeout");
  st.disable_timeout = cfg.get_duration("disable_timeout");
  st.high_water = cfg.get_size("high_water");
  st.resend_window = cfg.get_size("resend_window");
  for (const auto& text : cfg.get_list("endpoints")) {
    std::string error;
    auto address = parse_host_port(text, error);
    if (!address) { // the config check rejects these: only a bug gets here
      log::error("output {}: endpoint \"{}\": {}", st.component, text, error);
      self->quit(caf::make_error(caf::sec::invalid_argument));
      return {};
    }
    endpoint_link link;
    link.address = *address;
    link.text = text;
    st.links.push_back(std::move(link));
  }
  if (st.links.empty()) {
    log::error("output {}: no endpoints", st.component);
    self->quit(caf::make_error(caf::sec::invalid_argument));
    return {};
  }
  st.pool.emplace(st.links.size(), balance_of(cfg.get_string("balance")),
                  std::chrono::duration_cast<endpoint_pool::duration>(st.disable_timeout));
  self->send(st.bus, attach_atom_v, output_atom_v, st.index);
  return {
    [=](publish_atom, const log_block&) {
      // Keep the message itself, which the bus shares with every output:
      // its bytes are copied only into a write buffer.
      take_block(self, self->current_mailbox_element()->move_content_to_message());
    },
    [=](connected_atom, std::uint32_t i, std::uint64_t attempt,
        const connected_socket_ptr& socket) {
      // A stale attempt's socket closes with the message.
      if (socket && is_current_attempt(self, i, attempt))
        connected(self, i, *socket);
    },
    [=](failed_atom, std::uint32_t i, std::uint64_t attempt, const std::string& why) {
      if (is_current_attempt(self, i, attempt))
        link_failed(self, i, "cannot connect: " + why);
    },
    [=](tick_atom, std::uint32_t i, std::uint64_t attempt) {
      if (is_current_attempt(self, i, attempt))
        link_failed(self, i, "cannot connect: no answer within connect_timeout "
                             "(is name resolution slow?)");
    },
    [=](retry_atom) {
      auto& st = self->state;
      st.retry_scheduled = false;
      if (st.parked.empty())
        return;
      if (!st.pool->any_healthy(self->clock().now())) {
        auto i = st.pool->retry();
        log::info("output {}: no endpoint is reachable; trying {} again", st.component,
                  st.links[i].text);
      }
      reroute_parked(self);
    },
    [=](const caf::io::data_transferred_msg& msg) { transferred(self, msg); },
    [=](const caf::io::connection_closed_msg& msg) {
      if (auto i = link_of(self, msg.handle))
        link_failed(self, *i, "connection lost");
    },
    [=](const caf::io::new_data_msg&) {
      // A 1.x receiver sends nothing; whatever a peer sends is ignored.
    },
  };
}

config::kind_schema tcp_sink_schema() {
  using namespace config;
  constexpr std::int64_t us_per_ms = 1000;
  constexpr std::int64_t us_per_s = 1000 * us_per_ms;
  kind_schema schema;
  schema.kind_role = role::output;
  schema.type = "tcp";
  schema.summary = "Sends blocks to logpipe 1.x compatible receivers (the 1.x wire "
                   "protocol, docs/tcp-output.md): round-robin or failover over up to 8 "
                   "endpoints; a block is acknowledged once the kernel has all its bytes.";
  schema.keys = {
    required(make_key("endpoints", value_kind::string_list, "",
                      "Receivers, 1 to 8 entries of \"host:port\" or \"[IPv6]:port\".")),
    balance_key(),
    bounded(make_key("disable_timeout", value_kind::duration, "\"60s\"",
                     "How long an endpoint that failed is left out while another endpoint "
                     "is healthy. With none healthy, the endpoints are retried after "
                     "100 ms, doubling up to this."),
            100 * us_per_ms, 24 * 3600 * us_per_s),
    bounded(make_key("connect_timeout", value_kind::duration, "\"5s\"",
                     "How long a connection attempt (name resolution included) may take."),
            10 * us_per_ms, 600 * us_per_s),
    bounded(make_key("high_water", value_kind::size, "\"256KiB\"",
                     "Bytes buffered for one connection above which the output stops "
                     "writing into it until the kernel has taken more."),
            1024, std::int64_t{1} << 30),
    bounded(make_key("resend_window", value_kind::size, "\"1MiB\"",
                     "The 1.x protocol has no acknowledgements: when a connection fails, "
                     "the latest blocks the kernel took (up to this many bytes, handed "
                     "over within the last 10 s) are sent again to the next endpoint, "
                     "since the peer may not have read them. Covers a failed logpipe "
                     "receiver's buffers; those blocks may arrive twice. 0: never."),
            0, std::int64_t{1} << 30),
  };
  schema.check = [](const component_config& c) {
    return check_endpoints("endpoints", c.get_list("endpoints"));
  };
  return schema;
}

output_actor spawn_tcp_sink(caf::actor_system& sys, const component_context& ctx) {
  return caf::actor_cast<output_actor>(sys.middleman().spawn_broker(tcp_sink, ctx));
}

} // namespace logpipe
