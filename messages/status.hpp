#pragma once

// Status reports that the bus and the supervisor answer with.

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace logpipe {

struct bus_status {
  /// Per input index: blocks published and not yet acknowledged by every
  /// output that counts, and the most there ever were at once.
  std::vector<std::uint64_t> in_flight;
  std::vector<std::uint64_t> max_in_flight;
  /// Per output index: blocks delivered and not yet acknowledged, and blocks
  /// dropped under on_full = "drop".
  std::vector<std::uint64_t> unacked;
  std::vector<std::uint64_t> dropped;
  /// Blocks published in total.
  std::uint64_t published = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bus_status& x) {
  return f(caf::meta::type_name("logpipe.bus_status"), x.in_flight,
           x.max_in_flight, x.unacked, x.dropped, x.published);
}

struct component_status {
  std::string name;
  /// "running", "restarting", "failed" (given up) or "finished".
  std::string state;
  std::uint32_t restarts = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, component_status& x) {
  return f(caf::meta::type_name("logpipe.component_status"), x.name, x.state,
           x.restarts);
}

using component_status_list = std::vector<component_status>;

} // namespace logpipe
