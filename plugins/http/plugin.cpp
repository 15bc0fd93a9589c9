// The http plugin's entry point: adds the `http` output kind.

#include "http_output.hpp"

#include "logpipe/plugin.hpp"

namespace {

void register_kinds(logpipe::component_registry& registry) {
  registry.add_output(logpipe::http_output_schema(), logpipe::spawn_http_output);
}

} // namespace

LOGPIPE_PLUGIN("http", register_kinds)
