#include "actors/core/plugin_library.hpp"

#include <dlfcn.h>

namespace logpipe {

std::string caf_version_text(std::uint32_t version) {
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "."
         + std::to_string(version % 100);
}

std::variant<const plugin_info*, std::string> open_plugin(const std::string& path) {
  // RTLD_NOW: an unresolved symbol is an error here, not a crash later.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    return std::string{"cannot load plugin: "} + ::dlerror();
  auto refuse = [handle](std::string why) {
    ::dlclose(handle);
    return why;
  };
  using entry_point = const plugin_info* (*)();
  auto entry = reinterpret_cast<entry_point>(::dlsym(handle, plugin_entry_point));
  if (entry == nullptr)
    return refuse(path + " is not a logpipe plugin: it has no entry point "
                  + plugin_entry_point + "() (define it with LOGPIPE_PLUGIN)");
  const plugin_info* info = entry();
  if (info == nullptr)
    return refuse(path + ": its entry point " + plugin_entry_point + "() returned nothing");
  if (info->api_version != LOGPIPE_PLUGIN_API_VERSION)
    return refuse(path + " was built for plugin API version "
                  + std::to_string(info->api_version) + ", but this logpipe has version "
                  + std::to_string(LOGPIPE_PLUGIN_API_VERSION)
                  + ": rebuild it against this logpipe's headers");
  if (info->caf_version != CAF_VERSION)
    return refuse(path + " was built with CAF " + caf_version_text(info->caf_version)
                  + ", but this logpipe uses CAF " + caf_version_text(CAF_VERSION)
                  + ": rebuild it against the same CAF");
  if (info->register_kinds == nullptr || info->name == nullptr)
    return refuse(path + ": its plugin_info has no name or no register_kinds function");
  return info;
}

} // namespace logpipe
