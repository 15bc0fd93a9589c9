#pragma once

// An input's side of the bus's flow control: at most `size` blocks published
// and not yet acked. Sequence numbers start where the bus says (attach).

#include <cstdint>
#include <set>

namespace logpipe {

class credit_window {
public:
  explicit credit_window(std::uint64_t size) : size_(size) {}

  /// Starts numbering at `first_seq`; acks of earlier numbers are ignored.
  void open(std::uint64_t first_seq) {
    next_ = first_seq;
    first_ = first_seq;
    outstanding_.clear();
    open_ = true;
  }

  bool available() const { return open_ && outstanding_.size() < size_; }

  /// The sequence number of a block about to be published.
  std::uint64_t take() {
    outstanding_.insert(next_);
    return next_++;
  }

  /// Frees the credit of `seq`; false if it was not outstanding.
  bool ack(std::uint64_t seq) { return seq >= first_ && outstanding_.erase(seq) > 0; }

  std::uint64_t in_flight() const { return outstanding_.size(); }
  std::uint64_t size() const { return size_; }

private:
  std::uint64_t size_;
  std::uint64_t next_ = 0;
  std::uint64_t first_ = 0;
  std::set<std::uint64_t> outstanding_;
  bool open_ = false;
};

} // namespace logpipe
