#pragma once

// A GoogleTest fixture with an actor system on CAF's deterministic test
// scheduler: nothing runs until the test calls run(), timers fire only
// through advance_time().

#include "messages/registration.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace logpipe::test {

struct test_config : caf::actor_system_config {
  test_config() {
    register_types(*this);
    set("scheduler.policy", caf::atom("testing"));
    set("logger.file-verbosity", caf::atom("quiet"));
  }
};

/// For tests with threads of their own (the real scheduler).
struct real_config : caf::actor_system_config {
  real_config() {
    register_types(*this);
    set("scheduler.max-threads", 2);
    set("logger.file-verbosity", caf::atom("quiet"));
  }
};

class actor_fixture : public ::testing::Test {
protected:
  actor_fixture()
    : sys(cfg),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    // Under the test scheduler actors only finish when the test runs them.
    sys.await_actors_before_shutdown(false);
  }

  ~actor_fixture() override {
    for (auto& hdl : owned)
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    run();
    // Pending timers hold references to their actors: fire them all.
    while (sched.has_pending_timeout()) {
      sched.trigger_timeouts();
      run();
    }
  }

  /// Runs until no actor has work left.
  void run() { sched.run(); }

  /// Moves the clock and fires due timers, then runs.
  void advance(std::chrono::microseconds d) {
    sched.advance_time(d);
    run();
  }

  /// Spawns and remembers an actor so the fixture stops it at the end.
  template <class Handle>
  Handle own(Handle hdl) {
    owned.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  test_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  std::vector<caf::actor> owned;
};

} // namespace logpipe::test
