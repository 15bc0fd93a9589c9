// A plugin that says it was built with another CAF (0.18.0).

#include <logpipe/plugin.hpp>

extern "C" const logpipe::plugin_info* logpipe_plugin() {
  static const logpipe::plugin_info info{LOGPIPE_PLUGIN_API_VERSION, 1800, "wrong_caf",
                                         nullptr};
  return &info;
}
