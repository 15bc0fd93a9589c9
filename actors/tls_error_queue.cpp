// CAF 0.17's openssl module passes the result of a failed SSL call to
// SSL_get_error() without emptying the thread's OpenSSL error queue first,
// and leaves a failed handshake's errors in it. All links of a process share
// the middleman's thread, so one peer refused at the handshake (a foreign
// certificate, a port scan) made the next read of every other link on that
// thread look fatal, and links dropped at the rate a stranger could connect.
// OpenSSL requires an empty queue before each call whose result goes to
// SSL_get_error(): these definitions, which take precedence over libssl's
// for every caller in the process, empty it, then call libssl.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <dlfcn.h>

namespace {

template <class Function>
Function* libssl(const char* name) {
  return reinterpret_cast<Function*>(::dlsym(RTLD_NEXT, name));
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
  return real(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto real = libssl<int(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"
