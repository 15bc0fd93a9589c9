#pragma once

// The one declaration of a configuration key: it drives parsing, validation,
// error messages and the generated reference page (docs/config-reference.md).

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace logpipe::config {

using string_list = std::vector<std::string>;

/// A byte count written with a unit ("64KiB", "10MB") or as a plain integer.
struct byte_size {
  std::uint64_t bytes = 0;
  friend bool operator==(byte_size a, byte_size b) { return a.bytes == b.bytes; }
};

/// A parsed configuration value. Durations are kept in microseconds.
using value = std::variant<bool, std::int64_t, std::string, string_list,
                           byte_size, std::chrono::microseconds>;

enum class value_kind {
  boolean,     // true / false
  integer,     // TOML integer, checked against [min, max]
  string,      // any string
  choice,      // a string from `choices`
  path,        // a string; relative paths are resolved against the config file's folder
  string_list, // array of strings
  size,        // "64KiB", "10MB" or an integer (bytes), checked against [min, max]
  duration,    // "250ms", "60s" or an integer (seconds), in microseconds against [min, max]
};

struct key_spec {
  std::string name;
  value_kind kind = value_kind::string;
  /// The default as TOML text ("16", "\"64KiB\"", "[]", "false"); empty when
  /// the key has no default (then it is either required or simply absent).
  std::string default_toml;
  std::string description;
  bool required = false;
  std::vector<std::string> choices;                               // for choice
  std::int64_t min = std::numeric_limits<std::int64_t>::min();    // integer, size, duration (us)
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
};

/// Builders for terse declarations:
///   bounded(make_key("window", value_kind::integer, "16", "Blocks in flight."), 1, 65536)
key_spec make_key(std::string name, value_kind kind, std::string default_toml,
                  std::string description);
key_spec required(key_spec k);
key_spec bounded(key_spec k, std::int64_t min,
                 std::int64_t max = std::numeric_limits<std::int64_t>::max());
key_spec choice_of(key_spec k, std::vector<std::string> choices);

enum class role { input, output };

/// "input" / "output".
const char* to_string(role r);

struct component_config;

/// A problem found by a kind's own check: the key it concerns, and the rest
/// of the message ("must name an existing folder").
struct key_problem {
  std::string key;
  std::string message;
};

/// The declared keys of one component kind (`type = "exec"`), or of a section
/// such as [agent].
struct kind_schema {
  role kind_role = role::input;
  std::string type;
  std::string summary;
  std::vector<key_spec> keys;
  /// Optional checks beyond single values (a folder that must exist, keys that
  /// depend on each other). Runs only when every key parsed; the loader
  /// reports each problem at its key's position.
  std::function<std::vector<key_problem>(const component_config&)> check;
  /// The plugin library that provides the kind (absolute path); "" for the
  /// kinds built into logpipe.
  std::string plugin;

  const key_spec* find(std::string_view key) const;
};

/// Where component kinds are looked up. The actors' component registry
/// implements it; plugins add kinds to that registry.
class kind_lookup {
public:
  virtual ~kind_lookup() = default;
  virtual const kind_schema* find(role r, std::string_view type) const = 0;
  /// Every known type of a role, sorted.
  virtual std::vector<std::string> types(role r) const = 0;
  /// Loads the plugin library at `path` (absolute), once however often it is
  /// asked, so that its kinds can be found; "" on success, else why not.
  virtual std::string load_plugin(const std::string& path);
};

/// Keys every component of a role has, in addition to its kind's own keys.
const std::vector<key_spec>& common_keys(role r);

/// The schemas of the [agent] and [log] sections.
const std::vector<key_spec>& agent_keys();
const std::vector<key_spec>& log_keys();

/// Closest candidate within a small edit distance, or "" if none is close.
std::string did_you_mean(std::string_view word,
                         const std::vector<std::string>& candidates);

} // namespace logpipe::config
