// A plugin for the loader tests: adds the input type "test_source" and the
// output type "test_sink" (their actors are never spawned by these tests).

#include <logpipe/plugin.hpp>

namespace {

logpipe::config::kind_schema schema(const char* type) {
  using namespace logpipe::config;
  kind_schema s;
  s.type = type;
  s.summary = "A kind of the loader tests' plugin.";
  s.keys = {bounded(make_key("level", value_kind::integer, "1", "A checked key."), 1, 9)};
  return s;
}

void register_kinds(logpipe::component_registry& registry) {
  registry.add_input(schema("test_source"), nullptr);
  registry.add_output(schema("test_sink"), nullptr);
}

} // namespace

LOGPIPE_PLUGIN("valid", register_kinds)
