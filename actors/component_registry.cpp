#include "actors/component_registry.hpp"

#include "actors/dir_watcher.hpp"
#include "actors/exec_input.hpp"
#include "actors/null_output.hpp"
#include "actors/stdout_output.hpp"

#include <stdexcept>

namespace logpipe {

void component_registry::add_input(config::kind_schema schema,
                                   input_factory spawn) {
  schema.kind_role = config::role::input;
  auto type = schema.type;
  if (!inputs_.emplace(type, std::make_pair(std::move(schema), std::move(spawn))).second)
    throw std::logic_error("input type registered twice: " + type);
}

void component_registry::add_output(config::kind_schema schema,
                                    output_factory spawn) {
  schema.kind_role = config::role::output;
  auto type = schema.type;
  if (!outputs_.emplace(type, std::make_pair(std::move(schema), std::move(spawn))).second)
    throw std::logic_error("output type registered twice: " + type);
}

const input_factory& component_registry::input(const std::string& type) const {
  return inputs_.at(type).second;
}

const output_factory&
component_registry::output(const std::string& type) const {
  return outputs_.at(type).second;
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

void register_builtin_kinds(component_registry& registry) {
  registry.add_input(exec_input_schema(), spawn_exec_input);
  registry.add_input(file_input_schema(), spawn_file_input);
  registry.add_output(stdout_output_schema(), spawn_stdout_output);
  registry.add_output(null_output_schema(), spawn_null_output);
}

} // namespace logpipe
