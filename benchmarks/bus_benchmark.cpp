// Bus fan-out throughput with the real (multi-threaded) scheduler: a producer
// input with a credit window publishes 64 KiB blocks through the real bus to
// N no-op outputs that ack at once. One iteration is a batch of blocks, timed
// from the first publish until the bus has returned the credit of the last.
//
//   bus_benchmark                            # the table (1 and 3 outputs, 1 and 2 threads)
//   bus_benchmark --benchmark_min_time=0.01  # smoke run (CTest: bus_benchmark_smoke)

#include "actors/core/bus.hpp"
#include "actors/core/credit_window.hpp"
#include "messages/registration.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace logpipe::bench {
namespace {

constexpr std::size_t block_size = 64 * 1024;
constexpr std::uint64_t window = 64;
constexpr std::uint64_t blocks_per_iteration = 256; // 16 MiB

using go_atom = caf::atom_constant<caf::atom("go")>;
constexpr go_atom go_atom_v{};

/// An input that, on (go, n), publishes n blocks within its window and
/// answers n once the bus has acked them all.
using producer_actor =
  input_actor::extend<caf::replies_to<go_atom, std::uint64_t>::with<std::uint64_t>>;

struct producer_state {
  static constexpr const char* name = "bench_producer";
  producer_state() : credit(window) {}
  credit_window credit;
  std::uint64_t to_publish = 0;
  std::uint64_t to_ack = 0;
  std::uint64_t batch = 0;
  caf::typed_response_promise<std::uint64_t> done;
};

producer_actor::behavior_type
producer(producer_actor::stateful_pointer<producer_state> self, bus_actor bus) {
  auto pump = [=] {
    auto& st = self->state;
    while (st.to_publish > 0 && st.credit.available()) {
      log_block blk;
      blk.origin = "bench";
      blk.file_name = "bench.log";
      blk.input = 0;
      blk.seq = st.credit.take();
      // Allocated (and zeroed) here, as the exec input does before read().
      blk.bytes.resize(block_size);
      --st.to_publish;
      self->send(bus, publish_atom_v, std::move(blk));
    }
  };
  self->request(bus, caf::infinite, attach_atom_v, input_atom_v, std::uint32_t{0})
    .then([=](std::uint64_t first) {
      self->state.credit.open(first);
      pump();
    });
  return {
    [=](go_atom, std::uint64_t n) -> caf::typed_response_promise<std::uint64_t> {
      auto& st = self->state;
      st.to_publish = n;
      st.to_ack = n;
      st.batch = n;
      st.done = self->make_response_promise<std::uint64_t>();
      pump();
      return st.done;
    },
    [=](ack_atom, std::uint64_t seq) {
      auto& st = self->state;
      if (!st.credit.ack(seq))
        return;
      if (--st.to_ack == 0)
        st.done.deliver(st.batch);
      else
        pump();
    },
    [=](stop_atom) { return true; },
  };
}

/// An output that acks every block as soon as it gets it.
output_actor::behavior_type noop_output(output_actor::pointer self,
                                        std::uint32_t index, bus_actor bus) {
  self->send(bus, attach_atom_v, output_atom_v, index);
  return {
    [=](publish_atom, const log_block& blk) {
      self->send(bus, ack_atom_v, index, blk.input, blk.seq);
    },
  };
}

struct bench_config : caf::actor_system_config {
  explicit bench_config(std::size_t threads) {
    register_types(*this);
    set("scheduler.max-threads", threads);
    set("logger.file-verbosity", caf::atom("quiet"));
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

void bus_fanout(benchmark::State& state) {
  const auto outputs = static_cast<std::uint32_t>(state.range(0));
  const auto threads = static_cast<std::size_t>(state.range(1));
  // One actor system, bus, outputs and producer for the whole run; each
  // iteration is one batch through them.
  bench_config cfg{threads};
  caf::actor_system sys{cfg};
  std::vector<output_policy> policies;
  for (std::uint32_t i = 0; i < outputs; ++i)
    policies.push_back({"noop#" + std::to_string(i + 1), false, window});
  auto bus = sys.spawn(logpipe::bus, std::move(policies));
  std::vector<output_actor> outs;
  for (std::uint32_t i = 0; i < outputs; ++i)
    outs.push_back(sys.spawn(noop_output, i, bus));
  auto prod = sys.spawn(producer, bus);
  caf::scoped_actor self{sys};
  auto run_batch = [&] {
    std::uint64_t acked = 0;
    self->request(prod, caf::infinite, go_atom_v, blocks_per_iteration)
      .receive([&](std::uint64_t n) { acked = n; },
               [&](caf::error& err) { state.SkipWithError(sys.render(err).c_str()); });
    return acked;
  };
  // Warm-up: attach, first allocations.
  run_batch();
  for (auto _ : state) {
    if (run_batch() != blocks_per_iteration) {
      state.SkipWithError("a batch was not fully acked");
      break;
    }
  }
  const auto blocks = static_cast<std::int64_t>(state.iterations() * blocks_per_iteration);
  state.SetItemsProcessed(blocks);
  state.SetBytesProcessed(blocks * static_cast<std::int64_t>(block_size));
  state.counters["outputs"] = outputs;
  self->send_exit(prod, caf::exit_reason::user_shutdown);
  for (auto& out : outs)
    self->send_exit(out, caf::exit_reason::user_shutdown);
  self->send_exit(bus, caf::exit_reason::user_shutdown);
}

// Real time: the work happens on CAF's worker threads, not this one. Both
// scheduler sizes, since hand-offs between worker threads cost more than the
// bus's own work.
BENCHMARK(bus_fanout)
  ->ArgsProduct({{1, 3}, {1, 2}})
  ->ArgNames({"outputs", "threads"})
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond);

} // namespace
} // namespace logpipe::bench

BENCHMARK_MAIN();
