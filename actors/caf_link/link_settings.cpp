#include "actors/caf_link/link_settings.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace logpipe {

namespace {

// The last OpenSSL error of this thread, in words.
std::string openssl_error() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "not a PEM file of the expected kind";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "unreadable";
}

// An encrypted key would make OpenSSL ask for a passphrase on the terminal:
// refuse to be asked.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

// CAF's openssl module reads these files again for every connection and
// ends the process if one is unusable: check them before the agent starts.
void check_tls_files(const config::component_config& c,
                     std::vector<config::key_problem>& problems) {
  using file_ptr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;
  auto open = [&](const char* key) {
    file_ptr f(std::fopen(c.get_string(key).c_str(), "r"), &std::fclose);
    if (!f)
      problems.push_back({key, "\"" + c.get_string(key) + "\" cannot be read"});
    return f;
  };
  std::unique_ptr<X509, void (*)(X509*)> cert(nullptr, &X509_free);
  if (auto f = open(tls_cert_key)) {
    cert.reset(PEM_read_X509(f.get(), nullptr, no_passphrase, nullptr));
    if (!cert)
      problems.push_back({tls_cert_key, "is not a PEM certificate: " + openssl_error()});
    else if (X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0) != 1
             || X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0) != 1)
      problems.push_back({tls_cert_key, "must allow both TLS server and client use "
                                        "(extendedKeyUsage = serverAuth, clientAuth): an "
                                        "agent both accepts and opens links"});
  }
  if (auto f = open(tls_key_key)) {
    std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key(
      PEM_read_PrivateKey(f.get(), nullptr, no_passphrase, nullptr), &EVP_PKEY_free);
    if (!key)
      problems.push_back({tls_key_key, "is not an unencrypted PEM private key: "
                                       + openssl_error()});
    else if (cert && X509_check_private_key(cert.get(), key.get()) != 1)
      problems.push_back({tls_key_key, "does not belong to the certificate in tls.cert"});
    ERR_clear_error();
  }
  if (auto f = open(tls_ca_key)) {
    std::unique_ptr<X509, void (*)(X509*)> ca(
      PEM_read_X509(f.get(), nullptr, no_passphrase, nullptr), &X509_free);
    if (!ca)
      problems.push_back({tls_ca_key, "is not a PEM certificate: " + openssl_error()});
  }
}

} // namespace

std::vector<config::key_spec> tls_keys() {
  using namespace config;
  return {
    make_key(tls_cert_key, value_kind::path, "",
             "TLS: this agent's certificate (PEM). With `tls`, links are encrypted and "
             "both sides must present a certificate signed by `tls.ca`; written as "
             "`tls = { cert = \"...\", key = \"...\", ca = \"...\" }`."),
    make_key(tls_key_key, value_kind::path, "", "TLS: the private key of `tls.cert` (PEM)."),
    make_key(tls_ca_key, value_kind::path, "",
             "TLS: the certificate authority (PEM) that must have signed the peer's "
             "certificate."),
  };
}

bool uses_tls(const config::component_config& c) {
  return c.has(tls_cert_key);
}

std::vector<config::key_problem> check_tls(const config::component_config& c) {
  std::vector<config::key_problem> problems;
  auto set = static_cast<int>(c.has(tls_cert_key)) + static_cast<int>(c.has(tls_key_key))
             + static_cast<int>(c.has(tls_ca_key));
  if (set != 0 && set != 3)
    for (const auto* key : {tls_cert_key, tls_key_key, tls_ca_key})
      if (!c.has(key))
        problems.push_back({key, "is missing: `tls` needs cert, key and ca"});
  if (set == 3)
    check_tls_files(c, problems);
  return problems;
}

caf::io::middleman_actor link_network(caf::actor_system& sys,
                                      const config::component_config& c) {
  return uses_tls(c) ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
}

void apply_link_settings(caf::actor_system_config& cfg, const config::agent_config& config) {
  using caf::timespan;
  cfg.set("middleman.heartbeat-interval", timespan{config.agent.heartbeat_interval});
  cfg.set("middleman.connection-timeout", timespan{config.agent.heartbeat_timeout});
  for (const auto* list : {&config.inputs, &config.outputs})
    for (const auto& c : *list)
      if (uses_tls(c)) {
        cfg.openssl_certificate = c.get_string(tls_cert_key);
        cfg.openssl_key = c.get_string(tls_key_key);
        cfg.openssl_cafile = c.get_string(tls_ca_key);
        cfg.load<caf::openssl::manager>();
        return;
      }
}

} // namespace logpipe
