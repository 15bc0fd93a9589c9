// A plugin that tries to replace the built-in output type "stdout".

#include <logpipe/plugin.hpp>

namespace {

void register_kinds(logpipe::component_registry& registry) {
  logpipe::config::kind_schema schema;
  schema.type = "stdout";
  registry.add_output(schema, nullptr);
}

} // namespace

LOGPIPE_PLUGIN("clashing", register_kinds)
