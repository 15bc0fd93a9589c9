#pragma once

// Plain loopback sockets for tests: a free port, a client connection, and
// whether the other side closed it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace logpipe::test {

/// 127.0.0.1:`port` as a socket address.
inline sockaddr_in loopback_address(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

/// A TCP socket (`flags` as for socket(2)'s type) bound to 127.0.0.1 on a
/// port the kernel picks, which it stores in `port`. `before_bind` may set
/// options first (such as a receive buffer, which must precede listen()).
template <class F = void (*)(int)>
int bound_loopback_socket(int flags, std::uint16_t& port, F before_bind = [](int) {}) {
  int fd = ::socket(AF_INET, SOCK_STREAM | flags, 0);
  if (fd < 0)
    throw std::runtime_error("bound_loopback_socket: no socket");
  before_bind(fd);
  auto addr = loopback_address(0);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bound_loopback_socket: cannot bind");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

/// A port nothing listens on right now (the kernel's pick, then released).
inline std::uint16_t free_port() {
  std::uint16_t port = 0;
  ::close(bound_loopback_socket(0, port));
  return port;
}

/// A connected client socket, owned (closed at the end of its scope).
class client_socket {
public:
  /// Connects to 127.0.0.1:port; retries for up to `timeout` while the
  /// port refuses (the server may still be starting).
  explicit client_socket(std::uint16_t port,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      auto addr = loopback_address(port);
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
        return;
      ::close(fd_);
      fd_ = -1;
      if (std::chrono::steady_clock::now() >= deadline)
        throw std::runtime_error("cannot connect to port " + std::to_string(port));
      ::usleep(10000);
    }
  }
  client_socket(const client_socket&) = delete;
  client_socket& operator=(const client_socket&) = delete;
  ~client_socket() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  int fd() const { return fd_; }

  /// Writes everything; false if the peer closed or reset the connection.
  bool send_all(const std::vector<char>& data) { return send_all(data.data(), data.size()); }
  bool send_all(const char* data, std::size_t size) {
    while (size > 0) {
      auto n = ::send(fd_, data, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }

  /// Writes what the kernel takes without blocking; the count sent.
  std::size_t send_some(const char* data, std::size_t size) {
    auto n = ::send(fd_, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }

  /// Whether the peer closes the connection within `timeout` (reads and
  /// discards anything it sends).
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        return true;
    }
  }

private:
  int fd_ = -1;
};

} // namespace logpipe::test
