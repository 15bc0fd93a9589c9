#pragma once

// Test doubles around one file_tail: a fake dir_watcher that hands out (or
// holds) credit and records what the tail tells it, and a fake bus that
// records every published block. What they see lives in shared records the
// test reads after run().

#include "actors/file_input/checkpoint_store.hpp"
#include "messages/file_input.hpp"

#include <caf/atom.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace logpipe::test {

/// The identity of the file at `path` (which must exist), as a tail takes it.
inline file_identity identity_at(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error("cannot open " + path);
  auto id = identity_of(fd);
  ::close(fd);
  if (!id)
    throw std::runtime_error("no identity for " + path);
  return *id;
}

/// Test only: the fake watcher delivers this many held credits.
using grant_atom = caf::atom_constant<caf::atom("ft_grant")>;

/// What the fake watcher saw.
struct watcher_record {
  /// While true, credit requests are held until the test grants them.
  bool hold_credit = false;
  /// The next sequence number handed out.
  std::uint64_t next_seq = 0;
  /// Credit requests received (answered or held), and the sequence numbers
  /// handed out.
  std::size_t credit_requests = 0;
  std::vector<std::uint64_t> granted;
  /// Requests held right now.
  std::size_t held = 0;

  struct published_entry {
    tail_id id;
    std::uint64_t seq;
    std::uint64_t end;
  };
  std::vector<published_entry> published;
  std::vector<std::uint64_t> released;
  std::vector<file_identity> identities;
  /// The source id told with each identity.
  std::vector<std::uint64_t> source_ids;
  int opened = 0;
  int closed = 0;
  int finished = 0;
  /// Every message in arrival order: "credit", "published", "release",
  /// "identity", "opened", "closed", "finished".
  std::vector<std::string> events;

  /// Whether the tail holds its descriptor open, by what it reported.
  bool open() const { return opened > closed; }
};

using fake_watcher_actor = dir_watcher_actor::extend<caf::reacts_to<grant_atom, std::size_t>>;

struct fake_watcher_state {
  static constexpr const char* name = "fake_watcher";
  std::deque<caf::typed_response_promise<std::uint64_t>> held;
};

inline fake_watcher_actor::behavior_type
fake_watcher(fake_watcher_actor::stateful_pointer<fake_watcher_state> self,
             std::shared_ptr<watcher_record> rec) {
  auto hand_out = [=] {
    auto seq = rec->next_seq++;
    rec->granted.push_back(seq);
    return seq;
  };
  return {
    [=](ack_atom, std::uint64_t) {},
    [=](stop_atom) { return true; },
    [=](readable_atom) {},
    [=](credit_atom, tail_id) -> caf::result<std::uint64_t> {
      ++rec->credit_requests;
      rec->events.emplace_back("credit");
      if (!rec->hold_credit)
        return hand_out();
      auto promise = self->make_response_promise<std::uint64_t>();
      self->state.held.push_back(promise);
      rec->held = self->state.held.size();
      return promise;
    },
    [=](grant_atom, std::size_t n) {
      auto& held = self->state.held;
      for (; n > 0 && !held.empty(); --n) {
        auto promise = std::move(held.front());
        held.pop_front();
        promise.deliver(hand_out());
      }
      rec->held = held.size();
    },
    [=](published_atom, tail_id id, std::uint64_t seq, std::uint64_t end) {
      rec->events.emplace_back("published");
      rec->published.push_back({id, seq, end});
    },
    [=](release_atom, std::uint64_t seq) {
      rec->events.emplace_back("release");
      rec->released.push_back(seq);
    },
    [=](identity_atom, tail_id, std::uint64_t device, std::uint64_t inode,
        std::uint32_t prefix_length, std::uint64_t hash, std::uint64_t source_id) {
      rec->events.emplace_back("identity");
      rec->identities.push_back(file_identity{device, inode, prefix_length, hash});
      rec->source_ids.push_back(source_id);
    },
    [=](opened_atom, tail_id) {
      rec->events.emplace_back("opened");
      ++rec->opened;
    },
    [=](closed_atom, tail_id) {
      rec->events.emplace_back("closed");
      ++rec->closed;
    },
    [=](finished_atom, tail_id) {
      rec->events.emplace_back("finished");
      ++rec->finished;
    },
    [=](flush_atom) {},
  };
}

/// What the fake bus received.
struct block_record {
  std::vector<log_block> blocks;
};

struct fake_bus_state {
  static constexpr const char* name = "fake_bus";
};

inline bus_actor::behavior_type fake_bus(bus_actor::stateful_pointer<fake_bus_state>,
                                         std::shared_ptr<block_record> rec) {
  return {
    [=](attach_atom, input_atom, std::uint32_t) -> std::uint64_t { return 0; },
    [=](attach_atom, output_atom, std::uint32_t) {},
    [=](detach_atom, output_atom, std::uint32_t) {},
    [=](publish_atom, const log_block& blk) { rec->blocks.push_back(blk); },
    [=](ack_atom, std::uint32_t, std::uint32_t, std::uint64_t) {},
    [=](status_atom) -> bus_status { return {}; },
  };
}

} // namespace logpipe::test
