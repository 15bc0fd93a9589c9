// The file output writing blocks of log lines to a temporary folder, in the
// flat and by_origin layouts, 4 streams (origin, file name) in turn:
//   file_sink_write       the actor (actors/file_output/file_sink.*) under CAF's test
//                         coordinator, acking to a bus double: everything it
//                         does per block (name checks, by_origin's record of
//                         written bytes, the ack) on this thread;
//   output_folder_append  its folder alone (actors/file_output/output_folder.*), to tell
//                         the actor's share from the file system's.
// One iteration writes 16 MiB into fresh files (the files and the actor's
// state are made afresh and removed outside the timed part). Writes land in
// the page cache: this measures the system calls and copies, not the disk.
//
//   file_sink_benchmark                            # the table
//   file_sink_benchmark --benchmark_min_time=0.01  # smoke run (CTest: file_sink_benchmark_smoke)

#include "actors/builtin/builtin_kinds.hpp"
#include "actors/core/component_registry.hpp"
#include "actors/core/logging.hpp"
#include "actors/file_output/file_sink.hpp"
#include "actors/file_output/output_folder.hpp"
#include "config/config.hpp"
#include "coordinator_config.hpp"
#include "log_lines.hpp"
#include "messages/registration.hpp"
#include "temp_folder.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/make_message.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace logpipe::bench {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t batch_bytes = 16 * 1024 * 1024;
constexpr std::size_t streams = 4;

/// One iteration's blocks: `streams` sources in turn, each at increasing
/// offsets, as a by_origin output receives them from collectors.
std::vector<log_block> make_batch(std::size_t block_size) {
  const auto text = log_text(block_size);
  std::vector<log_block> batch;
  for (std::size_t i = 0; i < batch_bytes / block_size; ++i) {
    const auto stream = i % streams;
    log_block blk;
    blk.origin = "web-" + std::to_string(stream);
    blk.file_name = "app-" + std::to_string(stream) + ".log";
    blk.source_id = 1000 + stream;
    blk.offset = (i / streams) * block_size;
    blk.flags = line_aligned;
    blk.input = 0;
    blk.seq = i;
    blk.bytes.assign(text.begin(), text.end());
    batch.push_back(std::move(blk));
  }
  return batch;
}

/// Bytes of all the files under `path`.
std::uintmax_t bytes_under(const fs::path& path) {
  std::uintmax_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(path))
    if (entry.is_regular_file())
      total += entry.file_size();
  return total;
}

/// Empties `path` (and creates it if missing).
void make_empty(const fs::path& path) {
  fs::remove_all(path);
  fs::create_directories(path);
}

folder_layout layout_of(const benchmark::State& state) {
  return state.range(0) != 0 ? folder_layout::by_origin : folder_layout::flat;
}

/// Counts the acks it gets from outputs.
bus_actor::behavior_type counting_bus(bus_actor::pointer, std::shared_ptr<std::uint64_t> acks) {
  return {
    [=](attach_atom, input_atom, std::uint32_t) -> std::uint64_t { return 0; },
    [=](attach_atom, output_atom, std::uint32_t) {},
    [=](detach_atom, output_atom, std::uint32_t) {},
    [=](publish_atom, const log_block&) {},
    [=](ack_atom, std::uint32_t, std::uint32_t, std::uint64_t) { ++*acks; },
    [=](status_atom) { return bus_status{}; },
  };
}

/// `[[outputs]] type = "file"` on `out` with `layout`, as the agent loads it.
config::component_config file_output_config(const fs::path& out, folder_layout layout) {
  component_registry kinds;
  register_builtin_kinds(kinds);
  const std::string text = "[[outputs]]\ntype = \"file\"\npath = \"" + out.string()
                           + "\"\nlayout = \""
                           + (layout == folder_layout::by_origin ? "by_origin" : "flat")
                           + "\"\n";
  return config::load_string(text, out.parent_path() / "agent.toml", kinds).outputs.at(0);
}

void file_sink_write(benchmark::State& state) {
  const auto block_size = static_cast<std::size_t>(state.range(1)) * 1024;
  // The output's own summary line at every stop would flood the table.
  log::setup("", config::log_level::warn);
  temp_folder base{"logpipe-sink-bench"};
  const auto out = base.path() / "out";
  const auto data_dir = base.path() / "data";
  // Built once, sent every iteration: the actor takes const log_block&, so
  // no bytes are copied on the way.
  std::vector<caf::message> batch;
  for (auto& blk : make_batch(block_size))
    batch.push_back(caf::make_message(publish_atom_v, std::move(blk)));

  coordinator_config cfg;
  caf::actor_system sys{cfg};
  sys.await_actors_before_shutdown(false);
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto acks = std::make_shared<std::uint64_t>(0);
  auto bus = sys.spawn(counting_bus, acks);
  component_context ctx;
  ctx.config = file_output_config(out, layout_of(state));
  ctx.bus = bus;
  ctx.agent_name = "bench";
  ctx.data_dir = data_dir.string();

  for (auto _ : state) {
    state.PauseTiming();
    make_empty(out);
    make_empty(data_dir);
    *acks = 0;
    // Not detached, unlike in the agent: the test coordinator runs it here.
    auto sink = caf::actor_cast<caf::actor>(sys.spawn(file_sink, ctx));
    sched.run();
    state.ResumeTiming();
    for (const auto& msg : batch)
      caf::anon_send(sink, msg);
    sched.run();
    state.PauseTiming();
    caf::anon_send_exit(sink, caf::exit_reason::kill);
    sched.run();
    while (sched.has_pending_timeout()) {
      sched.trigger_timeouts();
      sched.run();
    }
    const bool all_written = *acks == batch.size() && bytes_under(out) == batch_bytes;
    state.ResumeTiming();
    if (!all_written) {
      state.SkipWithError("the output did not write and ack every block");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch_bytes));
  caf::anon_send_exit(bus, caf::exit_reason::kill);
  sched.run();
}

void output_folder_append(benchmark::State& state) {
  const auto block_size = static_cast<std::size_t>(state.range(1)) * 1024;
  temp_folder base{"logpipe-folder-bench"};
  output_folder_settings settings;
  settings.path = (base.path() / "out").string();
  settings.layout = layout_of(state);
  const auto batch = make_batch(block_size);
  for (auto _ : state) {
    state.PauseTiming();
    make_empty(settings.path);
    auto folder = std::make_unique<output_folder>(settings);
    state.ResumeTiming();
    for (const auto& blk : batch) {
      auto result = folder->append(blk.origin, blk.file_name, blk.bytes.data(), blk.bytes.size());
      if (result.outcome != append_result::written) {
        state.SkipWithError(result.problem.c_str());
        return;
      }
    }
    state.PauseTiming();
    folder.reset();
    const bool all_written = bytes_under(settings.path) == batch_bytes;
    state.ResumeTiming();
    if (!all_written) {
      state.SkipWithError("the folder did not write every block");
      return;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch_bytes));
}

BENCHMARK(file_sink_write)
  ->ArgsProduct({{0, 1}, {4, 64}})
  ->ArgNames({"by_origin", "block_KiB"})
  ->Unit(benchmark::kMillisecond);
BENCHMARK(output_folder_append)
  ->ArgsProduct({{0, 1}, {4, 64}})
  ->ArgNames({"by_origin", "block_KiB"})
  ->Unit(benchmark::kMillisecond);

} // namespace
} // namespace logpipe::bench

BENCHMARK_MAIN();
