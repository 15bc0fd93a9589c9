#include "actors/builtin/builtin_kinds.hpp"

#include "actors/caf_link/caf_ingress.hpp"
#include "actors/caf_link/caf_link.hpp"
#include "actors/exec/exec_input.hpp"
#include "actors/file_input/dir_watcher.hpp"
#include "actors/file_output/file_sink.hpp"
#include "actors/stdio/null_output.hpp"
#include "actors/stdio/stdout_output.hpp"
#include "actors/tcp/tcp_listener.hpp"
#include "actors/tcp/tcp_sink.hpp"

namespace logpipe {

void register_builtin_kinds(component_registry& registry) {
  registry.add_input(exec_input_schema(), spawn_exec_input);
  registry.add_input(file_input_schema(), spawn_file_input);
  registry.add_input(tcp_input_schema(), spawn_tcp_input, kind_needs::middleman);
  registry.add_input(caf_input_schema(), spawn_caf_input, kind_needs::middleman);
  registry.add_output(stdout_output_schema(), spawn_stdout_output);
  registry.add_output(null_output_schema(), spawn_null_output);
  registry.add_output(file_sink_schema(), spawn_file_sink);
  registry.add_output(tcp_sink_schema(), spawn_tcp_sink, kind_needs::middleman);
  registry.add_output(caf_output_schema(), spawn_caf_output, kind_needs::middleman);
}

} // namespace logpipe
