#include "actors/exec/exec_input.hpp"

#include "actors/core/logging.hpp"
#include "actors/shared/source_id.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace logpipe {

namespace {

using self_ptr = exec_input_actor::stateful_pointer<exec_input_state>;

// A command that ran at least this long before exiting is restarted after the
// configured delay again, not after the doubled one.
constexpr auto stable_run = std::chrono::seconds(10);
constexpr auto max_restart_delay = std::chrono::seconds(60);
constexpr auto reap_interval = std::chrono::milliseconds(50);

void start_command(self_ptr self);

void schedule_restart(self_ptr self) {
  auto& st = self->state;
  self->delayed_send(self, st.next_delay, restart_atom_v);
  st.next_delay = std::min<std::chrono::microseconds>(st.next_delay * 2,
                                                       max_restart_delay);
}

void try_reap(self_ptr self) {
  if (auto how = self->state.child.try_reap())
    log::notice("input {}: command {}", self->state.component, *how);
  else if (self->state.child.running())
    self->delayed_send(self, reap_interval, tick_atom_v);
}

void command_ended(self_ptr self) {
  auto& st = self->state;
  st.watcher.reset();
  st.child.close_stdout();
  try_reap(self);
  if (st.stopped)
    return;
  auto ran = std::chrono::steady_clock::now() - st.started_at;
  if (ran >= stable_run)
    st.next_delay = st.restart_delay;
  log::notice("input {}: command closed its output; running it again in {} ms",
              self->state.component,
              std::chrono::duration_cast<std::chrono::milliseconds>(st.next_delay).count());
  schedule_restart(self);
}

// Reads and publishes while there is data and credit.
void pump(self_ptr self) {
  auto& st = self->state;
  st.readable = false;
  while (st.child.stdout_fd() >= 0) {
    if (!st.credit.available()) {
      st.readable = true;
      return;
    }
    // Read into the reused buffer: a block holds only the bytes it carries.
    auto n = ::read(st.child.stdout_fd(), st.read_buffer.data(), st.read_buffer.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      st.watcher->arm();
      return;
    }
    if (n <= 0) {
      if (n < 0)
        log::error("input {}: reading the command's output: {}", self->state.component,
                   std::strerror(errno));
      command_ended(self);
      return;
    }
    log_block blk;
    blk.bytes.assign(st.read_buffer.data(), st.read_buffer.data() + n);
    blk.origin = st.origin;
    blk.file_name = st.file_name;
    blk.offset = st.offset;
    blk.source_id = st.source_id;
    blk.input = st.index;
    blk.seq = st.credit.take();
    st.offset += static_cast<std::uint64_t>(n);
    self->send(st.bus, publish_atom_v, std::move(blk));
  }
}

void start_command(self_ptr self) {
  auto& st = self->state;
  if (st.stopped)
    return;
  try {
    st.child = child_process::start(st.command);
  } catch (const std::exception& e) {
    log::error("input {}: cannot run `{}`: {}", self->state.component, st.command, e.what());
    schedule_restart(self);
    return;
  }
  st.started_at = std::chrono::steady_clock::now();
  st.source_id = new_source_id();
  log::info("input {}: running `{}` (pid {})", self->state.component, st.command,
            st.child.pid());
  st.watcher = std::make_unique<fd_watcher>(st.child.stdout_fd(), self->address(),
                                            caf::make_message(readable_atom_v));
}

} // namespace

exec_input_actor::behavior_type exec_input(self_ptr self, component_context ctx) {
  auto& st = self->state;
  const auto& cfg = ctx.config;
  st.component = cfg.name;
  st.command = cfg.get_string("cmd");
  st.file_name = cfg.get_string("output_filename");
  st.origin = ctx.agent_name;
  st.index = ctx.index;
  st.bus = ctx.bus;
  st.read_buffer.resize(cfg.get_size("block_size"));
  st.credit = credit_window(static_cast<std::uint64_t>(cfg.get_int("window")));
  st.restart_delay = cfg.get_duration("restart_delay");
  st.next_delay = st.restart_delay;
  self->request(st.bus, caf::infinite, attach_atom_v, input_atom_v, st.index)
    .then([=](std::uint64_t first_seq) {
      self->state.credit.open(first_seq);
      start_command(self);
    });
  return {
    [=](ack_atom, std::uint64_t seq) {
      if (self->state.credit.ack(seq) && self->state.readable && !self->state.stopped)
        pump(self);
    },
    [=](stop_atom) {
      auto& st = self->state;
      st.stopped = true;
      st.watcher.reset();
      st.child.terminate();
      return true; // it publishes only from its own handlers
    },
    [=](readable_atom) {
      if (!self->state.stopped)
        pump(self);
    },
    [=](restart_atom) { start_command(self); },
    [=](tick_atom) { try_reap(self); },
  };
}

config::kind_schema exec_input_schema() {
  using namespace config;
  constexpr std::int64_t us_per_ms = 1000;
  kind_schema schema;
  schema.type = "exec";
  schema.summary = "Runs a shell command (`/bin/sh -c`) and ships its standard "
                   "output; runs it again, with backoff, whenever it exits.";
  schema.keys = {
    required(make_key("cmd", value_kind::string, "",
                      "The command line, run through /bin/sh -c.")),
    make_key("output_filename", value_kind::string, "\"exec.log\"",
             "The file name the blocks carry (the name outputs write them under)."),
    bounded(make_key("block_size", value_kind::size, "\"64KiB\"",
                     "Largest block read from the command at once."),
            1, 64 << 20),
    bounded(make_key("window", value_kind::integer, "16",
                     "Blocks in flight (published, not yet acknowledged by every output)."),
            1, 65536),
    bounded(make_key("restart_delay", value_kind::duration, "\"1s\"",
                     "Wait before running the command again after it exits; doubles "
                     "while it keeps exiting within 10 s, up to 60 s."),
            us_per_ms, 3600 * 1000 * us_per_ms),
  };
  return schema;
}

input_actor spawn_exec_input(caf::actor_system& sys, const component_context& ctx) {
  return sys.spawn(exec_input, ctx);
}

} // namespace logpipe
