#pragma once

// The worker process: the actor system with the supervisor, the bus and every
// component. SIGTERM/SIGINT start a graceful shutdown.

#include "actors/core/component_registry.hpp"
#include "config/config.hpp"

#include <map>
#include <string>

namespace logpipe {

/// Runs until a signal or a fatal error; returns the process exit code. The
/// caller has blocked SIGTERM and SIGINT (a thread here waits for them).
int run_worker(const config::agent_config& config, const component_registry& registry,
               const std::map<std::string, std::string>& start_once);

} // namespace logpipe
