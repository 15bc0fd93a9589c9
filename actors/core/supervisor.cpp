#include "actors/core/supervisor.hpp"

#include "actors/core/bus.hpp"
#include "actors/core/logging.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <numeric>

namespace logpipe {

namespace {

using self_ptr = supervisor_impl_actor::stateful_pointer<supervisor_state>;

constexpr auto drain_poll = std::chrono::milliseconds(20);

std::string role_label(const component_slot& slot) {
  return slot.config.name + " (" + config::to_string(slot.config.kind_role) + ")";
}

void spawn_component(self_ptr self, std::uint32_t slot_index, bool first_start) {
  auto& st = self->state;
  auto& slot = st.slots[slot_index];
  component_context ctx;
  ctx.config = slot.config;
  ctx.index = static_cast<std::uint32_t>(slot.config.index);
  ctx.bus = st.bus;
  ctx.agent_name = st.config.agent.name;
  ctx.data_dir = st.config.agent.data_dir;
  if (first_start)
    ctx.start_once = st.start_once;
  auto& sys = self->system();
  if (slot.config.kind_role == config::role::input) {
    slot.input = st.registry->input(slot.config.type)(sys, ctx);
    slot.addr = slot.input.address();
    self->monitor(slot.input);
  } else {
    slot.output = st.registry->output(slot.config.type)(sys, ctx);
    slot.addr = slot.output.address();
    self->monitor(slot.output);
  }
  slot.spawned_at = self->clock().now();
  slot.state = slot.failing ? "failed" : "running";
}

double seconds_of(caf::timespan t) {
  return std::chrono::duration<double>(t).count();
}

// A failed component that has run a whole restart window is healthy again.
void note_recovery(self_ptr self, component_slot& slot) {
  if (slot.failing && slot.addr
      && self->clock().now() - slot.spawned_at >= self->state.config.agent.restart_window) {
    slot.failing = false;
    slot.recent.clear();
    slot.state = "running";
    log::notice("{} has run for {:g} s without crashing; no longer counted as failed",
                role_label(slot), seconds_of(self->state.config.agent.restart_window));
  }
}

bool is_drop_output(const component_slot& slot) {
  return slot.config.kind_role == config::role::output
         && slot.config.get_string("on_full") == "drop";
}

void component_down(self_ptr self, component_slot& slot, std::uint32_t slot_index,
                    const caf::error& reason) {
  auto& st = self->state;
  note_recovery(self, slot);
  slot.input = nullptr;
  slot.output = nullptr;
  slot.addr = nullptr;
  if (st.stopping)
    return;
  if (!reason || reason == caf::exit_reason::normal) {
    log::notice("{} finished", role_label(slot));
    slot.state = "finished";
    return;
  }
  auto now = self->clock().now();
  const auto& agent = st.config.agent;
  while (!slot.recent.empty() && now - slot.recent.front() >= agent.restart_window)
    slot.recent.pop_front();
  if (!slot.failing && slot.recent.size() >= agent.restart_limit) {
    if (is_drop_output(slot)) {
      // Its acks never held anything back: what it misses is counted as dropped.
      log::error("{} crashed ({}); giving up on it after {} restarts within {:g} s "
                 "(on_full = \"drop\": blocks for it are dropped from now on)",
                 role_label(slot), self->system().render(reason), slot.recent.size(),
                 seconds_of(agent.restart_window));
      slot.state = "given up";
      self->send(st.bus, detach_atom_v, output_atom_v,
                 static_cast<std::uint32_t>(slot.config.index));
      return;
    }
    slot.failing = true;
  }
  if (slot.failing) {
    slot.recent.push_back(now);
    ++slot.restarts;
    log::error("{} crashed ({}); failed ({} restarts within {:g} s): retrying it every {:g} s "
               "for as long as the agent runs{}",
               role_label(slot), self->system().render(reason), slot.recent.size(),
               seconds_of(agent.restart_window), seconds_of(agent.restart_backoff_max),
               slot.config.kind_role == config::role::output
                 ? "; its blocks wait and hold back the inputs"
                 : "");
    slot.state = "failed";
    self->delayed_send(self, agent.restart_backoff_max, restart_atom_v, slot_index);
    return;
  }
  slot.recent.push_back(now);
  ++slot.restarts;
  // Doubles with each restart inside the window, from min up to max.
  auto delay = agent.restart_backoff_min;
  for (std::size_t i = 1; i < slot.recent.size() && delay < agent.restart_backoff_max; ++i)
    delay *= 2;
  delay = std::min(delay, agent.restart_backoff_max);
  log::warn("{} crashed ({}); restarting it in {} ms", role_label(slot),
            self->system().render(reason),
            std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
  slot.state = "restarting";
  self->delayed_send(self, delay, restart_atom_v, slot_index);
}

void input_stopped(self_ptr self) {
  if (--self->state.inputs_stopping == 0)
    self->send(self, tick_atom_v);
}

} // namespace

supervisor_state::~supervisor_state() {
  for (auto& slot : slots) {
    if (slot.input)
      caf::anon_send_exit(slot.input, caf::exit_reason::user_shutdown);
    if (slot.output)
      caf::anon_send_exit(slot.output, caf::exit_reason::user_shutdown);
  }
  if (bus)
    caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
}

supervisor_impl_actor::behavior_type
supervisor(self_ptr self, config::agent_config config,
           const component_registry* registry,
           std::map<std::string, std::string> start_once) {
  auto& st = self->state;
  st.config = std::move(config);
  st.registry = registry;
  st.start_once = std::move(start_once);
  std::vector<output_policy> policies;
  for (const auto& out : st.config.outputs)
    policies.push_back(output_policy{out.name, out.get_string("on_full") == "drop",
                                     static_cast<std::uint64_t>(out.get_int("queue_limit"))});
  st.bus = self->spawn(bus, std::move(policies));
  self->monitor(st.bus);
  // Outputs first: blocks published before an output attaches wait for it.
  for (const auto& out : st.config.outputs)
    st.slots.push_back(component_slot{out, {}, {}, {}, "running", 0, {}, false, {}});
  for (const auto& in : st.config.inputs)
    st.slots.push_back(component_slot{in, {}, {}, {}, "running", 0, {}, false, {}});
  for (std::uint32_t i = 0; i < st.slots.size(); ++i)
    spawn_component(self, i, true);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source == st.bus.address()) {
      if (!st.stopping) {
        log::error("the bus stopped ({}); stopping the agent",
                   self->system().render(msg.reason));
        // Not a normal exit: the worker fails and the monitor starts a new one.
        self->quit(msg.reason ? msg.reason : caf::make_error(caf::sec::runtime_error));
      }
      return;
    }
    for (std::uint32_t i = 0; i < st.slots.size(); ++i)
      if (st.slots[i].addr == msg.source) {
        component_down(self, st.slots[i], i, msg.reason);
        return;
      }
  });
  return {
    [=](stop_atom) -> caf::result<bool> {
      auto& st = self->state;
      if (st.stopping)
        return caf::make_error(caf::sec::runtime_error, "already stopping");
      st.stopping = true;
      log::notice("stopping: inputs stop, in-flight blocks drain for up to {} ms",
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                    st.config.agent.shutdown_grace).count());
      st.stop_deadline = self->clock().now() + st.config.agent.shutdown_grace;
      st.stop_promise = self->make_response_promise<bool>();
      // Drain once every input has said it publishes nothing more (or did not
      // answer within the grace period).
      st.inputs_stopping = 0;
      for (auto& slot : st.slots)
        if (slot.input) {
          ++st.inputs_stopping;
          self->request(slot.input, st.config.agent.shutdown_grace, stop_atom_v)
            .then([=](bool) { input_stopped(self); },
                  [=](const caf::error&) { input_stopped(self); });
        }
      if (st.inputs_stopping == 0)
        self->send(self, tick_atom_v);
      return st.stop_promise;
    },
    [=](tick_atom) {
      self->request(self->state.bus, std::chrono::seconds(1), status_atom_v)
        .then(
          [=](const bus_status& status) {
            auto& st = self->state;
            auto in_flight = std::accumulate(status.in_flight.begin(),
                                             status.in_flight.end(), std::uint64_t{0});
            bool late = self->clock().now() >= st.stop_deadline;
            if (in_flight == 0 || late) {
              if (in_flight > 0)
                log::warn("shutdown grace period over with {} blocks in flight",
                          in_flight);
              st.stop_promise.deliver(in_flight == 0);
              self->quit();
              return;
            }
            self->delayed_send(self, drain_poll, tick_atom_v);
          },
          [=](const caf::error&) {
            self->state.stop_promise.deliver(false);
            self->quit();
          });
    },
    [=](restart_atom, std::uint32_t slot_index) {
      auto& st = self->state;
      if (st.stopping || slot_index >= st.slots.size() || st.slots[slot_index].addr)
        return;
      const auto& slot_state = st.slots[slot_index].state;
      if (slot_state != "restarting" && slot_state != "failed")
        return;
      log::notice("restarting {}", role_label(st.slots[slot_index]));
      spawn_component(self, slot_index, false);
    },
    [=](status_atom) {
      component_status_list result;
      for (auto& slot : self->state.slots) {
        note_recovery(self, slot);
        result.push_back(component_status{slot.config.name, slot.state, slot.restarts});
      }
      return result;
    },
  };
}

} // namespace logpipe
