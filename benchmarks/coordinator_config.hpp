#pragma once

// An actor system on CAF's deterministic test scheduler, for benchmarks that
// time an actor's own work: every message runs on the timing thread.

#include "messages/registration.hpp"

#include <caf/actor_system_config.hpp>

namespace logpipe::bench {

struct coordinator_config : caf::actor_system_config {
  coordinator_config() {
    register_types(*this);
    set("scheduler.policy", caf::atom("testing"));
    set("logger.file-verbosity", caf::atom("quiet"));
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

} // namespace logpipe::bench
