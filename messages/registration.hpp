#pragma once

namespace caf {
class actor_system_config;
}

namespace logpipe {

/// Registers every logpipe message type with CAF. Every node calls it before
/// creating its actor system; nodes that register different types cannot talk.
void register_types(caf::actor_system_config& cfg);

} // namespace logpipe
