#pragma once

// The command line: `logpipe -f FILE [--no-daemon] [--check]
// [--start-once-for-env "KEY VALUE"]...`, `-v`, `-h`, `--config-reference`.

#include <map>
#include <string>
#include <variant>

namespace logpipe {

struct cli_options {
  std::string config_file;
  bool no_daemon = false;
  bool check = false;
  bool version = false;
  bool help = false;
  bool config_reference = false;
  std::map<std::string, std::string> start_once;
};

/// The options, or a one-line usage error.
std::variant<cli_options, std::string> parse_cli(int argc, const char* const* argv);

std::string usage_text();

} // namespace logpipe
