#pragma once

// What the config loader says of one output table, for tests of a kind's
// key declarations and checks.

#include "actors/core/component_registry.hpp"
#include "config/config.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace logpipe::test {

/// The problems the loader reports for `[[outputs]] type = <type>` followed
/// by `keys` (TOML), with only the kinds of `kinds` known; none if it loads.
inline std::vector<std::string> output_config_errors(component_registry& kinds,
                                                     const std::string& type,
                                                     const std::string& keys) {
  try {
    config::load_string("[[outputs]]\ntype = \"" + type + "\"\n" + keys, "/tmp/agent.toml",
                        kinds);
  } catch (const config::config_error& e) {
    return e.lines();
  }
  return {};
}

/// Whether one of `lines` contains `text`.
inline bool mentions(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
    return line.find(text) != std::string::npos;
  });
}

} // namespace logpipe::test
