// CAF 0.17's openssl module passes the result of a failed SSL call to
// SSL_get_error() without emptying the thread's OpenSSL error queue first,
// and leaves a failed handshake's errors in it. All links of a process share
// the middleman's thread, so one peer refused at the handshake (a foreign
// certificate, a port scan) made the next read of every other link on that
// thread look fatal, and links dropped at the rate a stranger could connect.
// OpenSSL requires an empty queue before each call whose result goes to
// SSL_get_error(): these definitions, which take precedence over libssl's
// for every caller in the process, empty it, then call libssl.
//
// CAF says nothing of a failed handshake either, so the handshake calls also
// log why one failed, and with whom: the only trace of a refused peer.

#include "actors/core/logging.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <dlfcn.h>
#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <string>

namespace {

template <class Function>
Function* libssl(const char* name) {
  return reinterpret_cast<Function*>(::dlsym(RTLD_NEXT, name));
}

std::string peer_of(SSL* ssl) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  if (::getpeername(SSL_get_fd(ssl), reinterpret_cast<sockaddr*>(&address), &length) != 0
      || ::getnameinfo(reinterpret_cast<sockaddr*>(&address), length, host, sizeof host, port,
                       sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "a peer that already hung up";
  return std::string(host) + ":" + port;
}

// Logs why a handshake failed, at most once a second: a port scan must not
// flood the log. The error queue is left as it is, for CAF to read.
void report_failed_handshake(SSL* ssl, int result, const char* direction) {
  if (result > 0)
    return;
  auto error = SSL_get_error(ssl, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
    return;
  static std::atomic<std::int64_t> last_second{0};
  static std::atomic<std::uint64_t> unreported{0};
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
  if (last_second.exchange(now) == now) {
    ++unreported;
    return;
  }
  const char* reason = ERR_reason_error_string(ERR_peek_error());
  logpipe::log::warn("TLS handshake with {} ({}) failed: {}{}", peer_of(ssl), direction,
                     reason != nullptr ? reason : "the peer closed the connection",
                     unreported != 0 ? " (and " + std::to_string(unreported.exchange(0))
                                         + " more since the previous such line)"
                                     : std::string());
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buffer, int size) {
  static auto real = libssl<int(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buffer, size);
}

int SSL_write(SSL* ssl, const void* buffer, int size) {
  static auto real = libssl<int(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buffer, size);
}

int SSL_accept(SSL* ssl) {
  static auto real = libssl<int(SSL*)>("SSL_accept");
  ERR_clear_error();
  auto result = real(ssl);
  report_failed_handshake(ssl, result, "incoming");
  return result;
}

int SSL_connect(SSL* ssl) {
  static auto real = libssl<int(SSL*)>("SSL_connect");
  ERR_clear_error();
  auto result = real(ssl);
  report_failed_handshake(ssl, result, "outgoing");
  return result;
}

} // extern "C"
