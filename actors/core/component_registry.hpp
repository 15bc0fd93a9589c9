#pragma once

// The component kinds an agent knows: for each `type`, the declaration of its
// keys (which drives the config loader and the reference page) and the
// function that spawns it. Built-in kinds and plugins register here.

#include "config/config.hpp"
#include "messages/interfaces.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace logpipe {

/// What a component gets when it is spawned.
struct component_context {
  config::component_config config;
  /// Its index among the inputs or among the outputs.
  std::uint32_t index = 0;
  bus_actor bus;
  std::string agent_name;
  std::string data_dir;
  /// --start-once-for-env pairs; present only on the agent's first start.
  std::map<std::string, std::string> start_once;
};

/// A file of the component's own in `[agent] data_dir`:
/// "<data_dir>/<kind>-<component name>.<extension>", any '/' in the name
/// replaced; "" when the context has no data_dir.
std::string state_file(const component_context& ctx, const std::string& kind,
                       const std::string& extension);

using input_factory =
  std::function<input_actor(caf::actor_system&, const component_context&)>;
using output_factory =
  std::function<output_actor(caf::actor_system&, const component_context&)>;

/// What a kind needs from the actor system besides its scheduler.
enum class kind_needs {
  scheduler,
  /// CAF's network layer (brokers, remote actors): the worker loads it only
  /// when a configured component needs it.
  middleman,
};

class component_registry : public config::kind_lookup {
public:
  void add_input(config::kind_schema schema, input_factory spawn,
                 kind_needs needs = kind_needs::scheduler);
  void add_output(config::kind_schema schema, output_factory spawn,
                  kind_needs needs = kind_needs::scheduler);

  /// Whether any component of `config` needs CAF's network layer.
  bool needs_middleman(const config::agent_config& config) const;

  /// Factories of a known kind (the config loader has checked the type).
  const input_factory& input(const std::string& type) const;
  const output_factory& output(const std::string& type) const;

  const config::kind_schema* find(config::role r,
                                  std::string_view type) const override;
  std::vector<std::string> types(config::role r) const override;

  /// Opens a plugin library (actors/core/plugin_library.hpp) and lets it add its
  /// kinds, marked as its own. A library is opened once; asking again gives
  /// the first answer.
  std::string load_plugin(const std::string& path) override;

private:
  void add_kind(config::kind_schema& schema);

  /// Library path -> "" (loaded) or why it was refused.
  std::map<std::string, std::string> plugins_;
  /// The library whose register_kinds is running ("" for built-in kinds).
  std::string loading_plugin_;
  std::map<std::string, std::pair<config::kind_schema, input_factory>, std::less<>>
    inputs_;
  std::map<std::string, std::pair<config::kind_schema, output_factory>, std::less<>>
    outputs_;
  /// (role, type) of the kinds that need the middleman.
  std::set<std::pair<config::role, std::string>> network_kinds_;
};

} // namespace logpipe
