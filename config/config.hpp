#pragma once

// The agent's configuration as typed structs, loaded from one TOML file.

#include "config/schema.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace logpipe::config {

/// A place in the configuration file, 1-based like compilers print them.
struct position {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  /// "FILE:LINE:COLUMN" (or just "FILE" when line is 0).
  std::string str() const;
};

enum class log_level { debug, info, notice, warn, error };
const char* to_string(log_level level);

/// One [[inputs]] or [[outputs]] table: every declared key of its kind has a
/// value (the configured one or the default), except keys with no default that
/// were not set.
struct component_config {
  role kind_role = role::input;
  std::size_t index = 0;   // position in its array, 0-based
  std::string type;
  std::string name;        // `name` key, or "<type>#<index+1>"
  position where;          // the table's header
  std::map<std::string, value> values;
  std::map<std::string, position> set_at; // keys written in the file

  bool has(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::int64_t get_int(const std::string& key) const;
  const std::string& get_string(const std::string& key) const; // string, choice, path
  const string_list& get_list(const std::string& key) const;
  std::uint64_t get_size(const std::string& key) const;
  std::chrono::microseconds get_duration(const std::string& key) const;
  /// Where a key was set, or the table's position if it was defaulted.
  const position& where_of(const std::string& key) const;
};

struct agent_section {
  std::string name;                          // default: the host name
  std::string data_dir;                      // state (checkpoints), absolute
  std::size_t threads = 2;                   // CAF worker threads
  std::string pid_file;                      // empty: none
  std::chrono::microseconds shutdown_grace{std::chrono::seconds(5)};
  std::chrono::microseconds restart_backoff_min{std::chrono::milliseconds(100)};
  std::chrono::microseconds restart_backoff_max{std::chrono::seconds(30)};
  std::size_t restart_limit = 5;             // restarts within restart_window
  std::chrono::microseconds restart_window{std::chrono::seconds(60)};
  /// Links to other agents (caf inputs and outputs): heartbeat period, and
  /// silence after which the peer is taken as gone.
  std::chrono::microseconds heartbeat_interval{std::chrono::seconds(1)};
  std::chrono::microseconds heartbeat_timeout{std::chrono::seconds(5)};
};

struct log_section {
  std::string file;                          // empty: standard error
  log_level level = log_level::info;
};

struct agent_config {
  std::string path;                          // the file it was loaded from
  agent_section agent;
  log_section log;
  std::vector<component_config> inputs;
  std::vector<component_config> outputs;
};

/// Thrown for any configuration problem; what() holds one line per problem,
/// each "FILE:LINE:COLUMN: message".
class config_error : public std::runtime_error {
public:
  explicit config_error(std::vector<std::string> lines);
  const std::vector<std::string>& lines() const { return lines_; }

private:
  std::vector<std::string> lines_;
};

/// Loads and validates a configuration file. Throws config_error.
/// Plugins named by component tables are loaded into `kinds` on the way.
agent_config load_file(const std::filesystem::path& file, kind_lookup& kinds);

/// Same, from text; `file` is used in messages and to resolve relative paths.
agent_config load_string(const std::string& text, const std::filesystem::path& file,
                         kind_lookup& kinds);

/// Markdown reference of every section and kind (docs/config-reference.md).
std::string reference_markdown(const kind_lookup& kinds);

} // namespace logpipe::config
