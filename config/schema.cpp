#include "config/schema.hpp"

#include <algorithm>
#include <cstddef>

namespace logpipe::config {

key_spec make_key(std::string name, value_kind kind, std::string default_toml,
                  std::string description) {
  key_spec k;
  k.name = std::move(name);
  k.kind = kind;
  k.default_toml = std::move(default_toml);
  k.description = std::move(description);
  return k;
}

key_spec required(key_spec k) {
  k.required = true;
  return k;
}

key_spec bounded(key_spec k, std::int64_t min,
                 std::int64_t max) {
  k.min = min;
  k.max = max;
  return k;
}

key_spec choice_of(key_spec k, std::vector<std::string> choices) {
  k.choices = std::move(choices);
  return k;
}

namespace {

constexpr std::int64_t us_per_ms = 1000;
constexpr std::int64_t us_per_s = 1000 * us_per_ms;

std::vector<key_spec> make_common_keys(role r) {
  std::string what = to_string(r);
  std::vector<key_spec> keys{
      required(make_key("type", value_kind::string, "",
                        "Kind of " + what + ": one of the types below, or one a `plugin` provides.")),
      make_key("name", value_kind::string, "",
               "Name of this " + what + " in the agent's log. Default: `<type>#<N>`, N being "
               "its 1-based position among the " + what + "s."),
      make_key("plugin", value_kind::path, "",
               "Shared library (a plugin, see plugins.md) that provides this " + what
                 + "'s `type`. Each library is loaded once, however many tables name it."),
  };
  if (r == role::output) {
    keys.push_back(choice_of(
        make_key("on_full", value_kind::choice, "\"block\"",
                 "What happens when this output falls behind. `block`: it holds back the "
                 "inputs until it catches up. `drop`: once it has `queue_limit` blocks "
                 "unacknowledged, further blocks are dropped for it (counted and logged) and "
                 "the other outputs keep flowing."),
        {"block", "drop"}));
    keys.push_back(bounded(
        make_key("queue_limit", value_kind::integer, "64",
                 "Blocks an output with on_full = \"drop\" may have unacknowledged before "
                 "further blocks are dropped for it."),
        1, 1000000));
  }
  return keys;
}

} // namespace

const char* to_string(role r) {
  switch (r) {
    case role::input:
      return "input";
    case role::output:
      return "output";
  }
  return "unknown";
}

const key_spec* kind_schema::find(std::string_view key) const {
  for (const auto& k : keys)
    if (k.name == key)
      return &k;
  return nullptr;
}

std::string kind_lookup::load_plugin(const std::string&) {
  return "plugins cannot be loaded here";
}

const std::vector<key_spec>& common_keys(role r) {
  static const std::vector<key_spec> input_keys = make_common_keys(role::input);
  static const std::vector<key_spec> output_keys = make_common_keys(role::output);
  return r == role::input ? input_keys : output_keys;
}

const std::vector<key_spec>& agent_keys() {
  // `name` has no declared default: the loader fills in the host name.
  static const std::vector<key_spec> keys{
      make_key("name", value_kind::string, "",
               "Name of this agent, recorded as the origin of the blocks it reads. "
               "Default: the host name."),
      make_key("data_dir", value_kind::path, "\"logpipe-data\"",
               "Folder for the agent's state (checkpoints). The default is the folder "
               "`logpipe-data` next to the configuration file; use an absolute path such as "
               "`/var/lib/logpipe` in production."),
      bounded(make_key("threads", value_kind::integer, "2", "CAF scheduler worker threads."),
              1, 64),
      make_key("pid_file", value_kind::path, "",
               "File the agent writes its process id to. Default: none."),
      make_key("shutdown_grace", value_kind::duration, "\"5s\"",
               "On SIGTERM or SIGINT, how long in-flight blocks may drain before the agent "
               "exits."),
      bounded(make_key("restart_backoff_min", value_kind::duration, "\"100ms\"",
                       "Delay before the first restart of a crashed component; it doubles "
                       "with each further restart."),
              us_per_ms),
      bounded(make_key("restart_backoff_max", value_kind::duration, "\"30s\"",
                       "Longest delay between restarts of a component."),
              us_per_ms),
      bounded(make_key("restart_limit", value_kind::integer, "5",
                       "Restarts of one component within `restart_window` after which it "
                       "counts as failed (logged, reported) and is retried every "
                       "`restart_backoff_max` for as long as the agent runs; its data waits. "
                       "Only an `on_full = \"drop\"` output is given up instead."),
              1),
      bounded(make_key("restart_window", value_kind::duration, "\"60s\"",
                       "Period over which `restart_limit` is counted."),
              us_per_s),
      bounded(make_key("heartbeat_interval", value_kind::duration, "\"1s\"",
                       "Links to other agents (`caf` inputs and outputs) send a heartbeat "
                       "this often when idle."),
              10 * us_per_ms),
      bounded(make_key("heartbeat_timeout", value_kind::duration, "\"5s\"",
                       "A linked agent silent for this long is taken as gone: its link "
                       "reconnects and sends again what it had not acknowledged. Must be "
                       "longer than the peer's `heartbeat_interval`."),
              100 * us_per_ms),
  };
  return keys;
}

const std::vector<key_spec>& log_keys() {
  static const std::vector<key_spec> keys{
      make_key("file", value_kind::path, "",
               "File the agent appends its own log to. Default: standard error."),
      choice_of(make_key("level", value_kind::choice, "\"info\"",
                         "Least severe level of the agent's own messages that is logged."),
                {"debug", "info", "notice", "warn", "error"}),
  };
  return keys;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  // Levenshtein distance where swapping two neighbours also counts as one edit
  // (optimal string alignment): "nmae" is one typo away from "name".
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i)
      d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j)
      d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      for (std::size_t j = 1; j <= b.size(); ++j) {
        std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
    return d[a.size()][b.size()];
  };
  const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
  const std::string* best = nullptr;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    auto d = distance(word, candidate);
    if (d < best_distance) { // strict: ties keep the earlier candidate
      best = &candidate;
      best_distance = d;
    }
  }
  return best ? *best : std::string();
}

} // namespace logpipe::config
