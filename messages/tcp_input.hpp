#pragma once

// The tcp input's own vocabulary: one tcp_listener per `[[inputs]] type =
// "tcp"` (it is the input the bus knows, and owns the input's credit window)
// and one tcp_session per connection. Both are CAF io brokers, whose
// behaviors are untyped; these interfaces type the messages they send each
// other.

#include "messages/interfaces.hpp"

namespace logpipe {

using tcp_listener_actor = input_actor::extend<
  // From a session: a whole block taken off the wire. The listener numbers
  // it, publishes it once the window has room, then tells the session.
  caf::reacts_to<publish_atom, log_block>>;

using tcp_session_actor = caf::typed_actor<
  // From the listener: one of this session's blocks went to the bus.
  caf::reacts_to<published_atom>,
  // From the listener: the input stops: close the connection and end.
  caf::reacts_to<stop_atom>>;

} // namespace logpipe
