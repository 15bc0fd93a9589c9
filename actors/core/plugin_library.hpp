#pragma once

// Opens a plugin library and checks that it is one this logpipe can use: it
// has the entry point, and was built for this plugin API and this CAF.

#include "logpipe/plugin.hpp"

#include <string>
#include <variant>

namespace logpipe {

/// "0.17.6" for CAF_VERSION 1706.
std::string caf_version_text(std::uint32_t version);

/// The plugin's description, or why `path` cannot be used as a plugin. The
/// library stays loaded for the life of the process (its actors' code lives
/// in it); a refused one is closed again.
std::variant<const plugin_info*, std::string> open_plugin(const std::string& path);

} // namespace logpipe
