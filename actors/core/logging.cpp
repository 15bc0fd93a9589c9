#include "actors/core/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <memory>
#include <mutex>

namespace logpipe::log {

namespace {

std::atomic<int> min_level{static_cast<int>(config::log_level::info)};
std::mutex logger_mutex;
std::shared_ptr<spdlog::logger> current_logger;

std::shared_ptr<spdlog::logger> make_logger(spdlog::sink_ptr sink) {
  auto result = std::make_shared<spdlog::logger>("logpipe", std::move(sink));
  // Our facade filters by level and prints the level name itself, since
  // spdlog has no "notice".
  result->set_level(spdlog::level::trace);
  result->set_pattern("%Y-%m-%d %H:%M:%S.%e [%P] %v");
  result->flush_on(spdlog::level::trace);
  return result;
}

std::shared_ptr<spdlog::logger> logger() {
  std::lock_guard<std::mutex> guard{logger_mutex};
  if (!current_logger)
    current_logger = make_logger(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  return current_logger;
}

} // namespace

void setup(const std::string& file, config::log_level level) {
  spdlog::sink_ptr sink;
  if (file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file);
    } catch (const spdlog::spdlog_ex& e) {
      throw std::runtime_error("cannot open log file " + file + ": " + e.what());
    }
  }
  auto fresh = make_logger(std::move(sink));
  {
    std::lock_guard<std::mutex> guard{logger_mutex};
    current_logger = std::move(fresh);
  }
  min_level = static_cast<int>(level);
}

bool enabled(config::log_level level) {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

void write(config::log_level level, const std::string& text) {
  logger()->info("{}: {}", config::to_string(level), text);
}

} // namespace logpipe::log
