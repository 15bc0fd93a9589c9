// A plugin that says it was built for the next plugin API version.

#include <logpipe/plugin.hpp>

extern "C" const logpipe::plugin_info* logpipe_plugin() {
  static const logpipe::plugin_info info{LOGPIPE_PLUGIN_API_VERSION + 1, CAF_VERSION,
                                         "wrong_api", nullptr};
  return &info;
}
