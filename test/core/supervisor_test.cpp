// The supervisor under the deterministic scheduler: spawning from config,
// restart with exponential backoff, no gap after an output crash, retrying a
// failed component at the maximum backoff (giving up on a drop output only),
// graceful stop.

#include "actors/core/supervisor.hpp"

#include "test/core/test_components.hpp"
#include "test/support/actor_fixture.hpp"

#include <algorithm>
#include <set>

namespace logpipe::test {
namespace {

using std::chrono::milliseconds;

class supervisor_test : public actor_fixture {
protected:
  supervisor_test() {
    config::kind_schema producer;
    producer.type = "producer";
    registry.add_input(producer, [this](caf::actor_system& s, const component_context& ctx) {
      auto rec = std::make_shared<source_record>();
      if (sources.empty())
        rec->crash_after_acks = first_producer_crashes_after;
      sources.push_back(rec);
      return s.spawn(producer_input, rec, ctx.index, ctx.bus, std::uint64_t{4},
                     std::uint64_t{40}, std::size_t{16});
    });
    config::kind_schema recorder;
    recorder.type = "recorder";
    registry.add_output(recorder, [this](caf::actor_system& s, const component_context& ctx) {
      return s.spawn(recording_output, sinks.at(ctx.index), ctx.index, ctx.bus);
    });
    agent.agent.name = "test-agent";
    agent.agent.restart_backoff_min = milliseconds(100);
    agent.agent.restart_backoff_max = milliseconds(1000);
    agent.agent.restart_limit = 3;
    agent.agent.restart_window = std::chrono::seconds(60);
    agent.agent.shutdown_grace = std::chrono::seconds(2);
  }

  std::shared_ptr<sink_record> add_sink(bool drop = false) {
    config::component_config c;
    c.kind_role = config::role::output;
    c.index = agent.outputs.size();
    c.type = "recorder";
    c.name = "recorder#" + std::to_string(c.index + 1);
    c.values["on_full"] = std::string{drop ? "drop" : "block"};
    c.values["queue_limit"] = std::int64_t{64};
    agent.outputs.push_back(c);
    sinks.push_back(std::make_shared<sink_record>());
    return sinks.back();
  }

  void add_producer() {
    config::component_config c;
    c.kind_role = config::role::input;
    c.index = agent.inputs.size();
    c.type = "producer";
    c.name = "producer#" + std::to_string(c.index + 1);
    agent.inputs.push_back(c);
  }

  supervisor_impl_actor start() {
    auto sup = own(sys.spawn(supervisor, agent, &registry,
                             std::map<std::string, std::string>{}));
    run();
    return sup;
  }

  component_status_list status(const supervisor_impl_actor& sup) {
    component_status_list result;
    auto pending = self->request(sup, caf::infinite, status_atom_v);
    run();
    pending.receive([&](const component_status_list& s) { result = s; },
                    [&](const caf::error& err) { ADD_FAILURE() << sys.render(err); });
    return result;
  }

  std::string state_of(const supervisor_impl_actor& sup, const std::string& name) {
    for (const auto& c : status(sup))
      if (c.name == name)
        return c.state;
    return "absent";
  }

  // Sequence numbers in first-arrival order, duplicates (resends) removed.
  static std::vector<std::uint64_t> delivered(const sink_record& rec) {
    std::vector<std::uint64_t> result;
    std::set<std::uint64_t> seen;
    for (const auto& e : rec.received)
      if (seen.insert(e.seq).second)
        result.push_back(e.seq);
    return result;
  }

  static std::vector<std::uint64_t> iota(std::uint64_t n) {
    std::vector<std::uint64_t> result(n);
    for (std::uint64_t i = 0; i < n; ++i)
      result[i] = i;
    return result;
  }

  component_registry registry;
  config::agent_config agent;
  std::optional<std::size_t> first_producer_crashes_after;
  std::vector<std::shared_ptr<sink_record>> sinks;
  std::vector<std::shared_ptr<source_record>> sources;
  caf::scoped_actor self{sys};
};

TEST_F(supervisor_test, spawns_every_component_and_data_flows) {
  auto a = add_sink();
  auto b = add_sink();
  add_producer();
  auto sup = start();
  EXPECT_EQ(delivered(*a), iota(40));
  EXPECT_EQ(delivered(*b), iota(40));
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0]->acked, iota(40));
  for (const auto& c : status(sup))
    EXPECT_EQ(c.state, "running") << c.name;
}

TEST_F(supervisor_test, an_output_that_throws_is_restarted_and_nothing_is_lost) {
  auto out = add_sink();
  out->crash_at = 5;
  add_producer();
  auto sup = start();
  EXPECT_EQ(out->spawns, 1);
  EXPECT_EQ(state_of(sup, "recorder#1"), "restarting");
  EXPECT_EQ(delivered(*out), iota(5));
  advance(milliseconds(100));
  EXPECT_EQ(out->spawns, 2);
  EXPECT_EQ(state_of(sup, "recorder#1"), "running");
  // No gap: every block, in order, the crashed one included.
  EXPECT_EQ(delivered(*out), iota(40));
  EXPECT_EQ(sources[0]->acked.size(), 40u);
}

TEST_F(supervisor_test, a_crashed_input_is_restarted_and_numbers_above_its_predecessor) {
  auto out = add_sink();
  first_producer_crashes_after = 10;
  add_producer();
  auto sup = start();
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(state_of(sup, "producer#1"), "restarting");
  advance(milliseconds(100));
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(state_of(sup, "producer#1"), "running");
  // The new instance published its 40 blocks above every number of the old one.
  const auto& second = sources[1]->acked;
  ASSERT_EQ(second.size(), 40u);
  auto first_max = *std::max_element(sources[0]->acked.begin(), sources[0]->acked.end());
  EXPECT_GT(second.front(), first_max);
  EXPECT_EQ(out->received.size(), sources[0]->sent_data.size() + 40);
}

TEST_F(supervisor_test, restarts_back_off_exponentially_up_to_the_maximum) {
  agent.agent.restart_limit = 10;
  auto out = add_sink();
  out->always_crash = true;
  add_producer();
  start();
  int expected_spawns = 1;
  EXPECT_EQ(out->spawns, expected_spawns);
  for (int delay_ms : {100, 200, 400, 800, 1000, 1000}) {
    advance(milliseconds(delay_ms - 1));
    EXPECT_EQ(out->spawns, expected_spawns) << "restarted before " << delay_ms << " ms";
    advance(milliseconds(1));
    EXPECT_EQ(out->spawns, ++expected_spawns) << "not restarted after " << delay_ms << " ms";
  }
}

TEST_F(supervisor_test, a_failed_block_output_is_retried_forever_and_holds_its_inputs_back) {
  auto healthy = add_sink();
  auto broken = add_sink();
  broken->always_crash = true;
  add_producer();
  auto sup = start();
  for (int delay_ms : {100, 200, 400})
    advance(milliseconds(delay_ms));
  EXPECT_EQ(broken->spawns, 4); // the first start and restart_limit = 3 restarts
  EXPECT_EQ(state_of(sup, "recorder#2"), "failed");
  // Past the limit it is retried at restart_backoff_max (1 s), not dropped.
  for (int retry = 1; retry <= 5; ++retry) {
    advance(milliseconds(999));
    EXPECT_EQ(broken->spawns, 4 + retry - 1);
    advance(milliseconds(1));
    EXPECT_EQ(broken->spawns, 4 + retry);
    EXPECT_EQ(state_of(sup, "recorder#2"), "failed");
  }
  // Nothing was acked to the input: its window (4 blocks) holds it back.
  EXPECT_TRUE(sources[0]->acked.empty());
  EXPECT_EQ(delivered(*healthy), iota(4));
  EXPECT_EQ(state_of(sup, "producer#1"), "running");
  // The cause goes away: the next retry gets every block, none lost.
  broken->always_crash = false;
  advance(milliseconds(1000));
  EXPECT_EQ(delivered(*broken), iota(40));
  EXPECT_EQ(delivered(*healthy), iota(40));
  EXPECT_EQ(sources[0]->acked.size(), 40u);
  // Failed until it has run a whole restart window.
  EXPECT_EQ(state_of(sup, "recorder#2"), "failed");
  advance(std::chrono::seconds(60));
  EXPECT_EQ(state_of(sup, "recorder#2"), "running");
}

TEST_F(supervisor_test, gives_up_only_on_a_drop_output_and_keeps_the_others) {
  auto healthy = add_sink();
  auto broken = add_sink(true);
  broken->always_crash = true;
  add_producer();
  auto sup = start();
  for (int delay_ms : {100, 200, 400})
    advance(milliseconds(delay_ms));
  EXPECT_EQ(broken->spawns, 4);
  EXPECT_EQ(state_of(sup, "recorder#2"), "given up");
  advance(milliseconds(10000));
  EXPECT_EQ(broken->spawns, 4);
  // A drop output never held the input back: the healthy output got everything.
  EXPECT_EQ(delivered(*healthy), iota(40));
  EXPECT_EQ(sources[0]->acked.size(), 40u);
  EXPECT_EQ(state_of(sup, "recorder#1"), "running");
  EXPECT_EQ(state_of(sup, "producer#1"), "running");
}

TEST_F(supervisor_test, stop_drains_and_reports_success) {
  add_sink();
  add_producer();
  auto sup = start();
  bool drained = false;
  auto pending = self->request(sup, caf::infinite, stop_atom_v);
  run();
  pending.receive([&](bool d) { drained = d; },
                  [&](const caf::error& err) { ADD_FAILURE() << sys.render(err); });
  EXPECT_TRUE(drained);
  EXPECT_TRUE(sources[0]->stopped);
}

TEST_F(supervisor_test, stop_gives_up_after_the_grace_period_when_an_output_stalls) {
  auto out = add_sink();
  out->stalled = true;
  add_producer();
  auto sup = start();
  std::optional<bool> drained;
  auto pending = self->request(sup, caf::infinite, stop_atom_v);
  run();
  advance(milliseconds(1000));
  // Not answered before the grace period (2 s) is over.
  EXPECT_FALSE(self->has_next_message());
  advance(milliseconds(1100));
  pending.receive([&](bool d) { drained = d; },
                  [&](const caf::error& err) { ADD_FAILURE() << sys.render(err); });
  ASSERT_TRUE(drained.has_value());
  EXPECT_FALSE(*drained);
}

TEST_F(supervisor_test, a_killed_supervisor_takes_its_bus_and_components_down) {
  add_sink();
  add_sink();
  add_producer();
  auto before = sys.registry().running(); // the test's own scoped actor
  auto sup = start();
  // The supervisor, the bus, two outputs and an input.
  EXPECT_EQ(sys.registry().running(), before + 5);
  caf::anon_send_exit(sup, caf::exit_reason::kill);
  run();
  EXPECT_EQ(sys.registry().running(), before);
}

} // namespace
} // namespace logpipe::test
