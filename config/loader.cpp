#include "config/config.hpp"
#include "config/units.hpp"

#include <toml++/toml.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <utility>

namespace logpipe::config {

namespace fs = std::filesystem;

// --- Small public pieces -----------------------------------------------------

std::string position::str() const {
  if (line == 0)
    return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const char* to_string(log_level level) {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::notice:
      return "notice";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
  }
  return "unknown";
}

namespace {

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) {
    if (!text.empty())
      text += '\n';
    text += line;
  }
  return text;
}

// "inputs[2]": how messages and getters name a component.
std::string component_label(role r, std::size_t index) {
  return std::string(to_string(r)) + "s[" + std::to_string(index + 1) + "]";
}

} // namespace

config_error::config_error(std::vector<std::string> lines)
  : std::runtime_error(join_lines(lines)), lines_(std::move(lines)) {
}

// --- component_config getters ------------------------------------------------
// Asking for an undeclared key, or with the wrong type, is a programming error
// in the component, not a configuration problem.

namespace {

const value& value_of(const component_config& c, const std::string& key) {
  auto it = c.values.find(key);
  if (it == c.values.end())
    throw std::logic_error("config: " + component_label(c.kind_role, c.index) + " has no value for key '"
                           + key + "'");
  return it->second;
}

template <class T>
const T& value_as(const component_config& c, const std::string& key, const char* what) {
  const auto* v = std::get_if<T>(&value_of(c, key));
  if (v == nullptr)
    throw std::logic_error("config: key '" + key + "' of " + component_label(c.kind_role, c.index)
                           + " is not " + what);
  return *v;
}

} // namespace

bool component_config::has(const std::string& key) const {
  return values.count(key) != 0;
}

bool component_config::get_bool(const std::string& key) const {
  return value_as<bool>(*this, key, "a boolean");
}

std::int64_t component_config::get_int(const std::string& key) const {
  return value_as<std::int64_t>(*this, key, "an integer");
}

const std::string& component_config::get_string(const std::string& key) const {
  return value_as<std::string>(*this, key, "a string");
}

const string_list& component_config::get_list(const std::string& key) const {
  return value_as<string_list>(*this, key, "a list of strings");
}

std::uint64_t component_config::get_size(const std::string& key) const {
  return value_as<byte_size>(*this, key, "a size").bytes;
}

std::chrono::microseconds component_config::get_duration(const std::string& key) const {
  return value_as<std::chrono::microseconds>(*this, key, "a duration");
}

const position& component_config::where_of(const std::string& key) const {
  auto it = set_at.find(key);
  return it != set_at.end() ? it->second : where;
}

// --- Converting TOML values --------------------------------------------------

namespace {

// A string as it would be written in TOML, for messages: "12XB".
std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  return out + "\"";
}

// `"a", "b"`
std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + in_quotes(item);
  return out;
}

// What a key expects, for "must be ..." messages.
std::string expected_words(const key_spec& spec) {
  switch (spec.kind) {
    case value_kind::boolean:
      return "a boolean";
    case value_kind::integer:
      return "an integer";
    case value_kind::string:
    case value_kind::path:
      return "a string";
    case value_kind::choice:
      return "one of " + quoted_list(spec.choices);
    case value_kind::string_list:
      return "a list of strings";
    case value_kind::size:
      return "a size such as \"64KiB\"";
    case value_kind::duration:
      return "a duration such as \"250ms\"";
  }
  return "a value";
}

// What a node is, for the "got ..." part of messages.
const char* node_words(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

bool has_min(const key_spec& spec) {
  return spec.min != std::numeric_limits<std::int64_t>::min();
}

bool has_max(const key_spec& spec) {
  return spec.max != std::numeric_limits<std::int64_t>::max();
}

// "(expected 1 to 64)", "(expected at least 1)", "(expected at most 9)", with
// the bounds written by `show`.
template <class Show>
std::string expected_range(const key_spec& spec, Show show) {
  if (has_min(spec) && has_max(spec))
    return "(expected " + show(spec.min) + " to " + show(spec.max) + ")";
  if (has_min(spec))
    return "(expected at least " + show(spec.min) + ")";
  return "(expected at most " + show(spec.max) + ")";
}

std::string show_int(std::int64_t n) {
  return std::to_string(n);
}

std::string show_size(std::int64_t n) {
  return format_size(static_cast<std::uint64_t>(std::max<std::int64_t>(n, 0)));
}

std::string show_duration(std::int64_t us) {
  return format_duration(std::chrono::microseconds(us));
}

// A converted value, or why the node cannot be one: the message's tail
// ("must be an integer, got a string") and the node it is about.
struct conversion {
  std::optional<value> result;
  std::string error;
  const toml::node* at = nullptr;
};

conversion fail(const toml::node& node, std::string error) {
  return {std::nullopt, std::move(error), &node};
}

conversion wrong_type(const toml::node& node, const key_spec& spec) {
  return fail(node, "must be " + expected_words(spec) + ", got " + node_words(node));
}

// Sizes and durations are unsigned in practice, but the bounds are int64.
bool below_min(const key_spec& spec, std::uint64_t n) {
  return has_min(spec) && spec.min > 0 && n < static_cast<std::uint64_t>(spec.min);
}

bool above_max(const key_spec& spec, std::uint64_t n) {
  return has_max(spec) && (spec.max < 0 || n > static_cast<std::uint64_t>(spec.max));
}

conversion convert_size(const toml::node& node, const key_spec& spec) {
  std::optional<std::uint64_t> bytes;
  if (auto n = node.as_integer()) {
    if (n->get() < 0)
      return fail(node, "must be " + expected_words(spec) + ", got " + std::to_string(n->get()));
    bytes = static_cast<std::uint64_t>(n->get());
  } else if (auto s = node.as_string()) {
    bytes = parse_size(s->get());
    if (!bytes)
      return fail(node, "must be " + expected_words(spec) + ", got " + in_quotes(s->get()));
  } else {
    return wrong_type(node, spec);
  }
  if (below_min(spec, *bytes) || above_max(spec, *bytes))
    return fail(node, "is out of range: " + format_size(*bytes) + " "
                          + expected_range(spec, show_size));
  return {byte_size{*bytes}, {}, nullptr};
}

conversion convert_duration(const toml::node& node, const key_spec& spec) {
  using std::chrono::microseconds;
  std::optional<microseconds> d;
  if (auto n = node.as_integer()) {
    // A plain integer is a number of seconds.
    constexpr std::int64_t max_seconds = std::numeric_limits<std::int64_t>::max() / 1000000;
    if (n->get() < 0 || n->get() > max_seconds)
      return fail(node, "must be " + expected_words(spec) + ", got " + std::to_string(n->get()));
    d = microseconds(n->get() * 1000000);
  } else if (auto s = node.as_string()) {
    d = parse_duration(s->get());
    if (!d)
      return fail(node, "must be " + expected_words(spec) + ", got " + in_quotes(s->get()));
  } else {
    return wrong_type(node, spec);
  }
  auto us = static_cast<std::uint64_t>(d->count());
  if (below_min(spec, us) || above_max(spec, us))
    return fail(node, "is out of range: " + format_duration(*d) + " "
                          + expected_range(spec, show_duration));
  return {*d, {}, nullptr};
}

// Relative paths are taken from the config file's folder, so that the agent
// behaves the same whatever its working directory.
std::string resolve_path(const std::string& text, const fs::path& base) {
  fs::path p(text);
  if (p.is_relative())
    p = base / p;
  return p.lexically_normal().string();
}

conversion convert(const toml::node& node, const key_spec& spec, const fs::path& base) {
  switch (spec.kind) {
    case value_kind::boolean:
      if (auto b = node.as_boolean())
        return {b->get(), {}, nullptr};
      return wrong_type(node, spec);
    case value_kind::integer: {
      auto n = node.as_integer();
      if (!n)
        return wrong_type(node, spec);
      if ((has_min(spec) && n->get() < spec.min) || (has_max(spec) && n->get() > spec.max))
        return fail(node, "is out of range: " + std::to_string(n->get()) + " "
                              + expected_range(spec, show_int));
      return {n->get(), {}, nullptr};
    }
    case value_kind::string:
      if (auto s = node.as_string())
        return {s->get(), {}, nullptr};
      return wrong_type(node, spec);
    case value_kind::choice: {
      auto s = node.as_string();
      if (!s)
        return wrong_type(node, spec);
      const auto& choices = spec.choices;
      if (std::find(choices.begin(), choices.end(), s->get()) != choices.end())
        return {s->get(), {}, nullptr};
      std::string error = "must be " + expected_words(spec) + ", got " + in_quotes(s->get());
      if (auto close = did_you_mean(s->get(), choices); !close.empty())
        error += "; did you mean " + in_quotes(close) + "?";
      return fail(node, error);
    }
    case value_kind::path: {
      auto s = node.as_string();
      if (!s)
        return wrong_type(node, spec);
      // "" would silently mean the config file's folder.
      if (s->get().empty())
        return fail(node, "must be a non-empty path");
      return {resolve_path(s->get(), base), {}, nullptr};
    }
    case value_kind::string_list: {
      auto array = node.as_array();
      if (!array)
        return wrong_type(node, spec);
      string_list items;
      for (const auto& element : *array) {
        auto s = element.as_string();
        if (!s) // points at the element itself, the most precise place
          return fail(element, "must be a list of strings, got an array containing "
                                   + std::string(node_words(element)));
        items.push_back(s->get());
      }
      return {std::move(items), {}, nullptr};
    }
    case value_kind::size:
      return convert_size(node, spec);
    case value_kind::duration:
      return convert_duration(node, spec);
  }
  return wrong_type(node, spec);
}

// Defaults go through the same conversion as configured values, so that they
// are validated (and paths resolved) alike. A bad one is a bug in the schema.
value default_value(const key_spec& spec, const fs::path& base) {
  auto fail_default = [&](const std::string& why) -> std::logic_error {
    return std::logic_error("config: bad default " + spec.default_toml + " for key '" + spec.name
                            + "': " + why);
  };
  toml::table doc;
  try {
    doc = toml::parse("v = " + spec.default_toml);
  } catch (const toml::parse_error& e) {
    throw fail_default(std::string(e.description()));
  }
  auto converted = convert(*doc.get("v"), spec, base);
  if (!converted.result)
    throw fail_default(converted.error);
  return std::move(*converted.result);
}

// --- Loading -------------------------------------------------------------------

struct problem {
  position where;
  std::string message;
};

// What one load collects: every problem (reported together at the end) and
// what is needed to place them.
struct context {
  std::string file;  // as given by the caller, for messages
  fs::path base;     // absolute folder of the config file
  std::vector<problem> problems;

  position at(const toml::source_position& p) const {
    return {file, p.line, p.column};
  }
  void report(const position& where, std::string message) {
    problems.push_back({where, std::move(message)});
  }
  void report(const toml::node& node, std::string message) {
    report(at(node.source().begin), std::move(message));
  }
};

// A table's position is its header ([[inputs]]); toml++ also places tables it
// creates implicitly (the `a` of `[a.b]`). Should a table have no position
// (line 0), its `type` value, else the earliest of its values, stands for it.
position table_position(const context& ctx, const toml::table& table) {
  if (table.source().begin.line != 0)
    return ctx.at(table.source().begin);
  if (auto type = table.get("type"))
    return ctx.at(type->source().begin);
  std::optional<toml::source_position> first;
  for (const auto& [key, node] : table) {
    auto p = node.source().begin;
    if (p.line != 0 && (!first || p < *first))
      first = p;
  }
  return first ? ctx.at(*first) : position{ctx.file, 0, 0};
}

position node_position(const context& ctx, const toml::node& node) {
  if (auto table = node.as_table())
    return table_position(ctx, *table);
  return ctx.at(node.source().begin);
}

// The values of one table against its declared keys.
struct parsed_keys {
  std::map<std::string, value> values;
  std::map<std::string, position> set_at;
};

// `label` names the table in messages ("inputs[1]", "[agent]"); `detail` is
// the longer form used where the kind matters ("inputs[1] (type \"exec\")").
parsed_keys parse_keys(context& ctx, const toml::table& table,
                       const std::vector<const key_spec*>& specs, const std::string& label,
                       const std::string& detail, const position& table_where) {
  parsed_keys out;
  std::set<std::string> configured; // including invalid ones: no default, no "missing"
  // Keys declared with a dot ("tls.cert") are written as an inline table
  // (tls = { cert = "..." }) or as dotted keys: both arrive as a sub-table.
  auto declares_group = [&](const std::string& group) {
    return std::any_of(specs.begin(), specs.end(), [&](const key_spec* s) {
      return s->name.compare(0, group.size() + 1, group + ".") == 0;
    });
  };
  std::vector<std::pair<std::string, const toml::table*>> tables{{"", &table}};
  for (std::size_t t = 0; t < tables.size(); ++t) {
  for (const auto& [key, node] : *tables[t].second) {
    const std::string name = tables[t].first + std::string(key.str());
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const key_spec* s) { return s->name == name; });
    if (spec == specs.end() && node.is_table() && declares_group(name)) {
      tables.emplace_back(name + ".", node.as_table());
      continue;
    }
    if (spec == specs.end()) {
      std::vector<std::string> names;
      for (const auto* s : specs)
        names.push_back(s->name);
      std::string message = "unknown key '" + name + "' in " + detail;
      if (auto close = did_you_mean(name, names); !close.empty())
        message += "; did you mean '" + close + "'?";
      // Point at the key itself (its value may be a whole table).
      auto where = key.source().begin.line != 0 ? ctx.at(key.source().begin)
                                                : node_position(ctx, node);
      ctx.report(where, message);
      continue;
    }
    configured.insert(name);
    auto converted = convert(node, **spec, ctx.base);
    if (!converted.result) {
      ctx.report(node_position(ctx, *converted.at),
                 "key '" + name + "' in " + label + " " + converted.error);
      continue;
    }
    out.values.emplace(name, std::move(*converted.result));
    out.set_at.emplace(name, node_position(ctx, node));
  }
  }
  for (const auto* spec : specs) {
    if (configured.count(spec->name) != 0)
      continue;
    if (!spec->default_toml.empty())
      out.values.emplace(spec->name, default_value(*spec, ctx.base));
    else if (spec->required)
      ctx.report(table_where, "missing required key '" + spec->name + "' in " + detail);
  }
  return out;
}

std::vector<const key_spec*> pointers_to(const std::vector<key_spec>& keys) {
  std::vector<const key_spec*> out;
  for (const auto& k : keys)
    out.push_back(&k);
  return out;
}

// [agent] or [log]: a table, or absent (all defaults).
parsed_keys load_section(context& ctx, const toml::table& root, const std::string& name,
                         const std::vector<key_spec>& keys) {
  static const toml::table empty;
  const toml::table* table = &empty;
  position where{ctx.file, 0, 0};
  if (auto node = root.get(name)) {
    if (auto t = node->as_table()) {
      table = t;
      where = table_position(ctx, *t);
    } else {
      ctx.report(*node, "'" + name + "' must be a table ([" + name + "])");
    }
  }
  const std::string label = "[" + name + "]";
  return parse_keys(ctx, *table, pointers_to(keys), label, label, where);
}

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof(buffer) - 1) != 0 || buffer[0] == '\0')
    return "localhost";
  return buffer;
}

// Copies a parsed value into a section field. A value that failed to convert
// is missing: the field keeps its default and the problem is already reported.
template <class T, class Field>
bool copy(const parsed_keys& keys, const std::string& name, Field& field) {
  auto it = keys.values.find(name);
  if (it == keys.values.end())
    return false;
  field = static_cast<Field>(std::get<T>(it->second));
  return true;
}

agent_section to_agent_section(context& ctx, const parsed_keys& keys) {
  using std::chrono::microseconds;
  agent_section agent;
  if (!copy<std::string>(keys, "name", agent.name))
    agent.name = host_name();
  copy<std::string>(keys, "data_dir", agent.data_dir);
  copy<std::int64_t>(keys, "threads", agent.threads);
  copy<std::string>(keys, "pid_file", agent.pid_file);
  copy<microseconds>(keys, "shutdown_grace", agent.shutdown_grace);
  bool have_min = copy<microseconds>(keys, "restart_backoff_min", agent.restart_backoff_min);
  bool have_max = copy<microseconds>(keys, "restart_backoff_max", agent.restart_backoff_max);
  copy<std::int64_t>(keys, "restart_limit", agent.restart_limit);
  copy<microseconds>(keys, "restart_window", agent.restart_window);
  copy<microseconds>(keys, "heartbeat_interval", agent.heartbeat_interval);
  copy<microseconds>(keys, "heartbeat_timeout", agent.heartbeat_timeout);
  if (agent.heartbeat_timeout <= agent.heartbeat_interval) {
    auto where = keys.set_at.count("heartbeat_timeout") ? keys.set_at.at("heartbeat_timeout")
                                                        : keys.set_at.at("heartbeat_interval");
    ctx.report(where, "key 'heartbeat_timeout' in [agent] ("
                          + format_duration(agent.heartbeat_timeout)
                          + ") must be longer than heartbeat_interval ("
                          + format_duration(agent.heartbeat_interval) + ")");
  }
  if (have_min && have_max && agent.restart_backoff_min > agent.restart_backoff_max) {
    // Point at whichever of the two was written (min first).
    auto where = keys.set_at.count("restart_backoff_min") ? keys.set_at.at("restart_backoff_min")
                                                          : keys.set_at.at("restart_backoff_max");
    ctx.report(where, "key 'restart_backoff_min' in [agent] ("
                          + format_duration(agent.restart_backoff_min)
                          + ") must not be greater than restart_backoff_max ("
                          + format_duration(agent.restart_backoff_max) + ")");
  }
  return agent;
}

log_section to_log_section(const parsed_keys& keys) {
  log_section log;
  copy<std::string>(keys, "file", log.file);
  std::string level;
  if (copy<std::string>(keys, "level", level))
    for (auto l : {log_level::debug, log_level::info, log_level::notice, log_level::warn,
                   log_level::error})
      if (level == to_string(l))
        log.level = l;
  return log;
}

// Loads the library a component table names with `plugin`, if any, and sets
// `library` to its absolute path; false (and reported) if it cannot be used.
bool load_plugin_of(context& ctx, const toml::table& table, const std::string& label,
                    kind_lookup& kinds, std::string& library) {
  auto node = table.get("plugin");
  if (node == nullptr)
    return true;
  auto text = node->as_string();
  if (text == nullptr) {
    ctx.report(*node, "key 'plugin' in " + label + " must be a string, got " + node_words(*node));
    return false;
  }
  library = resolve_path(text->get(), ctx.base);
  if (auto why = kinds.load_plugin(library); !why.empty()) {
    ctx.report(*node, "key 'plugin' in " + label + ": " + why);
    return false;
  }
  return true;
}

// One [[inputs]] or [[outputs]] table; nullopt if it has problems that keep
// its keys from being checked (no type, unknown type).
std::optional<component_config> load_component(context& ctx, const toml::table& table, role r,
                                               std::size_t index, kind_lookup& kinds) {
  const std::string label = component_label(r, index);
  const position where = table_position(ctx, table);
  auto type_node = table.get("type");
  if (type_node == nullptr) {
    ctx.report(where, "missing required key 'type' in " + label);
    return std::nullopt;
  }
  auto type_value = type_node->as_string();
  if (type_value == nullptr) {
    ctx.report(*type_node, "key 'type' in " + label + " must be a string, got "
                               + node_words(*type_node));
    return std::nullopt;
  }
  const std::string type = type_value->get();
  std::string library;
  if (!load_plugin_of(ctx, table, label, kinds, library))
    return std::nullopt;
  const kind_schema* schema = kinds.find(r, type);
  if (!library.empty() && (schema == nullptr || schema->plugin != library)) {
    std::vector<std::string> provided;
    for (const auto& known : kinds.types(r))
      if (kinds.find(r, known)->plugin == library)
        provided.push_back(known);
    ctx.report(where, "plugin " + library + " provides no " + to_string(r) + " type '" + type
                        + "' (it provides: "
                        + (provided.empty() ? std::string("none") : quoted_list(provided))
                        + ")");
    return std::nullopt;
  }
  if (schema != nullptr && schema->plugin != library) {
    ctx.report(where, "type '" + type + "' in " + label + " comes from a plugin: add plugin = "
                        + in_quotes(schema->plugin) + " to this table");
    return std::nullopt;
  }
  if (schema == nullptr) {
    auto known = kinds.types(r);
    std::string message = "unknown " + std::string(to_string(r)) + " type '" + type + "' in "
                          + label + "; known types: "
                          + (known.empty() ? std::string("none") : quoted_list(known));
    if (auto close = did_you_mean(type, known); !close.empty())
      message += "; did you mean '" + close + "'?";
    ctx.report(where, message);
    return std::nullopt;
  }

  auto specs = pointers_to(common_keys(r));
  for (const auto& k : schema->keys) {
    auto clash = std::find_if(specs.begin(), specs.end(),
                              [&](const key_spec* s) { return s->name == k.name; });
    if (clash != specs.end())
      throw std::logic_error("config: " + std::string(to_string(r)) + " type '" + type
                             + "' redeclares key '" + k.name + "'");
    specs.push_back(&k);
  }
  const auto problems_before = ctx.problems.size();
  auto keys = parse_keys(ctx, table, specs, label, label + " (type " + in_quotes(type) + ")", where);

  component_config c;
  c.kind_role = r;
  c.index = index;
  c.type = type;
  c.where = where;
  // The default name is stored like a configured one, so get_string("name") works.
  auto name = keys.values.find("name");
  c.name = name != keys.values.end() ? std::get<std::string>(name->second)
                                     : type + "#" + std::to_string(index + 1);
  keys.values.insert_or_assign("name", c.name);
  c.values = std::move(keys.values);
  c.set_at = std::move(keys.set_at);
  if (schema->check && ctx.problems.size() == problems_before)
    for (const auto& problem : schema->check(c))
      ctx.report(c.where_of(problem.key),
                 "key '" + problem.key + "' in " + label + " " + problem.message);
  return c;
}

std::vector<component_config> load_components(context& ctx, const toml::table& root, role r,
                                              kind_lookup& kinds) {
  std::vector<component_config> out;
  const std::string section = std::string(to_string(r)) + "s";
  auto node = root.get(section);
  if (node == nullptr)
    return out; // no inputs or outputs: the caller decides whether that is fine
  auto array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    ctx.report(node_position(ctx, *node),
               "'" + section + "' must be an array of tables ([[" + section + "]])");
    return out;
  }
  for (std::size_t i = 0; i < array->size(); ++i)
    if (auto c = load_component(ctx, *array->get(i)->as_table(), r, i, kinds))
      out.push_back(std::move(*c));

  // Names identify components in the log and their state: they must be unique.
  std::map<std::string, const component_config*> seen;
  for (const auto& c : out) {
    auto [it, fresh] = seen.emplace(c.name, &c);
    if (!fresh)
      ctx.report(c.where_of("name"), "duplicate name '" + c.name + "' in "
                                         + component_label(r, c.index) + " (already used by "
                                         + component_label(r, it->second->index) + ")");
  }
  return out;
}

// An agent process has one TLS identity for all its links, and links either
// all use it or none does (CAF keeps one connection per peer agent, whichever
// port it came through): every component whose kind has `tls` keys must set
// the same files, or none.
void check_one_tls_identity(context& ctx, const agent_config& config,
                            const kind_lookup& kinds) {
  static const std::vector<std::string> keys{"tls.cert", "tls.key", "tls.ca"};
  auto identity = [](const component_config& c) {
    std::vector<std::string> files;
    for (const auto& key : keys)
      files.push_back(c.has(key) ? c.get_string(key) : std::string());
    return files;
  };
  auto describe = [](const component_config& c) {
    return component_label(c.kind_role, c.index)
           + (c.has("tls.cert") ? std::string(" (tls with ") + c.get_string("tls.cert") + ")"
                                : std::string(" (no tls)"));
  };
  const component_config* first = nullptr;
  for (const auto* list : {&config.inputs, &config.outputs})
    for (const auto& c : *list) {
      auto schema = kinds.find(c.kind_role, c.type);
      if (schema == nullptr || schema->find("tls.cert") == nullptr)
        continue;
      if (first == nullptr)
        first = &c;
      else if (identity(c) != identity(*first))
        ctx.report(c.has("tls.cert") ? c.where_of("tls.cert") : c.where,
                   "key 'tls' in " + describe(c) + " differs from " + describe(*first)
                     + ": an agent's links all use the same TLS identity, or none does");
    }
}

fs::path folder_of(const fs::path& file) {
  auto absolute = file.empty() ? fs::current_path() / "x" : fs::absolute(file);
  return absolute.lexically_normal().parent_path();
}

[[noreturn]] void throw_problems(std::vector<problem> problems) {
  // Keys of a TOML table come in name order: sort back into file order.
  std::stable_sort(problems.begin(), problems.end(), [](const problem& a, const problem& b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
  });
  std::vector<std::string> lines;
  for (const auto& p : problems)
    lines.push_back(p.where.str() + ": " + p.message);
  throw config_error(std::move(lines));
}

} // namespace

agent_config load_string(const std::string& text, const fs::path& file, kind_lookup& kinds) {
  context ctx{file.string(), folder_of(file), {}};
  toml::table root;
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    throw config_error({ctx.at(e.source().begin).str() + ": syntax error: "
                        + std::string(e.description())});
  }

  static const std::vector<std::string> sections{"agent", "log", "inputs", "outputs"};
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (std::find(sections.begin(), sections.end(), name) != sections.end())
      continue;
    std::string message = "unknown section '" + name + "'";
    if (auto close = did_you_mean(name, sections); !close.empty())
      message += "; did you mean '" + close + "'?";
    ctx.report(node_position(ctx, node), message);
  }

  agent_config config;
  config.path = file.string();
  config.agent = to_agent_section(ctx, load_section(ctx, root, "agent", agent_keys()));
  config.log = to_log_section(load_section(ctx, root, "log", log_keys()));
  config.inputs = load_components(ctx, root, role::input, kinds);
  config.outputs = load_components(ctx, root, role::output, kinds);
  check_one_tls_identity(ctx, config, kinds);
  if (!ctx.problems.empty())
    throw_problems(std::move(ctx.problems));
  return config;
}

agent_config load_file(const fs::path& file, kind_lookup& kinds) {
  auto cannot_read = [&](int error) {
    return config_error({file.string() + ": cannot read: " + std::strerror(error)});
  };
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr)
    throw cannot_read(errno);
  std::string text;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0)
    text.append(buffer, n);
  // Reading a directory opens fine and fails here (EISDIR).
  int error = std::ferror(f) ? (errno != 0 ? errno : EIO) : 0;
  std::fclose(f);
  if (error != 0)
    throw cannot_read(error);
  return load_string(text, file, kinds);
}

} // namespace logpipe::config
