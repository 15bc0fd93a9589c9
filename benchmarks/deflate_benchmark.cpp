// One zlib stream per block (actors/shared/deflate.*), as a file input compresses
// and a file output inflates: a 64 KiB block and the largest one a 1.x node
// takes (max_deflate_input), at levels 1 and 6. Bytes per second count the
// uncompressed bytes both ways; `ratio` is uncompressed / compressed.
//
//   deflate_benchmark                            # the table
//   deflate_benchmark --benchmark_min_time=0.01  # smoke run (CTest: deflate_benchmark_smoke)

#include "actors/shared/deflate.hpp"
#include "log_lines.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

namespace logpipe::bench {
namespace {

void report(benchmark::State& state, std::size_t plain, std::size_t compressed) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(plain));
  state.counters["ratio"] = static_cast<double>(plain) / static_cast<double>(compressed);
}

// As file_tail does: the output buffer is reused from block to block.
void block_deflate(benchmark::State& state) {
  const auto text = log_text(static_cast<std::size_t>(state.range(0)));
  const auto level = static_cast<int>(state.range(1));
  std::vector<char> out;
  for (auto _ : state) {
    deflate_block(text.data(), text.size(), level, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  std::vector<char> back;
  std::string error;
  if (!inflate_block(out.data(), out.size(), back, error)
      || std::string(back.begin(), back.end()) != text) {
    state.SkipWithError("the stream does not inflate to the block");
    return;
  }
  report(state, text.size(), out.size());
}

// As file_sink does: the output buffer is cleared and reused.
void block_inflate(benchmark::State& state) {
  const auto text = log_text(static_cast<std::size_t>(state.range(0)));
  std::vector<char> compressed;
  deflate_block(text.data(), text.size(), static_cast<int>(state.range(1)), compressed);
  std::vector<char> out;
  std::string error;
  for (auto _ : state) {
    out.clear();
    if (!inflate_block(compressed.data(), compressed.size(), out, error)) {
      state.SkipWithError(error.c_str());
      return;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  if (std::string(out.begin(), out.end()) != text) {
    state.SkipWithError("inflated bytes differ from the original");
    return;
  }
  report(state, text.size(), compressed.size());
}

const std::vector<std::int64_t> sizes = {64 * 1024, static_cast<std::int64_t>(max_deflate_input)};

BENCHMARK(block_deflate)
  ->ArgsProduct({sizes, {1, 6}})
  ->ArgNames({"bytes", "level"})
  ->Unit(benchmark::kMicrosecond);
BENCHMARK(block_inflate)
  ->ArgsProduct({sizes, {1, 6}})
  ->ArgNames({"bytes", "level"})
  ->Unit(benchmark::kMicrosecond);

} // namespace
} // namespace logpipe::bench

BENCHMARK_MAIN();
