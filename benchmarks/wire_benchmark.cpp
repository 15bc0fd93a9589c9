// The 1.x wire codec (actors/tcp/wire.*) on the blocks it carries: a 64 KiB block
// of log lines, and a one-line block (a sender that ships each line as it
// comes). Bytes per second count the blocks' payload, not the framing.
//
//   wire_benchmark                            # the table
//   wire_benchmark --benchmark_min_time=0.01  # smoke run (CTest: wire_benchmark_smoke)

#include "actors/tcp/wire.hpp"
#include "log_lines.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace logpipe::bench {
namespace {

constexpr const char* file_name = "checkout.log";
/// What tcp_session asks CAF for at a time: the decoder gets pieces this big.
constexpr std::size_t read_size = 256 * 1024;
/// Bytes of payload a decode iteration runs through.
constexpr std::size_t stream_payload = 4 * 1024 * 1024;

enum class block_shape { one_line, kib64 };

std::string block_text(block_shape shape) {
  return shape == block_shape::one_line ? log_line() : log_text(64 * 1024);
}

/// Whether `message` is one message carrying exactly `text`.
bool decodes_to(const std::vector<char>& message, const std::string& text) {
  wire::decoder decoder;
  std::vector<wire::block> blocks;
  return decoder.feed(message.data(), message.size(), blocks) && decoder.between_messages()
         && blocks.size() == 1 && blocks[0].file_name == file_name
         && std::string(blocks[0].bytes.begin(), blocks[0].bytes.end()) == text;
}

// As tcp_sink does: one message per block, appended to a reused buffer.
void wire_encode(benchmark::State& state, block_shape shape) {
  const auto text = block_text(shape);
  const auto max_block = std::max(text.size(), wire::max_block_1x);
  std::vector<char> out;
  out.reserve(text.size() + 1024);
  for (auto _ : state) {
    out.clear();
    wire::encode_message(file_name, text.data(), text.size(), out, max_block);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  if (!decodes_to(out, text)) {
    state.SkipWithError("the message does not decode to the block");
    return;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["wire_bytes"] = static_cast<double>(out.size());
}

// As tcp_session does: a stream of messages fed in read_size pieces, each
// piece's blocks collected in a fresh vector.
void wire_decode(benchmark::State& state, block_shape shape) {
  const auto text = block_text(shape);
  const std::size_t messages = std::max<std::size_t>(1, stream_payload / text.size());
  std::vector<char> stream;
  // encode_message reserves exactly what one message needs: without this,
  // every small message would copy the whole stream.
  stream.reserve(messages * (text.size() + 64));
  for (std::size_t i = 0; i < messages; ++i)
    wire::encode_message(file_name, text.data(), text.size(), stream);
  for (auto _ : state) {
    wire::decoder decoder;
    std::size_t blocks = 0;
    for (std::size_t done = 0; done < stream.size(); done += read_size) {
      std::vector<wire::block> out;
      const auto n = std::min(read_size, stream.size() - done);
      if (!decoder.feed(stream.data() + done, n, out)) {
        state.SkipWithError(decoder.error().c_str());
        return;
      }
      blocks += out.size();
      benchmark::DoNotOptimize(out.data());
    }
    if (blocks != messages || !decoder.between_messages()) {
      state.SkipWithError("the decoder did not give back every block");
      return;
    }
  }
  const auto iterations = static_cast<std::int64_t>(state.iterations());
  state.SetItemsProcessed(iterations * static_cast<std::int64_t>(messages));
  state.SetBytesProcessed(iterations * static_cast<std::int64_t>(messages * text.size()));
}

BENCHMARK_CAPTURE(wire_encode, one_line, block_shape::one_line);
BENCHMARK_CAPTURE(wire_encode, 64KiB, block_shape::kib64);
BENCHMARK_CAPTURE(wire_decode, one_line, block_shape::one_line)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(wire_decode, 64KiB, block_shape::kib64)->Unit(benchmark::kMicrosecond);

} // namespace
} // namespace logpipe::bench

BENCHMARK_MAIN();
