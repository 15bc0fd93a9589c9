// The plugin's entry point: the loader calls it once, when the first
// component table names this library.

#include "template_output.hpp"

namespace {

void register_kinds(logpipe::component_registry& registry) {
  registry.add_output(template_plugin::template_output_schema(),
                      template_plugin::spawn_template_output);
}

} // namespace

LOGPIPE_PLUGIN("template", register_kinds)
