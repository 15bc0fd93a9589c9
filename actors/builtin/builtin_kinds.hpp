#pragma once

// The kinds built into logpipe. This is the one file that knows every
// component folder; the core knows components only through the registry.

#include "actors/core/component_registry.hpp"

namespace logpipe {

/// Registers the kinds built into logpipe (exec, file, tcp, caf, stdout, ...).
void register_builtin_kinds(component_registry& registry);

} // namespace logpipe
