#pragma once

// What links between agents (caf inputs and outputs) share: the `tls` keys,
// and the process-wide settings of CAF's network layer (heartbeats, TLS
// identity) that the worker applies before it creates its actor system.

#include "config/config.hpp"

#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>

#include <vector>

namespace logpipe {

inline constexpr const char* tls_cert_key = "tls.cert";
inline constexpr const char* tls_key_key = "tls.key";
inline constexpr const char* tls_ca_key = "tls.ca";

/// The `tls = { cert, key, ca }` keys of caf inputs and outputs.
std::vector<config::key_spec> tls_keys();

/// `tls` has all three files or none.
std::vector<config::key_problem> check_tls(const config::component_config& c);

/// Whether `c` links with TLS.
bool uses_tls(const config::component_config& c);

/// The actor that publishes and connects `c`'s links: CAF's openssl manager
/// with TLS, its plain middleman without.
caf::io::middleman_actor link_network(caf::actor_system& sys, const config::component_config& c);

/// Sets heartbeats from [agent] and, if a component uses TLS, loads CAF's
/// openssl module with that identity (the loader has checked there is one).
/// Call after the middleman is loaded.
void apply_link_settings(caf::actor_system_config& cfg, const config::agent_config& config);

} // namespace logpipe
