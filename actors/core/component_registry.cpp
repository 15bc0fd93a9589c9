#include "actors/core/component_registry.hpp"

#include "actors/core/plugin_library.hpp"

#include <algorithm>
#include <stdexcept>

namespace logpipe {

std::string state_file(const component_context& ctx, const std::string& kind,
                       const std::string& extension) {
  if (ctx.data_dir.empty())
    return {};
  std::string name = ctx.config.name;
  std::replace(name.begin(), name.end(), '/', '_');
  return ctx.data_dir + "/" + kind + "-" + name + "." + extension;
}

// Marks the kind with the plugin being loaded; a type that is already known
// (built in, or from another plugin) cannot be replaced.
void component_registry::add_kind(config::kind_schema& schema) {
  schema.plugin = loading_plugin_;
  if (const auto* known = find(schema.kind_role, schema.type))
    throw std::logic_error(std::string(config::to_string(schema.kind_role)) + " type '"
                           + schema.type + "' is already provided by "
                           + (known->plugin.empty() ? "logpipe itself"
                                                    : "plugin " + known->plugin));
}

void component_registry::add_input(config::kind_schema schema,
                                   input_factory spawn, kind_needs needs) {
  schema.kind_role = config::role::input;
  add_kind(schema);
  if (needs == kind_needs::middleman)
    network_kinds_.emplace(config::role::input, schema.type);
  auto type = schema.type;
  inputs_.emplace(type, std::make_pair(std::move(schema), std::move(spawn)));
}

void component_registry::add_output(config::kind_schema schema,
                                    output_factory spawn, kind_needs needs) {
  schema.kind_role = config::role::output;
  add_kind(schema);
  if (needs == kind_needs::middleman)
    network_kinds_.emplace(config::role::output, schema.type);
  auto type = schema.type;
  outputs_.emplace(type, std::make_pair(std::move(schema), std::move(spawn)));
}

std::string component_registry::load_plugin(const std::string& path) {
  if (auto done = plugins_.find(path); done != plugins_.end())
    return done->second;
  auto& outcome = plugins_[path];
  auto opened = open_plugin(path);
  if (auto* why = std::get_if<std::string>(&opened))
    return outcome = *why;
  const plugin_info* info = std::get<const plugin_info*>(opened);
  loading_plugin_ = path;
  try {
    info->register_kinds(*this);
  } catch (const std::exception& e) {
    outcome = path + " (plugin " + info->name + "): " + e.what();
  }
  loading_plugin_.clear();
  return outcome;
}

const input_factory& component_registry::input(const std::string& type) const {
  return inputs_.at(type).second;
}

const output_factory&
component_registry::output(const std::string& type) const {
  return outputs_.at(type).second;
}

bool component_registry::needs_middleman(const config::agent_config& config) const {
  for (const auto& c : config.inputs)
    if (network_kinds_.count({config::role::input, c.type}) > 0)
      return true;
  for (const auto& c : config.outputs)
    if (network_kinds_.count({config::role::output, c.type}) > 0)
      return true;
  return false;
}

const config::kind_schema*
component_registry::find(config::role r, std::string_view type) const {
  auto lookup = [type](const auto& kinds) -> const config::kind_schema* {
    auto i = kinds.find(type);
    return i == kinds.end() ? nullptr : &i->second.first;
  };
  return r == config::role::input ? lookup(inputs_) : lookup(outputs_);
}

std::vector<std::string> component_registry::types(config::role r) const {
  std::vector<std::string> result;
  auto collect = [&result](const auto& kinds) {
    for (const auto& entry : kinds)
      result.push_back(entry.first);
  };
  if (r == config::role::input)
    collect(inputs_);
  else
    collect(outputs_);
  return result;
}

} // namespace logpipe
