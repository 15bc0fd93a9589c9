// The tcp output with the real scheduler and middleman, sending to real
// loopback receivers opened by the test (a thread that accepts and decodes
// with wire::decoder). A recording bus double takes its attach and acks; the
// test publishes blocks to the sink directly.

#include "actors/tcp/tcp_sink.hpp"

#include "actors/tcp/wire.hpp"
#include "config/config.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/loopback.hpp"
#include "test/support/output_config_errors.hpp"
#include "test/support/wait_until.hpp"

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;

// ---- a receiver on a loopback port ------------------------------------------

class test_receiver {
public:
  struct block_record {
    std::string file_name;
    std::vector<char> bytes;
    std::size_t connection;
  };

  /// Bound to a free port on 127.0.0.1. Until listening, connections to it
  /// are refused. Decodes blocks of at most `max_block` bytes.
  explicit test_receiver(bool listening, std::size_t max_block = wire::max_block_1x)
    : max_block_(max_block) {
    listen_fd_ = bound_loopback_socket(SOCK_CLOEXEC | SOCK_NONBLOCK, port_, [](int fd) {
      // A small receive buffer (inherited by accepted sockets, and no
      // autotuning): what the kernel holds for an unread peer stays small.
      int size = 64 * 1024;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    });
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (listening)
      start_listening();
    thread_ = std::thread([this] { run(); });
  }

  ~test_receiver() {
    stopping_ = true;
    wake();
    thread_.join();
    for (auto& c : conns_)
      if (c.fd >= 0)
        ::close(c.fd);
    ::close(listen_fd_);
    ::close(wake_fd_);
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  void start_listening() {
    if (::listen(listen_fd_, 16) != 0)
      throw std::runtime_error("listen failed");
    listening_ = true;
    wake();
  }

  /// Half-closes each connection (shutdown(SHUT_WR): the sender sees the
  /// close) once it has read this many bytes, then reads on to the end, so
  /// that nothing the sender's kernel accepted is lost.
  void close_after(std::size_t bytes) { close_after_ = bytes; }

  /// Aborts each connection (close with SO_LINGER 0: a reset, and whatever
  /// it had not read is gone) once it has read this many bytes.
  void abort_after(std::size_t bytes) { abort_after_ = bytes; }

  /// While paused, nothing is read.
  void pause(bool paused) {
    paused_ = paused;
    wake();
  }

  std::vector<block_record> blocks() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return blocks_;
  }

  std::size_t block_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return blocks_.size();
  }

  std::size_t bytes_read() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t total = 0;
    for (const auto& c : conns_)
      total += c.raw.size();
    return total;
  }

  /// Connections the sender has not closed yet.
  std::size_t open_connections() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<std::size_t>(std::count_if(
      conns_.begin(), conns_.end(), [](const connection& c) { return c.fd >= 0; }));
  }

  std::size_t connections() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return conns_.size();
  }

  /// Every byte one connection received.
  std::vector<char> raw(std::size_t connection) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return conns_.at(connection).raw;
  }

  std::vector<std::string> errors() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_;
  }

private:
  struct connection {
    int fd;
    wire::decoder decoder;
    std::vector<char> raw;
    bool half_closed = false;
  };

  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
  }

  void run() {
    std::vector<char> buf(64 * 1024);
    while (!stopping_) {
      std::vector<pollfd> fds{{wake_fd_, POLLIN, 0}};
      std::vector<std::size_t> which;
      // Read once: start_listening() may set it meanwhile.
      const bool listening = listening_;
      if (listening)
        fds.push_back({listen_fd_, POLLIN, 0});
      if (!paused_) {
        for (std::size_t i = 0; i < conns_.size(); ++i) {
          if (conns_[i].fd >= 0) {
            fds.push_back({conns_[i].fd, POLLIN, 0});
            which.push_back(i);
          }
        }
      }
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
        return;
      std::uint64_t ignored;
      [[maybe_unused]] auto n = ::read(wake_fd_, &ignored, sizeof(ignored));
      std::size_t next = 1;
      if (listening && fds[next++].revents != 0)
        accept_all();
      for (std::size_t k = 0; k < which.size(); ++k, ++next)
        if (fds[next].revents != 0)
          read_from(conns_[which[k]], which[k], buf);
    }
  }

  void accept_all() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0)
        return;
      std::lock_guard<std::mutex> lock(mutex_);
      conns_.push_back(connection{fd, wire::decoder({255, max_block_}), {}, false});
    }
  }

  void read_from(connection& c, std::size_t index, std::vector<char>& buf) {
    auto n = ::read(c.fd, buf.data(), buf.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (n <= 0) {
      ::close(c.fd);
      c.fd = -1;
      return;
    }
    c.raw.insert(c.raw.end(), buf.data(), buf.data() + n);
    std::vector<wire::block> out;
    if (!c.decoder.feed(buf.data(), static_cast<std::size_t>(n), out)) {
      errors_.push_back(c.decoder.error());
      ::close(c.fd);
      c.fd = -1;
    }
    for (auto& b : out)
      blocks_.push_back({std::move(b.file_name), std::move(b.bytes), index});
    if (c.fd >= 0 && abort_after_ > 0 && c.raw.size() >= abort_after_) {
      linger hard{1, 0};
      ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
      ::close(c.fd);
      c.fd = -1;
    }
    if (c.fd >= 0 && close_after_ > 0 && c.raw.size() >= close_after_ && !c.half_closed) {
      ::shutdown(c.fd, SHUT_WR);
      c.half_closed = true;
    }
  }

  std::size_t max_block_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> listening_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> close_after_{0};
  std::atomic<std::size_t> abort_after_{0};
  mutable std::mutex mutex_;
  std::vector<connection> conns_;
  std::vector<block_record> blocks_;
  std::vector<std::string> errors_;
  std::thread thread_;
};

/// A port whose accept queue is full: the kernel drops further SYNs, so a
/// connect to it neither succeeds nor fails until its timeout.
class unanswered_port {
public:
  unanswered_port() {
    listen_fd_ = bound_loopback_socket(SOCK_CLOEXEC, port_);
    if (::listen(listen_fd_, 0) != 0)
      throw std::runtime_error("cannot open a port");
    // Fill the accept queue (never accepted).
    for (int i = 0; i < 3; ++i)
      fillers_.push_back(connect_nonblocking());
  }

  ~unanswered_port() {
    for (int fd : fillers_)
      ::close(fd);
    ::close(listen_fd_);
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  /// Whether a connect to it really hangs here (some kernels answer anyway).
  bool hangs() {
    int fd = connect_nonblocking();
    pollfd p{fd, POLLOUT, 0};
    bool hung = ::poll(&p, 1, 300) == 0;
    ::close(fd);
    return hung;
  }

private:
  int connect_nonblocking() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    auto addr = loopback_address(port_);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    return fd;
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> fillers_;
};

/// Walks a connection's bytes independently of wire::decoder: the sizes of
/// the blocks of each message, in order.
std::vector<std::vector<std::size_t>> message_shapes(const std::vector<char>& raw,
                                                     std::string& error) {
  std::vector<std::vector<std::size_t>> shapes;
  auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(raw[i])); };
  std::size_t pos = 0;
  while (pos < raw.size()) {
    if (raw[pos] != '@' || pos + 3 > raw.size()) {
      error = "no message at byte " + std::to_string(pos);
      return shapes;
    }
    pos += 3 + (byte(pos + 1) << 8 | byte(pos + 2));
    shapes.emplace_back();
    for (;;) {
      if (pos + 8 > raw.size()) {
        error = "message cut at byte " + std::to_string(pos);
        return shapes;
      }
      auto length = byte(pos) << 24 | byte(pos + 1) << 16 | byte(pos + 2) << 8 | byte(pos + 3);
      pos += 8;
      if (length == 0)
        break;
      shapes.back().push_back(length);
      pos += length;
    }
  }
  return shapes;
}

// ---- a bus double -------------------------------------------------------------

struct bus_record {
  mutable std::mutex mutex;
  std::vector<std::uint32_t> attached;
  /// (output, input, seq)
  std::vector<std::tuple<std::uint32_t, std::uint32_t, std::uint64_t>> acks;

  std::size_t ack_count() const {
    std::lock_guard<std::mutex> lock(mutex);
    return acks.size();
  }

  std::vector<std::uint64_t> acked_seqs() const {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<std::uint64_t> seqs;
    for (const auto& a : acks)
      seqs.push_back(std::get<2>(a));
    return seqs;
  }
};

caf::behavior recording_bus(caf::event_based_actor*, std::shared_ptr<bus_record> rec) {
  return {
    [=](attach_atom, output_atom, std::uint32_t index) {
      std::lock_guard<std::mutex> lock(rec->mutex);
      rec->attached.push_back(index);
    },
    [=](ack_atom, std::uint32_t output, std::uint32_t input, std::uint64_t seq) {
      std::lock_guard<std::mutex> lock(rec->mutex);
      rec->acks.emplace_back(output, input, seq);
    },
  };
}

// ---- content -------------------------------------------------------------------

// Distinct bytes at every offset of a file, so that any misplaced, lost or
// repeated piece shows.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::vector<char> content(std::uint64_t offset, std::size_t size) {
  std::vector<char> out(size);
  for (std::size_t i = 0; i < size; ++i) {
    auto p = offset + i;
    out[i] = static_cast<char>(mix(p / 8) >> (8 * (p % 8)));
  }
  return out;
}

struct middleman_config : real_config {
  middleman_config() { load<caf::io::middleman>(); }
};

constexpr std::uint32_t output_index = 3;
/// The blocks of send_through_a_reset: 12 MB, far more than the kernel
/// buffers of one connection hold.
constexpr std::size_t reset_blocks = 120;
constexpr std::size_t reset_block_size = 100000;
constexpr std::uint32_t input_index = 1;

class tcp_sink_test : public ::testing::Test {
protected:
  tcp_sink_test() {
    bus = sys.spawn(recording_bus, bus_rec);
    owned.push_back(bus);
  }

  ~tcp_sink_test() override {
    // The sink goes first: it must not see its receivers close.
    for (auto& hdl : owned)
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    self->wait_for(owned);
  }

  test_receiver& receiver(bool listening = true,
                          std::size_t max_block = wire::max_block_1x) {
    receivers.push_back(std::make_unique<test_receiver>(listening, max_block));
    return *receivers.back();
  }

  /// The sink, configured by TOML keys through the real config loader.
  output_actor start_sink(const std::string& keys) {
    component_registry kinds;
    kinds.add_output(tcp_sink_schema(), spawn_tcp_sink, kind_needs::middleman);
    auto cfg = config::load_string("[[outputs]]\ntype = \"tcp\"\n" + keys,
                                   "/tmp/agent.toml", kinds);
    component_context ctx;
    ctx.config = cfg.outputs.at(0);
    ctx.index = output_index;
    ctx.bus = caf::actor_cast<bus_actor>(bus);
    ctx.agent_name = "test-agent";
    sink = spawn_tcp_sink(sys, ctx);
    owned.insert(owned.begin(), caf::actor_cast<caf::actor>(sink));
    return sink;
  }

  /// Publishes the next `size` bytes of `file_name`; returns its seq.
  std::uint64_t publish(const std::string& file_name, std::size_t size,
                        std::uint32_t flags = 0) {
    return publish(file_name, content(offsets[file_name], size), flags);
  }

  /// Publishes `bytes` as the next block of `file_name`; returns its seq.
  std::uint64_t publish(const std::string& file_name, std::vector<char> bytes,
                        std::uint32_t flags) {
    log_block blk;
    blk.origin = "collector";
    blk.file_name = file_name;
    blk.offset = offsets[file_name];
    blk.flags = flags;
    blk.input = input_index;
    blk.seq = next_seq++;
    blk.bytes = std::move(bytes);
    offsets[file_name] += blk.bytes.size();
    expected[file_name].insert(expected[file_name].end(), blk.bytes.begin(),
                               blk.bytes.end());
    self->send(sink, publish_atom_v, std::move(blk));
    return next_seq - 1;
  }

  bool all_acked(std::size_t count) {
    return wait_until([&] { return bus_rec->ack_count() >= count; });
  }

  /// Each block acked exactly once, by our output index.
  void expect_each_acked_once(std::uint64_t count) {
    std::lock_guard<std::mutex> lock(bus_rec->mutex);
    std::multiset<std::uint64_t> seqs;
    for (const auto& [output, input, seq] : bus_rec->acks) {
      EXPECT_EQ(output, output_index);
      EXPECT_EQ(input, input_index);
      seqs.insert(seq);
    }
    EXPECT_EQ(seqs.size(), count);
    for (std::uint64_t seq = 0; seq < count; ++seq)
      EXPECT_EQ(seqs.count(seq), 1u) << "seq " << seq;
  }

  /// The bytes a receiver got for one file, in order.
  static std::vector<char> bytes_of(const test_receiver& r, const std::string& file_name) {
    std::vector<char> out;
    for (const auto& b : r.blocks())
      if (b.file_name == file_name)
        out.insert(out.end(), b.bytes.begin(), b.bytes.end());
    return out;
  }

  /// Publishes `count` blocks of `size` bytes to big.log while `first` reads
  /// nothing, lets it read once the sink has connected to it, and waits until
  /// each block is acked once.
  void publish_held_back(test_receiver& first, std::size_t count, std::size_t size) {
    first.pause(true);
    for (std::size_t i = 0; i < count; ++i)
      publish("big.log", size);
    ASSERT_TRUE(wait_until([&] { return first.connections() == 1; }));
    first.pause(false);
    ASSERT_TRUE(all_acked(count)) << bus_rec->ack_count() << " of " << count;
    expect_each_acked_once(count);
  }

  /// `a` then `b` in failover; `a` resets its connection (close with
  /// SO_LINGER 0) once it has read 1 MiB. Publishes reset_blocks blocks of
  /// reset_block_size bytes to big.log and waits until each is acked once.
  void send_through_a_reset(test_receiver& a, test_receiver& b,
                            const std::string& more_keys) {
    a.abort_after(1 << 20);
    // Everything goes into the write buffer at once: when the connection is
    // reset, most blocks are there, not yet handed to the kernel.
    start_sink("endpoints = [\"" + a.endpoint() + "\", \"" + b.endpoint()
               + "\"]\nbalance = \"failover\"\nhigh_water = \"64MiB\"\n" + more_keys);
    publish_held_back(a, reset_blocks, reset_block_size);
  }

  middleman_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<bus_record> bus_rec = std::make_shared<bus_record>();
  caf::actor bus;
  output_actor sink;
  std::vector<caf::actor> owned;
  std::vector<std::unique_ptr<test_receiver>> receivers;
  std::uint64_t next_seq = 0;
  std::map<std::string, std::uint64_t> offsets;
  std::map<std::string, std::vector<char>> expected;
};

/// Which of `count` equal blocks of `size` bytes (published in order to one
/// file) a receiver got complete; a block that was never sent is a failure.
std::set<std::size_t> arrived(const test_receiver& r, std::size_t count, std::size_t size) {
  std::set<std::size_t> got;
  for (const auto& blk : r.blocks()) {
    // Content differs at every offset: the first 8 bytes say which block.
    std::size_t i = 0;
    while (i < count && !std::equal(blk.bytes.begin(), blk.bytes.begin() + std::min<std::size_t>(8, blk.bytes.size()),
                                    content(i * size, 8).begin()))
      ++i;
    if (i == count || blk.bytes != content(i * size, size)) {
      ADD_FAILURE() << "a block that was never sent";
      continue;
    }
    got.insert(i);
  }
  return got;
}

/// The most a socket's send buffer grows to (the third number of
/// net.ipv4.tcp_wmem); 4 MiB, Linux's default, if unknown.
std::size_t max_send_buffer() {
  std::ifstream in("/proc/sys/net/ipv4/tcp_wmem");
  std::size_t min = 0, initial = 0, max = 0;
  if (in >> min >> initial >> max)
    return max;
  return 4u << 20;
}

/// Whether `xs` is first, first + 1, ..., last.
bool contiguous(const std::set<std::size_t>& xs) {
  return xs.empty() || *xs.rbegin() - *xs.begin() + 1 == xs.size();
}

std::size_t pieces_of(std::size_t size) {
  return (size + wire::max_block_1x - 1) / wire::max_block_1x;
}

// ---- tests ---------------------------------------------------------------------

TEST_F(tcp_sink_test, sends_every_block_byte_exact_in_1x_sized_one_block_messages) {
  auto& r = receiver();
  start_sink("endpoints = [\"" + r.endpoint() + "\"]\n");
  std::vector<std::size_t> sizes = {1, 1000, wire::max_block_1x, wire::max_block_1x + 1,
                                    250000, 1 << 20};
  std::size_t wire_blocks = 0;
  for (auto size : sizes) {
    publish("a.log", size);
    wire_blocks += pieces_of(size);
  }
  publish("b.log", 5000);
  ++wire_blocks;
  publish("b.log", 0); // nothing to send, acked all the same
  // A deflated block is one zlib stream: never cut, whatever its size.
  publish("c.log", 90000, block_flags::deflated);
  ++wire_blocks;
  const std::uint64_t blocks = next_seq;
  ASSERT_TRUE(all_acked(blocks)) << bus_rec->ack_count() << " of " << blocks << " acked";
  ASSERT_TRUE(wait_until([&] { return r.block_count() >= wire_blocks; }))
    << r.block_count() << " of " << wire_blocks << " wire blocks arrived";
  expect_each_acked_once(blocks);
  {
    std::lock_guard<std::mutex> lock(bus_rec->mutex);
    EXPECT_EQ(bus_rec->attached, std::vector<std::uint32_t>{output_index});
  }
  EXPECT_EQ(r.connections(), 1u);
  EXPECT_TRUE(r.errors().empty()) << r.errors().front();
  EXPECT_EQ(r.block_count(), wire_blocks);
  for (const auto& file : {"a.log", "b.log", "c.log"})
    EXPECT_TRUE(bytes_of(r, file) == expected[file]) << file << " differs";
  for (const auto& b : r.blocks())
    EXPECT_LE(b.bytes.size(), wire::max_block_1x);
  // One block per message: a piece is the unit that is resent.
  std::string error;
  auto shapes = message_shapes(r.raw(0), error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(shapes.size(), wire_blocks);
  for (const auto& shape : shapes)
    EXPECT_EQ(shape.size(), 1u);
}

TEST_F(tcp_sink_test, drops_a_block_whose_name_no_receiver_takes_and_goes_on) {
  auto& r = receiver();
  start_sink("endpoints = [\"" + r.endpoint() + "\"]\n");
  publish("../escape.log", 100);
  publish("", 100);
  publish("ok.log", 100);
  ASSERT_TRUE(all_acked(3));
  expect_each_acked_once(3);
  ASSERT_TRUE(wait_until([&] { return r.block_count() >= 1; }));
  auto blocks = r.blocks();
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].file_name, "ok.log");
  EXPECT_TRUE(r.errors().empty());
  EXPECT_EQ(r.connections(), 1u) << "the connection was never dropped";
}

TEST_F(tcp_sink_test, sends_an_oversize_deflated_block_whole) {
  auto& r = receiver(true, 1 << 20);
  start_sink("endpoints = [\"" + r.endpoint() + "\"]\n");
  publish("z.log", 300000, block_flags::deflated);
  ASSERT_TRUE(all_acked(1));
  ASSERT_TRUE(wait_until([&] { return r.block_count() >= 1; }));
  auto blocks = r.blocks();
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_TRUE(blocks[0].bytes == expected["z.log"]);
}

/// Lines of 80 to 120 bytes, numbered, each ending in '\n', `size` bytes
/// in all (about).
std::vector<char> lines_of(std::size_t size) {
  std::string text;
  for (std::size_t n = 0; text.size() < size; ++n) {
    std::string line = "line " + std::to_string(n) + " ";
    line.resize(80 + n * 37 % 41, static_cast<char>('a' + n % 26));
    text += line + "\n";
  }
  return {text.begin(), text.end()};
}

TEST_F(tcp_sink_test, cuts_a_line_aligned_block_after_a_newline) {
  auto& r = receiver();
  start_sink("endpoints = [\"" + r.endpoint() + "\"]\n");
  auto lines = lines_of(300000);
  // Cut at the largest wire block, the first would end inside a line.
  ASSERT_NE(lines[wire::max_block_1x - 1], '\n');
  publish("lines.log", lines, block_flags::line_aligned);
  ASSERT_TRUE(all_acked(1));
  ASSERT_TRUE(wait_until([&] { return bytes_of(r, "lines.log").size() >= lines.size(); }));
  EXPECT_TRUE(bytes_of(r, "lines.log") == lines);
  auto blocks = r.blocks();
  EXPECT_GE(blocks.size(), pieces_of(lines.size()));
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    SCOPED_TRACE("wire block " + std::to_string(i));
    ASSERT_FALSE(blocks[i].bytes.empty());
    EXPECT_EQ(blocks[i].bytes.back(), '\n');
    EXPECT_LE(blocks[i].bytes.size(), wire::max_block_1x);
  }
}

TEST_F(tcp_sink_test, cuts_a_line_longer_than_a_wire_block_at_the_largest_wire_block) {
  auto& r = receiver();
  start_sink("endpoints = [\"" + r.endpoint() + "\"]\n");
  auto text = lines_of(500);
  const std::size_t before = text.size();
  text.insert(text.end(), 150000, 'x'); // no newline to cut at
  text.push_back('\n');
  auto after = lines_of(10000);
  text.insert(text.end(), after.begin(), after.end());
  publish("long.log", text, block_flags::line_aligned);
  ASSERT_TRUE(all_acked(1));
  ASSERT_TRUE(wait_until([&] { return bytes_of(r, "long.log").size() >= text.size(); }));
  EXPECT_TRUE(bytes_of(r, "long.log") == text);
  // The lines before it, then the long line's first max_block_1x bytes, then
  // the rest.
  std::vector<std::size_t> sizes;
  for (const auto& b : r.blocks())
    sizes.push_back(b.bytes.size());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{before, wire::max_block_1x,
                                             text.size() - before - wire::max_block_1x}));
}

TEST_F(tcp_sink_test, acks_a_block_only_once_the_kernel_has_all_its_bytes) {
  auto& r = receiver();
  r.pause(true);
  // A write buffer that takes all the data at once: an ack given when a block
  // enters CAF's buffer, rather than when the kernel takes it, would ack
  // everything.
  start_sink("endpoints = [\"" + r.endpoint() + "\"]\nhigh_water = \"64MiB\"\n");
  // 16 MiB: far more than the kernel buffers of one loopback connection hold
  // for a peer that does not read.
  constexpr std::size_t count = 64;
  for (std::size_t i = 0; i < count; ++i)
    publish("slow.log", 256 * 1024);
  EXPECT_FALSE(wait_until([&] { return bus_rec->ack_count() >= count; }, 500ms))
    << "every block acked while the receiver read nothing";
  auto early = bus_rec->acked_seqs();
  // One connection: blocks are handed over, and acked, in order.
  for (std::size_t i = 0; i < early.size(); ++i)
    EXPECT_EQ(early[i], i);
  r.pause(false);
  ASSERT_TRUE(all_acked(count)) << bus_rec->ack_count() << " of " << count;
  expect_each_acked_once(count);
  ASSERT_TRUE(wait_until([&] { return bytes_of(r, "slow.log").size() >= expected["slow.log"].size(); }));
  EXPECT_TRUE(bytes_of(r, "slow.log") == expected["slow.log"]);
}

TEST_F(tcp_sink_test, failover_skips_an_endpoint_that_refuses_connections) {
  auto& closed = receiver(false);
  auto& r = receiver();
  start_sink("endpoints = [\"" + closed.endpoint() + "\", \"" + r.endpoint()
             + "\"]\nbalance = \"failover\"\n");
  for (int i = 0; i < 10; ++i) {
    publish("x.log", 30000);
    publish("y.log", 120000);
  }
  ASSERT_TRUE(all_acked(20));
  expect_each_acked_once(20);
  ASSERT_TRUE(wait_until([&] {
    return bytes_of(r, "x.log").size() == expected["x.log"].size()
           && bytes_of(r, "y.log").size() == expected["y.log"].size();
  }));
  EXPECT_TRUE(bytes_of(r, "x.log") == expected["x.log"]);
  EXPECT_TRUE(bytes_of(r, "y.log") == expected["y.log"]);
  EXPECT_EQ(closed.connections(), 0u);
}

TEST_F(tcp_sink_test, round_robin_gives_each_stream_its_own_receiver_and_keeps_it) {
  auto& a = receiver();
  auto& b = receiver();
  start_sink("endpoints = [\"" + a.endpoint() + "\", \"" + b.endpoint() + "\"]\n");
  // Three streams over two receivers: taking turns per block would move them.
  for (int i = 0; i < 10; ++i) {
    publish("x.log", 20000 + i);
    publish("y.log", 150000 + i);
    publish("z.log", 3000 + i);
  }
  ASSERT_TRUE(all_acked(30));
  expect_each_acked_once(30);
  auto complete = [&](const std::string& file) {
    return bytes_of(a, file).size() + bytes_of(b, file).size() == expected[file].size();
  };
  ASSERT_TRUE(wait_until(
    [&] { return complete("x.log") && complete("y.log") && complete("z.log"); }));
  // New streams in turn: x and z to the first receiver, y to the second,
  // each all of it.
  EXPECT_TRUE(bytes_of(a, "x.log") == expected["x.log"]);
  EXPECT_TRUE(bytes_of(b, "y.log") == expected["y.log"]);
  EXPECT_TRUE(bytes_of(a, "z.log") == expected["z.log"]);
  EXPECT_TRUE(bytes_of(a, "y.log").empty());
  EXPECT_TRUE(bytes_of(b, "x.log").empty());
  EXPECT_TRUE(bytes_of(b, "z.log").empty());
  EXPECT_EQ(a.connections(), 1u);
  EXPECT_EQ(b.connections(), 1u);
}

TEST_F(tcp_sink_test, a_receiver_closing_mid_stream_loses_no_block) {
  auto& a = receiver();
  auto& b = receiver();
  a.close_after(1 << 20);
  start_sink("endpoints = [\"" + a.endpoint() + "\", \"" + b.endpoint()
             + "\"]\nbalance = \"failover\"\nhigh_water = \"64KiB\"\n");
  // 12 MB in blocks of one piece each: far more than the kernel buffers
  // between the sink and the first receiver hold when it closes.
  constexpr std::size_t count = 120;
  constexpr std::size_t size = 100000;
  // Held back until connected, so that most blocks wait in the sink's queue
  // and in its write buffer when the connection goes.
  ASSERT_NO_FATAL_FAILURE(publish_held_back(a, count, size));
  std::set<std::size_t> at_a, at_b;
  auto all_arrived = [&] {
    at_a = arrived(a, count, size);
    at_b = arrived(b, count, size);
    std::set<std::size_t> both = at_a;
    both.insert(at_b.begin(), at_b.end());
    return both.size() == count;
  };
  ASSERT_TRUE(wait_until(all_arrived)) << at_a.size() << " blocks at the first receiver, "
                                       << at_b.size() << " at the second, of " << count;
  EXPECT_FALSE(at_a.empty()) << "the first receiver got nothing";
  EXPECT_FALSE(at_b.empty()) << "nothing failed over";
  // The first receiver got a prefix (what its connection carried before the
  // close); the second everything after it.
  EXPECT_EQ(*at_a.rbegin() + 1, at_a.size());
  EXPECT_TRUE(a.errors().empty());
  EXPECT_TRUE(b.errors().empty());
  EXPECT_EQ(a.connections(), 1u) << "the first receiver is left out after its close";
  EXPECT_TRUE(wait_until([&] { return a.open_connections() == 0; }))
    << "the sink did not close its side";
}

TEST_F(tcp_sink_test, a_receiver_reset_mid_stream_loses_no_block_with_the_resend_window) {
  auto& a = receiver();
  auto& b = receiver();
  ASSERT_NO_FATAL_FAILURE(send_through_a_reset(a, b, ""));
  // The blocks the kernel had taken but the reset receiver may not have read
  // are sent again (the latest resend_window bytes): nothing is lost, and
  // what arrives twice fits in that window.
  std::set<std::size_t> at_a, at_b, both;
  ASSERT_TRUE(wait_until([&] {
    at_a = arrived(a, reset_blocks, reset_block_size);
    at_b = arrived(b, reset_blocks, reset_block_size);
    both = at_a;
    both.insert(at_b.begin(), at_b.end());
    return both.size() == reset_blocks;
  })) << at_a.size() << " blocks at the first receiver, " << at_b.size()
      << " at the second, of " << reset_blocks;
  EXPECT_TRUE(contiguous(at_a));
  EXPECT_TRUE(contiguous(at_b));
  std::size_t twice = at_a.size() + at_b.size() - reset_blocks;
  EXPECT_LE(twice * reset_block_size, std::size_t{1} << 20) << twice << " blocks arrived twice";
  EXPECT_EQ(a.connections(), 1u);
}

TEST_F(tcp_sink_test, without_a_resend_window_a_reset_loses_at_most_the_kernel_buffers) {
  auto& a = receiver();
  auto& b = receiver();
  ASSERT_NO_FATAL_FAILURE(send_through_a_reset(a, b, "resend_window = 0\n"));
  // Blocks the kernel had taken but the reset receiver had not read are lost
  // (they were acked: the protocol has no acknowledgement); every other one
  // arrives at the second receiver.
  std::set<std::size_t> at_a, at_b;
  ASSERT_TRUE(wait_until([&] {
    at_a = arrived(a, reset_blocks, reset_block_size);
    at_b = arrived(b, reset_blocks, reset_block_size);
    return !at_b.empty() && *at_b.rbegin() == reset_blocks - 1 && contiguous(at_b);
  })) << at_a.size() << " blocks at the first receiver, " << at_b.size()
      << " at the second, of " << reset_blocks;
  EXPECT_TRUE(contiguous(at_a));
  EXPECT_TRUE(at_a.empty() || *at_a.begin() == 0);
  EXPECT_TRUE(at_a.empty() || *at_a.rbegin() < *at_b.begin());
  // What went missing fits in the kernel's buffers of that connection: the
  // sender's (at most tcp_wmem's maximum), the receiver's and what the
  // receiver read of a block it did not finish.
  std::size_t lost = *at_b.begin() - at_a.size();
  EXPECT_LE(lost * reset_block_size, max_send_buffer() + (1u << 20)) << lost << " blocks lost";
  EXPECT_EQ(a.connections(), 1u);
}

TEST_F(tcp_sink_test, delivery_resumes_when_a_receiver_comes_up_after_all_were_down) {
  auto& a = receiver(false);
  auto& b = receiver(false);
  // disable_timeout is far beyond the test's deadline: only the backoff
  // retries can find the receiver that comes up.
  start_sink("endpoints = [\"" + a.endpoint() + "\", \"" + b.endpoint()
             + "\"]\ndisable_timeout = \"1h\"\n");
  for (int i = 0; i < 5; ++i)
    publish("late.log", 40000);
  EXPECT_FALSE(wait_until([&] { return bus_rec->ack_count() > 0; }, 400ms))
    << "acked while no receiver was listening";
  b.start_listening();
  ASSERT_TRUE(all_acked(5)) << bus_rec->ack_count() << " of 5 acked";
  expect_each_acked_once(5);
  ASSERT_TRUE(wait_until(
    [&] { return bytes_of(b, "late.log").size() >= expected["late.log"].size(); }));
  EXPECT_TRUE(bytes_of(b, "late.log") == expected["late.log"]);
  EXPECT_EQ(a.connections(), 0u);
}

TEST_F(tcp_sink_test, gives_up_on_an_endpoint_that_does_not_answer_after_connect_timeout) {
  unanswered_port silent;
  if (!silent.hangs())
    GTEST_SKIP() << "this kernel answers connects to a full accept queue";
  auto& r = receiver();
  start_sink("endpoints = [\"" + silent.endpoint() + "\", \"" + r.endpoint()
             + "\"]\nbalance = \"failover\"\nconnect_timeout = \"200ms\"\n");
  auto started = clock_type::now();
  publish("quiet.log", 1000);
  ASSERT_TRUE(all_acked(1));
  // Not before the timeout: the first endpoint was tried first.
  EXPECT_GE(clock_type::now() - started, 200ms);
  EXPECT_TRUE(wait_until([&] { return bytes_of(r, "quiet.log") == expected["quiet.log"]; }));
}

TEST_F(tcp_sink_test, quits_at_once_while_a_connect_is_in_progress) {
  unanswered_port silent;
  if (!silent.hangs())
    GTEST_SKIP() << "this kernel answers connects to a full accept queue";
  start_sink("endpoints = [\"" + silent.endpoint() + "\"]\nconnect_timeout = \"2s\"\n");
  publish("quiet.log", 1000);
  // Let the sink start connecting (its thread now waits for the timeout).
  EXPECT_FALSE(wait_until([&] { return bus_rec->ack_count() > 0; }, 100ms));
  self->monitor(sink);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  bool down = false;
  self->receive([&](const caf::down_msg&) { down = true; },
                caf::after(std::chrono::milliseconds(250)) >> [] {});
  EXPECT_TRUE(down) << "the sink waited for its connect attempt";
  // The thread ends after its timeout and finds the sink gone (checked
  // under the sanitizers).
}

// ---- configuration --------------------------------------------------------------

std::vector<std::string> config_errors(const std::string& keys) {
  component_registry kinds;
  kinds.add_output(tcp_sink_schema(), spawn_tcp_sink, kind_needs::middleman);
  return output_config_errors(kinds, "tcp", keys);
}

TEST(tcp_sink_config, has_the_documented_defaults) {
  component_registry kinds;
  kinds.add_output(tcp_sink_schema(), spawn_tcp_sink, kind_needs::middleman);
  auto cfg = config::load_string("[[outputs]]\ntype = \"tcp\"\nendpoints = [\"h:1\"]\n",
                                 "/tmp/agent.toml", kinds);
  const auto& c = cfg.outputs.at(0);
  EXPECT_EQ(c.get_list("endpoints"), config::string_list{"h:1"});
  EXPECT_EQ(c.get_string("balance"), "round_robin");
  EXPECT_EQ(c.get_duration("disable_timeout"), std::chrono::seconds(60));
  EXPECT_EQ(c.get_duration("connect_timeout"), std::chrono::seconds(5));
  EXPECT_EQ(c.get_size("high_water"), 256u << 10);
  EXPECT_EQ(c.get_size("resend_window"), 1u << 20);
}

TEST(tcp_sink_config, accepts_names_addresses_and_bracketed_ipv6) {
  EXPECT_EQ(config_errors("endpoints = [\"logs.example.com:5151\", \"10.0.0.5:5151\", "
                          "\"[::1]:5151\", \"[fd00::7]:1\"]\n"),
            std::vector<std::string>{});
}

TEST(tcp_sink_config, rejects_bad_endpoints_naming_each_entry) {
  auto errors = config_errors(
    "endpoints = [\"good:1\", \"noport\", \"h:0\", \"::1:5151\", \"[::1]:x\", \"good:1\"]\n");
  EXPECT_EQ(errors.size(), 5u);
  EXPECT_TRUE(mentions(errors, "entry 2 \"noport\"")) << ::testing::PrintToString(errors);
  EXPECT_TRUE(mentions(errors, "entry 3 \"h:0\""));
  EXPECT_TRUE(mentions(errors, "entry 4 \"::1:5151\""));
  EXPECT_TRUE(mentions(errors, "entry 5 \"[::1]:x\""));
  EXPECT_TRUE(mentions(errors, "entry 6 \"good:1\": listed twice"));
  EXPECT_TRUE(mentions(errors, "key 'endpoints'"));
}

TEST(tcp_sink_config, needs_one_to_eight_endpoints_and_a_known_balance) {
  EXPECT_TRUE(mentions(config_errors(""), "endpoints"));
  EXPECT_TRUE(mentions(config_errors("endpoints = []\n"), "1 to 8 entries, got 0"));
  std::string nine = "endpoints = [";
  for (int i = 1; i <= 9; ++i)
    nine += "\"h:" + std::to_string(i) + "\"" + (i < 9 ? ", " : "]\n");
  EXPECT_TRUE(mentions(config_errors(nine), "1 to 8 entries, got 9"));
  EXPECT_TRUE(mentions(config_errors("endpoints = [\"h:1\"]\nbalance = \"random\"\n"),
                       "balance"));
}

} // namespace
} // namespace logpipe::test
