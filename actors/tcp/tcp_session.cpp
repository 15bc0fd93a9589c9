#include "actors/tcp/tcp_session.hpp"

#include "actors/core/logging.hpp"
#include "actors/shared/network_address.hpp"

#include <caf/io/receive_policy.hpp>
#include <caf/io/system_messages.hpp>

#include <vector>

namespace logpipe {

namespace {

/// Read in large pieces and parse frames ourselves (CAF_NOTES: as fast as
/// blocking sockets on loopback).
constexpr std::size_t read_size = 256 * 1024;

/// A session stops reading while this many of its blocks wait for the bus.
constexpr std::size_t max_pending_blocks = 8;

// Allows one more read; the multiplexer stops reading after it unless the
// next handler allows another (activity tokens).
void read_on(tcp_session_broker* self, caf::io::connection_handle hdl) {
  auto& st = self->state;
  if (st.pending >= max_pending_blocks) {
    st.paused = true;
    return;
  }
  st.paused = false;
  self->trigger(hdl, 1);
}

void hand_over(tcp_session_broker* self, std::vector<wire::block>& blocks) {
  auto& st = self->state;
  for (auto& wb : blocks) {
    log_block blk;
    blk.origin = st.peer;
    blk.file_name = std::move(wb.file_name);
    blk.offset = st.offset;
    blk.input = st.index;
    blk.bytes = std::move(wb.bytes);
    st.offset += blk.bytes.size();
    ++st.pending;
    self->send(caf::actor_cast<tcp_listener_actor>(st.listener), publish_atom_v,
               std::move(blk));
  }
  blocks.clear();
}

} // namespace

caf::behavior tcp_session(tcp_session_broker* self, caf::io::connection_handle hdl,
                          caf::actor_addr listener, std::uint32_t index,
                          wire::decoder_limits limits, std::string component) {
  auto& st = self->state;
  st.peer = unmapped_address(self->remote_addr(hdl));
  st.label = "input " + component + ": " + st.peer + ":"
             + std::to_string(self->remote_port(hdl));
  st.index = index;
  st.listener = std::move(listener);
  st.decoder = wire::decoder(limits);
  self->configure_read(hdl, caf::io::receive_policy::at_most(read_size));
  self->trigger(hdl, 1);
  return {
    [=](const caf::io::new_data_msg& msg) {
      auto& st = self->state;
      if (!st.decoder.error().empty())
        return; // closing
      std::vector<wire::block> blocks;
      bool ok = st.decoder.feed(msg.buf.data(), msg.buf.size(), blocks);
      // Whole blocks before an error are kept.
      hand_over(self, blocks);
      if (!ok) {
        log::warn("{}: closing the connection: {}", st.label, st.decoder.error());
        // Ended from the mailbox, not from inside this I/O callback: CAF
        // still uses the connection's servant after the handler returns, and
        // a broker that quits here is never freed.
        self->send(self, stop_atom_v);
        return;
      }
      read_on(self, hdl);
    },
    [=](const caf::io::connection_passivated_msg&) {
      // Expected: reading resumes once the pending blocks are published.
    },
    [=](published_atom) {
      auto& st = self->state;
      if (st.pending > 0)
        --st.pending;
      if (st.paused)
        read_on(self, hdl);
    },
    [=](const caf::io::connection_closed_msg&) {
      auto& st = self->state;
      if (st.decoder.inside_block())
        log::warn("{}: connection closed inside a block; its {} bytes received so far "
                  "are dropped",
                  st.label, st.decoder.buffered());
      else
        log::info("{}: connection closed", st.label);
      self->quit();
    },
    [=](stop_atom) {
      self->close(hdl);
      self->quit();
    },
  };
}

} // namespace logpipe
