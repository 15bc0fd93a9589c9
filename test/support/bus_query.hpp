#pragma once

// Asking the real bus for its status from the test thread, in tests under the
// real scheduler.

#include "messages/interfaces.hpp"
#include "messages/status.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace logpipe::test {

/// The bus's status, asked through `asker`; an empty one (and a test failure)
/// if the bus does not answer within 5 seconds.
inline bus_status status_of(caf::scoped_actor& asker, const bus_actor& bus) {
  bus_status result;
  asker->request(bus, std::chrono::seconds(5), status_atom_v)
    .receive([&](bus_status& st) { result = std::move(st); },
             [&](caf::error& err) { ADD_FAILURE() << asker->system().render(err); });
  return result;
}

} // namespace logpipe::test
