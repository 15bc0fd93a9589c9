#pragma once

// The plugin API: the one header a plugin library includes. A plugin adds
// component kinds to the same registry the built-in kinds use; its
// components are actors with the built-in roles' typed interfaces
// (input_actor, output_actor) and speak to the bus like them. See
// docs/plugins.md.
//
// A plugin is a shared library that defines its entry point with
// LOGPIPE_PLUGIN:
//
//   void register_kinds(logpipe::component_registry& registry) {
//     registry.add_output(my_output_schema(), spawn_my_output);
//   }
//   LOGPIPE_PLUGIN("my-plugin", register_kinds)

#include "actors/core/component_registry.hpp" // component_registry, component_context
#include "actors/core/logging.hpp"            // log::info(...), log::error(...)
#include "messages/interfaces.hpp"       // input_actor, output_actor, bus_actor, log_block

#include <caf/config.hpp> // CAF_VERSION

#include <cstdint>

/// Bumped whenever a header of the plugin API changes in a way that breaks
/// plugins built against the previous one; the loader refuses a plugin built
/// for another version.
#define LOGPIPE_PLUGIN_API_VERSION 1

namespace logpipe {

/// What a plugin's entry point returns. `api_version` and `caf_version` stay
/// the first two fields in every API version: the loader checks them before
/// it reads anything else.
struct plugin_info {
  std::uint32_t api_version; // LOGPIPE_PLUGIN_API_VERSION the plugin was built with
  std::uint32_t caf_version; // CAF_VERSION the plugin was built with (e.g. 1706)
  const char* name;          // for log lines and errors
  /// Adds the plugin's kinds with registry.add_input / add_output.
  void (*register_kinds)(component_registry& registry);
};

/// The name of the C-linkage entry point the loader looks up.
constexpr const char* plugin_entry_point = "logpipe_plugin";

} // namespace logpipe

/// Defines the plugin's entry point, `extern "C" logpipe_plugin()`.
#define LOGPIPE_PLUGIN(plugin_name, register_function)                          \
  extern "C" const ::logpipe::plugin_info* logpipe_plugin() {                   \
    static const ::logpipe::plugin_info info{LOGPIPE_PLUGIN_API_VERSION,        \
                                             CAF_VERSION, plugin_name,           \
                                             register_function};                 \
    return &info;                                                               \
  }
