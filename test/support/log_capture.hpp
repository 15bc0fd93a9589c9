#pragma once

// Sends the agent's log to a temporary file for the life of the object, so a
// test can check what was logged.

#include "actors/core/logging.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace logpipe::test {

class log_capture {
public:
  log_capture()
    : file_(std::filesystem::temp_directory_path()
            / ("logpipe-test-log-" + std::to_string(::getpid()) + ".log")) {
    std::filesystem::remove(file_);
    log::setup(file_.string(), config::log_level::debug);
  }

  ~log_capture() {
    log::setup("", config::log_level::info);
    std::error_code ec;
    std::filesystem::remove(file_, ec);
  }

  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// Everything logged so far.
  std::string text() const {
    std::ifstream in(file_);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

  bool contains(const std::string& part) const {
    return text().find(part) != std::string::npos;
  }

private:
  std::filesystem::path file_;
};

} // namespace logpipe::test
