#include "apps/cli.hpp"

#include <string_view>

namespace logpipe {

std::string usage_text() {
  return "usage: logpipe -f FILE [--no-daemon] [--check] "
         "[--start-once-for-env \"KEY VALUE\"]...\n"
         "       logpipe -v | -h | --config-reference\n"
         "\n"
         "  -f, --config FILE      the agent's TOML configuration\n"
         "  --no-daemon            stay in the foreground (systemd, containers)\n"
         "  --check                validate the configuration and exit (0: valid, 2: not)\n"
         "  --start-once-for-env \"KEY VALUE\"\n"
         "                         pass KEY=VALUE to the components on the first start\n"
         "                         only (e.g. \"start_once_for_full_dose 1\")\n"
         "  --config-reference     print the configuration reference (Markdown)\n"
         "  -v, --version          print the version and build date\n"
         "  -h, --help             print this help\n"
         "\n"
         "exit codes: 0 success, 2 usage or configuration error, 1 runtime failure\n";
}

std::variant<cli_options, std::string> parse_cli(int argc, const char* const* argv) {
  cli_options opts;
  if (argc <= 1)
    return std::string{"no arguments"};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    // The option's argument, or nullptr if it is missing.
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "-f" || arg == "--config") {
      auto file = next();
      if (!file)
        return "option " + std::string{arg} + " needs a file name";
      opts.config_file = file;
    } else if (arg == "--no-daemon") {
      opts.no_daemon = true;
    } else if (arg == "--check") {
      opts.check = true;
    } else if (arg == "-v" || arg == "--version") {
      opts.version = true;
    } else if (arg == "-h" || arg == "--help") {
      opts.help = true;
    } else if (arg == "--config-reference") {
      opts.config_reference = true;
    } else if (arg == "--start-once-for-env") {
      auto text = next();
      if (!text)
        return std::string{"option --start-once-for-env needs \"KEY VALUE\""};
      std::string pair = text;
      auto space = pair.find_first_of(" \t");
      auto key = pair.substr(0, space);
      auto rest = space == std::string::npos ? std::string{} : pair.substr(space);
      auto start = rest.find_first_not_of(" \t");
      if (key.empty() || start == std::string::npos)
        return "--start-once-for-env expects \"KEY VALUE\", got \"" + pair + "\"";
      opts.start_once[key] = rest.substr(start);
    } else {
      return "unknown option '" + std::string{arg} + "'";
    }
  }
  if (!opts.version && !opts.help && !opts.config_reference && opts.config_file.empty())
    return std::string{"missing -f FILE"};
  return opts;
}

} // namespace logpipe
