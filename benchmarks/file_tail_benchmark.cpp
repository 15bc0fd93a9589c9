// The file_tail actor (actors/file_input/file_tail.*) reading an N MiB file from its
// first byte to its last, raw and in line mode, between a dir_watcher double
// (a credit window of 8 blocks, the input's default) and a bus double that
// acks every block at once. One iteration is one new tail reading the whole
// file; the file stays in the page cache, so no disk is measured.
//
// CAF's test coordinator runs every message on this thread: the time is the
// tail's own work (fstat, pread into the block, line cutting, one credit
// request and two sends per block through the mailboxes) without the worker
// threads' wake-ups and hand-offs, which bus_benchmark measures.
//
//   file_tail_benchmark                            # the table
//   file_tail_benchmark --benchmark_min_time=0.01  # smoke run (CTest: file_tail_benchmark_smoke)

#include "actors/core/credit_window.hpp"
#include "actors/file_input/checkpoint_store.hpp"
#include "actors/file_input/file_tail.hpp"
#include "coordinator_config.hpp"
#include "log_lines.hpp"
#include "messages/registration.hpp"
#include "temp_folder.hpp"
#include "test/file_input/file_input_doubles.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace logpipe::bench {
namespace {

constexpr std::uint64_t window = 8;
constexpr const char* file_name = "app.log";

struct watcher_double_state {
  static constexpr const char* name = "bench_watcher";
  watcher_double_state() : credit(window) { credit.open(0); }
  credit_window credit;
  /// Credit requests waiting for the window to have room.
  std::deque<caf::typed_response_promise<std::uint64_t>> waiting;
};

/// Hands out sequence numbers within its window, as a dir_watcher does, and
/// ignores what its tail reports.
dir_watcher_actor::behavior_type
watcher_double(dir_watcher_actor::stateful_pointer<watcher_double_state> self) {
  auto free_credit = [=](std::uint64_t seq) {
    auto& st = self->state;
    if (!st.credit.ack(seq) || st.waiting.empty())
      return;
    auto promise = std::move(st.waiting.front());
    st.waiting.pop_front();
    promise.deliver(st.credit.take());
  };
  return {
    [=](ack_atom, std::uint64_t seq) { free_credit(seq); },
    [=](stop_atom) { return true; },
    [=](readable_atom) {},
    [=](credit_atom, tail_id) -> caf::result<std::uint64_t> {
      auto& st = self->state;
      if (st.credit.available())
        return st.credit.take();
      st.waiting.push_back(self->make_response_promise<std::uint64_t>());
      return st.waiting.back();
    },
    [=](published_atom, tail_id, std::uint64_t, std::uint64_t) {},
    [=](release_atom, std::uint64_t seq) { free_credit(seq); },
    [=](identity_atom, tail_id, std::uint64_t, std::uint64_t, std::uint32_t, std::uint64_t,
        std::uint64_t) {},
    [=](opened_atom, tail_id) {},
    [=](closed_atom, tail_id) {},
    [=](finished_atom, tail_id) {},
    [=](flush_atom) {},
  };
}

/// What reached the bus double.
struct shipped {
  std::uint64_t bytes = 0;
  std::uint64_t blocks = 0;
};

/// Counts every block and acks it to its input at once.
bus_actor::behavior_type acking_bus(bus_actor::pointer self, input_actor input,
                                    std::shared_ptr<shipped> rec) {
  return {
    [=](attach_atom, input_atom, std::uint32_t) -> std::uint64_t { return 0; },
    [=](attach_atom, output_atom, std::uint32_t) {},
    [=](detach_atom, output_atom, std::uint32_t) {},
    [=](publish_atom, const log_block& blk) {
      rec->bytes += blk.bytes.size();
      ++rec->blocks;
      self->send(input, ack_atom_v, blk.seq);
    },
    [=](ack_atom, std::uint32_t, std::uint32_t, std::uint64_t) {},
    [=](status_atom) { return bus_status{}; },
  };
}

void file_tail_read(benchmark::State& state) {
  const bool line_mode = state.range(0) != 0;
  const auto block_size = static_cast<std::size_t>(state.range(1)) * 1024;
  const auto file_size = static_cast<std::size_t>(state.range(2)) * 1024 * 1024;
  temp_folder folder{"logpipe-tail-bench"};
  const auto path = (folder.path() / file_name).string();
  std::ofstream(path, std::ios::binary) << log_text(file_size);
  const auto identity = test::identity_at(path);

  coordinator_config cfg;
  caf::actor_system sys{cfg};
  sys.await_actors_before_shutdown(false);
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto rec = std::make_shared<shipped>();
  auto watcher = sys.spawn(watcher_double);
  auto bus = sys.spawn(acking_bus, input_actor{watcher}, rec);

  auto settings = std::make_shared<file_tail_settings>();
  settings->folder = folder.path().string();
  settings->origin = "bench";
  settings->bus = bus;
  settings->block_size = block_size;
  settings->line_mode = line_mode;
  std::shared_ptr<const file_tail_settings> shared = settings;
  // A tail reads a block in a handful of messages: a tail that keeps going
  // beyond this many is stuck in a loop (a benchmark must end).
  const std::size_t message_budget = 64 * (file_size / block_size + 16);

  for (auto _ : state) {
    *rec = shipped{};
    auto tail = sys.spawn(file_tail, shared, watcher, tail_id{1}, std::string{file_name},
                          std::string{file_name}, identity, file_position{1, 0});
    sched.run(message_budget);
    // Read to its end, it waits for its idle timer: end it and that timer.
    caf::anon_send_exit(tail, caf::exit_reason::kill);
    sched.run();
    while (sched.has_pending_timeout()) {
      sched.trigger_timeouts();
      sched.run();
    }
    if (rec->bytes != file_size) {
      state.SkipWithError("the tail did not ship the whole file");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * file_size));
  state.counters["blocks"] = static_cast<double>(rec->blocks);
  caf::anon_send_exit(watcher, caf::exit_reason::kill);
  caf::anon_send_exit(bus, caf::exit_reason::kill);
  sched.run();
}

BENCHMARK(file_tail_read)
  ->ArgsProduct({{0, 1}, {64, 256}, {16}})
  ->ArgNames({"line_mode", "block_KiB", "MiB"})
  ->Unit(benchmark::kMillisecond);

} // namespace
} // namespace logpipe::bench

BENCHMARK_MAIN();
