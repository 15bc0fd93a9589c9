#pragma once

// The monitor process: forks the worker, starts a new one (with backoff) when
// it dies abnormally, forwards SIGTERM/SIGINT to it, and without --no-daemon
// first detaches from the terminal.

#include "actors/core/component_registry.hpp"
#include "apps/cli.hpp"
#include "config/config.hpp"

namespace logpipe {

/// Returns the exit code of the logpipe process.
int run_monitor(const config::agent_config& config, const component_registry& registry,
                const cli_options& opts);

} // namespace logpipe
