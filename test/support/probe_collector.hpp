#pragma once

// The test's end of probe_output (probe_output.hpp): a scoped_actor that
// receives the copies of the blocks, and the blocks received so far.

#include "test/support/wait_until.hpp"

#include "messages/log_block.hpp"

#include <caf/actor_cast.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace logpipe::test {

class probe_collector {
public:
  /// `limit`: how long the collect_* calls wait unless told otherwise.
  probe_collector(caf::actor_system& sys, std::chrono::milliseconds limit)
    : self_(sys), limit_(limit) {}

  /// The probe to give probe_output.
  caf::actor handle() const { return caf::actor_cast<caf::actor>(self_); }

  /// Receives blocks until `done()` holds or the deadline passes.
  bool collect_until(const std::function<bool()>& done) {
    return collect_until(done, limit_);
  }

  bool collect_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = clock_type::now() + limit;
    while (!done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_type::now());
      if (left.count() <= 0)
        return false;
      self_->receive([&](log_block& blk) { blocks.push_back(std::move(blk)); },
                     caf::after(left) >> [] {});
    }
    return true;
  }

  /// Until `total` bytes arrived in all.
  bool collect_bytes(std::size_t total) {
    return collect_until([&] { return received_size() >= total; });
  }

  /// Until `total` bytes arrived for the file `name`.
  bool collect_bytes(const std::string& name, std::size_t total) {
    return collect_until([&] { return received_text(name).size() >= total; });
  }

  /// Takes whatever blocks arrive within `quiet`.
  void collect_for(std::chrono::milliseconds quiet) {
    collect_until([] { return false; }, quiet);
  }

  /// Takes whatever blocks have already arrived, without waiting.
  void collect_pending() {
    for (bool more = true; more;) {
      more = false;
      self_->receive(
        [&](log_block& blk) {
          blocks.push_back(std::move(blk));
          more = true;
        },
        caf::after(std::chrono::milliseconds(0)) >> [] {});
    }
  }

  std::size_t received_size() const {
    std::size_t n = 0;
    for (const auto& b : blocks)
      n += b.bytes.size();
    return n;
  }

  /// The bytes of every block, in order of arrival.
  std::string received_text() const {
    std::string result;
    for (const auto& b : blocks)
      result.append(b.bytes.begin(), b.bytes.end());
    return result;
  }

  /// The bytes received for one file name, in order.
  std::string received_text(const std::string& name) const {
    std::string result;
    for (const auto& b : blocks)
      if (b.file_name == name)
        result.append(b.bytes.begin(), b.bytes.end());
    return result;
  }

  /// Everything received, in order of arrival.
  std::vector<log_block> blocks;

private:
  caf::scoped_actor self_;
  std::chrono::milliseconds limit_;
};

} // namespace logpipe::test
