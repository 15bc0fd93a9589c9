#include "messages/registration.hpp"

#include "messages/atoms.hpp"

#include <caf/actor_system_config.hpp>

namespace logpipe {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<log_block>("logpipe.log_block");
  cfg.add_message_type<bus_status>("logpipe.bus_status");
  cfg.add_message_type<component_status>("logpipe.component_status");
  cfg.add_message_type<component_status_list>("logpipe.component_status_list");
}

} // namespace logpipe
