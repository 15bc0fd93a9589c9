// The file input end to end: the real `logpipe` binary (monitor and worker)
// watching a real folder, a stdout output captured to a file, and the test
// process itself writing the watched files (open/append/write/close, or a
// descriptor kept open), so that what is written, when, is under control.
//
// Every line the tests write is numbered and tagged with the file (or the
// part of a file) it belongs to: "<tag> <7 digits>[ <padding>]\n". The
// output is parsed back into (tag, number) pairs, so that loss, duplication
// and order are checked per file, with exact counts.

#include "test/support/process_helpers.hpp"

#include "actors/file_input/checkpoint_store.hpp"

#include <gtest/gtest.h>

#include <functional>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace logpipe::proc_test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const std::string binary = LOGPIPE_BINARY;

// --- Lines ----------------------------------------------------------------------

/// "<tag> <n, 7 digits>\n", or with `pad` > 0 "<tag> <n> xxx...x\n" (pad 'x's).
std::string line(const std::string& tag, long n, std::size_t pad = 0) {
  char number[16];
  std::snprintf(number, sizeof number, "%07ld", n);
  std::string out = tag + " " + number;
  if (pad > 0)
    out += " " + std::string(pad, 'x');
  out += '\n';
  return out;
}

/// Lines first..last (inclusive) of `tag`, concatenated.
std::string lines(const std::string& tag, long first, long last, std::size_t pad = 0) {
  std::string out;
  for (long n = first; n <= last; ++n)
    out += line(tag, n, pad);
  return out;
}

struct parsed_output {
  /// (tag, number) of every well-formed line, in output order.
  std::vector<std::pair<std::string, long>> entries;
  /// Lines that are not exactly line(tag, n, pad) (a trailing piece without
  /// its newline included).
  std::vector<std::string> bad;
  /// Lines that were bad but ended with a whole good line (a block cut short
  /// by a kill -9, then the next worker's output): counted, and the good
  /// line kept.
  std::size_t repaired = 0;

  std::map<std::string, std::vector<long>> by_tag() const {
    std::map<std::string, std::vector<long>> out;
    for (const auto& [tag, n] : entries)
      out[tag].push_back(n);
    return out;
  }
};

std::optional<std::pair<std::string, long>> parse_line(const std::string& text,
                                                       std::size_t pad) {
  auto space = text.find(' ');
  if (space == std::string::npos || space == 0 || text.size() < space + 8)
    return std::nullopt;
  auto digits = text.substr(space + 1, 7);
  if (!has_shape(digits, "#######"))
    return std::nullopt;
  std::pair<std::string, long> out{text.substr(0, space), std::stol(digits)};
  if (line(out.first, out.second, pad) != text + "\n")
    return std::nullopt;
  return out;
}

/// Parses `text`. `repair_width`: the length of every line (without '\n'),
/// when all are the same: a bad line longer than that whose last
/// `repair_width` bytes are a good line counts as repaired.
parsed_output parse_output(const std::string& text, std::size_t pad = 0,
                           std::size_t repair_width = 0) {
  parsed_output out;
  std::size_t start = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    auto piece = text.substr(start, nl - start);
    start = nl + 1;
    if (auto p = parse_line(piece, pad)) {
      out.entries.push_back(*p);
      continue;
    }
    if (repair_width > 0 && piece.size() > repair_width) {
      if (auto p = parse_line(piece.substr(piece.size() - repair_width), pad)) {
        out.entries.push_back(*p);
        ++out.repaired;
        continue;
      }
    }
    out.bad.push_back(piece);
  }
  if (start < text.size())
    out.bad.push_back(text.substr(start) + " (no newline)");
  return out;
}

std::string describe_bad(const parsed_output& p) {
  std::string out;
  for (std::size_t i = 0; i < p.bad.size() && i < 5; ++i)
    out += "  \"" + p.bad[i].substr(0, 120) + "\"\n";
  return std::to_string(p.bad.size()) + " malformed lines:\n" + out;
}

/// Whether `seq` is exactly first, first+1, ..., last; otherwise what is wrong.
::testing::AssertionResult is_range(const std::vector<long>& seq, long first, long last,
                                    const std::string& what) {
  const auto expected = static_cast<std::size_t>(last - first + 1);
  for (std::size_t i = 0; i < seq.size() && i < expected; ++i)
    if (seq[i] != first + static_cast<long>(i)) {
      std::set<long> distinct(seq.begin(), seq.end());
      return ::testing::AssertionFailure()
             << what << ": entry " << i << " is " << seq[i] << ", expected " << first + static_cast<long>(i)
             << " (" << seq.size() << " lines, " << distinct.size() << " distinct, expected "
             << expected << " lines " << first << ".." << last << "; "
             << seq.size() - distinct.size() << " duplicates)";
    }
  if (seq.size() != expected)
    return ::testing::AssertionFailure()
           << what << ": " << seq.size() << " lines, expected " << expected << " (" << first
           << ".." << last << ")" << (seq.empty() ? "" : ", last is " + std::to_string(seq.back()));
  return ::testing::AssertionSuccess();
}

/// Whether `actual` is `expected`; otherwise their sizes and where they
/// first differ (without printing megabytes).
::testing::AssertionResult same_text(const std::string& actual, const std::string& expected) {
  if (actual == expected)
    return ::testing::AssertionSuccess();
  std::size_t at = 0;
  while (at < actual.size() && at < expected.size() && actual[at] == expected[at])
    ++at;
  auto around = [&](const std::string& text) {
    auto from = at < 40 ? 0 : at - 40;
    return ::testing::PrintToString(text.substr(from, 80));
  };
  return ::testing::AssertionFailure()
         << actual.size() << " bytes, expected " << expected.size() << "; first difference at byte "
         << at << ":\n  actual:   ..." << around(actual) << "\n  expected: ..." << around(expected);
}

// --- Writing ----------------------------------------------------------------------

/// Writes all of `text` to `fd` (throws on error).
void write_all(int fd, const std::string& text) {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw std::system_error(errno, std::generic_category(), "write");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

/// A descriptor opened for appending (O_APPEND, created if needed), kept open.
class appender {
public:
  explicit appender(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw std::system_error(errno, std::generic_category(), "open " + path);
  }
  appender(const appender&) = delete;
  appender& operator=(const appender&) = delete;
  ~appender() {
    close();
  }
  void write(const std::string& text) {
    write_all(fd_, text);
  }
  int fd() const {
    return fd_;
  }
  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

/// Opens `path` (O_APPEND, created if needed), writes `text`, closes it.
void append(const std::string& path, const std::string& text) {
  appender(path).write(text);
}

std::vector<std::string> names_in(const std::string& folder) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(folder))
    out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// --- Processes ---------------------------------------------------------------------

/// The targets of the open descriptors of `pid` ("path (deleted)" for an
/// unlinked file).
std::vector<std::string> open_files_of(pid_t pid) {
  std::vector<std::string> out;
  auto dir_name = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* dir = ::opendir(dir_name.c_str())) {
    while (auto* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.')
        continue;
      char target[4096];
      auto n = ::readlink((dir_name + "/" + entry->d_name).c_str(), target, sizeof target - 1);
      if (n > 0)
        out.emplace_back(target, static_cast<std::size_t>(n));
    }
    ::closedir(dir);
  }
  return out;
}

/// Whether `pid` has a descriptor open on a path starting with `prefix`.
bool has_open_prefix(pid_t pid, const std::string& prefix) {
  auto files = open_files_of(pid);
  return std::any_of(files.begin(), files.end(),
                     [&](const std::string& f) { return f.rfind(prefix, 0) == 0; });
}

/// Whether `pid` has `file` open (or had it open when it was deleted).
bool has_open(pid_t pid, const std::string& file) {
  auto files = open_files_of(pid);
  return std::any_of(files.begin(), files.end(), [&](const std::string& f) {
    return f == file || f == file + " (deleted)";
  });
}

// --- Fixture ------------------------------------------------------------------------

class file_input : public ::testing::Test {
protected:
  temp_dir dir{"logpipe-fi"};
  // In the command line of the monitor, the worker and the rotation hooks.
  const std::string marker = dir.path() + "/";
  const std::string folder = dir.file("logs");
  const std::string log_file = dir.file("agent.log");
  const std::string out_file = dir.file("agent.out");
  const std::string err_file = dir.file("agent.err");
  const std::string config_file = dir.file("agent.toml");
  std::optional<child> agent;
  pid_t monitor = -1;
  pid_t worker = -1;

  void SetUp() override {
    fs::create_directories(folder);
  }

  void TearDown() override {
    kill_marked(marker);
    agent.reset();
    kill_marked(marker);
  }

  std::string path(const std::string& name) const {
    return folder + "/" + name;
  }

  /// Writes the configuration: one file input named "logs" watching
  /// `folder` with the keys `input_keys` (TOML lines), one stdout output.
  void configure(const std::string& input_keys) {
    write_file(config_file, "[agent]\n"
                            "name = \"fi-test\"\n"
                            "data_dir = \"" + dir.file("data") + "\"\n"
                            "shutdown_grace = \"5s\"\n"
                            "[log]\n"
                            "file = \"" + log_file + "\"\n"
                            "level = \"info\"\n"
                            "[[inputs]]\n"
                            "type = \"file\"\n"
                            "name = \"logs\"\n"
                            "path = \"" + folder + "\"\n"
                            + input_keys +
                            "[[outputs]]\n"
                            "type = \"stdout\"\n");
  }

  std::vector<log_line> log() const {
    return read_log(log_file);
  }

  std::size_t log_count(const std::string& part) const {
    std::size_t n = 0;
    for (const auto& l : log())
      n += l.text.find(part) != std::string::npos ? 1 : 0;
    return n;
  }

  std::string watching() const {
    return "input logs: watching " + folder + " (";
  }

  /// The worker: the monitor's child.
  pid_t find_worker() const {
    for (auto pid : children_of(monitor))
      if (cmdline_of(pid).find(marker) != std::string::npos)
        return pid;
    return -1;
  }

  /// Starts `logpipe --no-daemon` and waits until its worker watches the folder.
  void start_agent(std::vector<std::string> extra = {}) {
    const auto before = log_count(watching());
    std::vector<std::string> args{binary, "--no-daemon", "-f", config_file};
    args.insert(args.end(), extra.begin(), extra.end());
    agent.emplace(args, out_file, err_file);
    monitor = agent->pid();
    ASSERT_TRUE(wait_until([&] { return log_count(watching()) > before || agent->ended(); }))
      << "the agent does not watch " << folder << "\n--- log:\n" << read_file(log_file)
      << "--- stderr:\n" << read_file(err_file);
    ASSERT_FALSE(agent->ended()) << "the agent ended\n--- log:\n" << read_file(log_file)
                                 << "--- stderr:\n" << read_file(err_file);
    worker = find_worker();
    ASSERT_GT(worker, 0) << "no worker under monitor " << monitor;
  }

  /// SIGTERM to the monitor: it must exit with 0 after the worker drained.
  void stop_agent() {
    const auto drained = log_count("stopped; every block delivered");
    ASSERT_EQ(::kill(monitor, SIGTERM), 0);
    auto status = agent->wait_exit();
    ASSERT_TRUE(status) << "the agent did not stop\n--- log:\n" << read_file(log_file);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << describe_wait_status(*status) << "\n--- log:\n" << read_file(log_file);
    EXPECT_EQ(log_count("stopped; every block delivered"), drained + 1) << read_file(log_file);
    agent.reset();
  }

  std::uint64_t out_size() const {
    return size_of(out_file);
  }

  /// The source id of every file in the input's checkpoints, by the name it
  /// is shipped under.
  std::map<std::string, std::uint64_t> source_ids() const {
    checkpoint_store store(dir.file("data/file-input-logs.checkpoints"));
    std::string error;
    EXPECT_TRUE(store.load(error)) << error;
    std::map<std::string, std::uint64_t> out;
    for (const auto& cp : store.all())
      out[cp.name] = cp.source_id;
    return out;
  }

  /// Waits until the output has at least `bytes` bytes; true if it has.
  bool wait_for_output(std::uint64_t bytes, milliseconds timeout = default_timeout) const {
    return wait_until([&] { return out_size() >= bytes; }, timeout);
  }

  std::string output() const {
    return read_file(out_file);
  }

  /// No warning and no error in the log, but for messages containing one of
  /// `allowed`.
  void expect_quiet_log(const std::vector<std::string>& allowed = {}) const {
    for (const auto& l : log()) {
      EXPECT_NE(l.pid, 0) << "log line not in the log's format: " << l.text;
      if (l.level != "warn" && l.level != "error")
        continue;
      bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) {
        return l.text.find(a) != std::string::npos;
      });
      EXPECT_TRUE(ok) << "unexpected " << l.level << " in the log: " << l.text;
    }
    EXPECT_EQ(read_file(err_file), "");
  }
};

// --- New files, appends, globs ------------------------------------------------------

TEST_F(file_input, new_files_are_shipped_from_their_first_byte_and_globs_apply) {
  configure("files = [\"*.log\", \"app-??.txt\"]\n"
            "exclude_files = [\"skip*\"]\n"
            "line_mode = true\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  EXPECT_EQ(log_count(watching() + "0 files)"), 1u) << read_file(log_file);

  // Created after the start, with content written at once.
  append(path("a.log"), lines("a", 0, 99));
  append(path("app-01.txt"), lines("p", 0, 49));
  // Not collected: no glob of `files`, a glob of `exclude_files`, and a
  // name `app-??.txt` does not match.
  append(path("c.txt"), lines("c", 0, 9));
  append(path("skip.log"), lines("s", 0, 9));
  append(path("app-100.txt"), lines("q", 0, 9));
  std::uint64_t expected = 100 * 10 + 50 * 10;
  ASSERT_TRUE(wait_for_output(expected)) << output();

  // Appends, to the collected files and to the others.
  append(path("a.log"), lines("a", 100, 199));
  append(path("c.txt"), lines("c", 10, 19));
  append(path("skip.log"), lines("s", 10, 19));
  // A file created empty, written later.
  appender b(path("b.log"));
  append(path("app-01.txt"), lines("p", 50, 99));
  b.write(lines("b", 0, 9));
  b.write(lines("b", 10, 29));
  expected += 100 * 10 + 50 * 10 + 30 * 10;
  ASSERT_TRUE(wait_for_output(expected)) << output();
  ASSERT_NO_FATAL_FAILURE(stop_agent());

  auto parsed = parse_output(output());
  EXPECT_TRUE(parsed.bad.empty()) << describe_bad(parsed);
  auto tags = parsed.by_tag();
  EXPECT_TRUE(is_range(tags["a"], 0, 199, "a.log"));
  EXPECT_TRUE(is_range(tags["p"], 0, 99, "app-01.txt"));
  EXPECT_TRUE(is_range(tags["b"], 0, 29, "b.log"));
  EXPECT_EQ(tags.count("c"), 0u) << "c.txt (not in files) was shipped";
  EXPECT_EQ(tags.count("s"), 0u) << "skip.log (excluded) was shipped";
  EXPECT_EQ(tags.count("q"), 0u) << "app-100.txt (no match) was shipped";
  EXPECT_EQ(tags.size(), 3u);
  EXPECT_EQ(out_size(), expected);
  expect_quiet_log();
}

// --- read_from_head ------------------------------------------------------------------

class file_input_head : public file_input {
protected:
  /// `old.log` is there before the very first start; `appended` is written
  /// once the agent watches. Returns the output after a clean stop.
  std::string run_first_start(const std::string& keys, std::vector<std::string> extra = {}) {
    append(path("old.log"), lines("o", 0, 499));
    configure(keys);
    start_agent(std::move(extra));
    if (HasFatalFailure())
      return {};
    EXPECT_EQ(log_count(watching() + "1 files)"), 1u) << read_file(log_file);
    append(path("old.log"), lines("o", 500, 509));
    // Ends when the appended lines are there: they come after the old ones.
    EXPECT_TRUE(wait_until([&] { return output().find(line("o", 509)) != std::string::npos; }))
      << "the appended lines did not arrive:\n" << output().substr(0, 2000);
    stop_agent();
    return output();
  }
};

TEST_F(file_input_head, read_from_head_false_ships_only_what_is_appended) {
  auto out = run_first_start("");
  EXPECT_TRUE(same_text(out, lines("o", 500, 509)));
  // A restart does not change that: the checkpoint is at the end.
  append(path("old.log"), lines("o", 510, 519));
  ASSERT_NO_FATAL_FAILURE(start_agent());
  ASSERT_TRUE(wait_for_output(out.size() + 100)) << output();
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  EXPECT_TRUE(same_text(output(), lines("o", 500, 519)));
  expect_quiet_log();
}

TEST_F(file_input_head, read_from_head_true_ships_the_whole_content_on_the_first_start) {
  auto out = run_first_start("read_from_head = true\n");
  EXPECT_TRUE(same_text(out, lines("o", 0, 509)));
  // Only the first start: the restart resumes after its checkpoint.
  append(path("old.log"), lines("o", 510, 519));
  ASSERT_NO_FATAL_FAILURE(start_agent());
  ASSERT_TRUE(wait_for_output(out.size() + 100)) << output();
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  EXPECT_TRUE(same_text(output(), lines("o", 0, 519)));
  expect_quiet_log();
}

TEST_F(file_input_head, start_once_full_dose_reads_from_head_on_the_first_start) {
  auto out = run_first_start("", {"--start-once-for-env", "start_once_for_full_dose 1"});
  EXPECT_TRUE(same_text(out, lines("o", 0, 509)));
  EXPECT_EQ(log_count("first start: passing start_once_for_full_dose=1 to the components"), 1u)
    << read_file(log_file);
  // Given again on a later start, it changes nothing: checkpoints exist.
  append(path("old.log"), lines("o", 510, 519));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--start-once-for-env", "start_once_for_full_dose 1"}));
  ASSERT_TRUE(wait_for_output(out.size() + 100)) << output();
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  EXPECT_TRUE(same_text(output(), lines("o", 0, 519)));
  expect_quiet_log();
}

// --- Rotation by rename ---------------------------------------------------------------

constexpr long rotate_total = 200000;

/// Tag of the file (the k-th app.log) that line `n` is written to.
std::string part_tag(long n, long per_file) {
  auto k = std::to_string(n / per_file);
  return "r" + std::string(k.size() < 3 ? 3 - k.size() : 0, '0') + k;
}

/// Checks that every line 0..total-1 arrived exactly once, each file's
/// lines in order.
void expect_every_rotated_line_once(const std::string& out, long per_file) {
  auto parsed = parse_output(out);
  EXPECT_TRUE(parsed.bad.empty()) << describe_bad(parsed);
  EXPECT_EQ(parsed.entries.size(), static_cast<std::size_t>(rotate_total));
  std::vector<int> seen(rotate_total, 0);
  std::size_t duplicates = 0, foreign = 0;
  for (const auto& [tag, n] : parsed.entries) {
    if (n < 0 || n >= rotate_total || tag != part_tag(n, per_file)) {
      ++foreign;
      continue;
    }
    duplicates += seen[static_cast<std::size_t>(n)]++ > 0 ? 1 : 0;
  }
  auto missing = static_cast<std::size_t>(std::count(seen.begin(), seen.end(), 0));
  EXPECT_EQ(missing, 0u) << "lines lost";
  EXPECT_EQ(duplicates, 0u) << "lines shipped twice";
  EXPECT_EQ(foreign, 0u) << "lines with a wrong tag or number";
  auto tags = parsed.by_tag();
  EXPECT_EQ(tags.size(), static_cast<std::size_t>(rotate_total / per_file));
  for (long k = 0; k < rotate_total / per_file; ++k) {
    auto tag = part_tag(k * per_file, per_file);
    EXPECT_TRUE(is_range(tags[tag], k * per_file, (k + 1) * per_file - 1, "file " + tag));
  }
}

// Appends rotate_total numbered lines to app.log, 20 at a time; every
// `per_file` lines `rotate(n)` renames app.log away (false: give up) and the
// writer goes on in a new app.log. Returns false if a rotation gave up.
bool write_with_rotations(const std::function<std::string(const std::string&)>& path,
                          long per_file, const std::function<bool(long)>& rotate) {
  constexpr long batch = 20;
  auto writer = std::make_unique<appender>(path("app.log"));
  for (long n = 0; n < rotate_total; n += batch) {
    if (n > 0 && n % per_file == 0) {
      if (!rotate(n))
        return false;
      writer = std::make_unique<appender>(path("app.log"));
    }
    std::string text;
    for (long i = n; i < n + batch; ++i)
      text += line(part_tag(i, per_file), i);
    writer->write(text);
  }
  return true;
}

TEST_F(file_input, rename_rotation_at_a_high_rate_rotated_names_collected) {
  // app.log.1 matches the globs: the renamed file is known by its identity
  // and never shipped twice; renaming over app.log.1 replaces the previous one.
  configure("files = [\"app.log*\"]\n"
            "line_mode = true\n"
            "close_inactive = \"200ms\"\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  constexpr long per_file = 10000;
  auto to = [this](const std::string& name) { return path(name); };
  ASSERT_TRUE(write_with_rotations(to, per_file, [&](long n) {
    // Before app.log.1 is replaced, the agent must have seen the file that
    // is app.log now (once unlinked without the agent having it open, a
    // file is gone for everyone): its first line arrived. Without it the
    // test would measure the race, not the agent.
    const auto first = line(part_tag(n - per_file, per_file), n - per_file);
    if (!wait_until([&] { return output().find(first) != std::string::npos; })) {
      ADD_FAILURE() << "the agent never shipped the first line of "
                    << part_tag(n - per_file, per_file);
      return false;
    }
    EXPECT_EQ(::rename(path("app.log").c_str(), path("app.log.1").c_str()), 0);
    return true;
  }));
  const std::uint64_t expected = rotate_total * 13;
  EXPECT_TRUE(wait_for_output(expected, 20s))
    << "only " << out_size() << " of " << expected << " bytes arrived";
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  EXPECT_EQ(out_size(), expected);
  expect_every_rotated_line_once(output(), per_file);
  expect_quiet_log();
}

TEST_F(file_input, rename_rotation_at_a_high_rate_rotated_names_not_collected) {
  // Only app.log is collected: a file renamed to app.log.<k> is read to its
  // end under the name it was shipped under, then dropped. No waiting: the
  // writer rotates as fast as it writes.
  configure("files = [\"app.log\"]\n"
            "line_mode = true\n"
            "close_inactive = \"200ms\"\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  constexpr long per_file = 5000;
  auto to = [this](const std::string& name) { return path(name); };
  ASSERT_TRUE(write_with_rotations(to, per_file, [&](long n) {
    auto rotated = path("app.log." + std::to_string(n / per_file));
    EXPECT_EQ(::rename(path("app.log").c_str(), rotated.c_str()), 0);
    return true;
  }));
  const std::uint64_t expected = rotate_total * 13;
  EXPECT_TRUE(wait_for_output(expected, 20s))
    << "only " << out_size() << " of " << expected << " bytes arrived\n--- log:\n"
    << read_file(log_file);
  // Every rotated file is finished after close_inactive: no descriptor left.
  EXPECT_TRUE(wait_until([&] { return !has_open_prefix(worker, path("app.log.")); }))
    << "the worker still has rotated files open";
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  EXPECT_EQ(out_size(), expected);
  expect_every_rotated_line_once(output(), per_file);
  expect_quiet_log();
}

TEST_F(file_input, rename_rotation_over_the_previous_file_with_inode_reuse) {
  // The usual `mv app.log app.log.1` at the pace of a real application: the
  // previous app.log.1 is replaced (unlinked), the agent finishes it and
  // closes it, and the file system may give its inode number to the next
  // app.log. That one is another file and must be shipped whole.
  configure("files = [\"app.log*\"]\n"
            "line_mode = true\n"
            "close_inactive = \"20ms\"\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  constexpr int cycles = 30;
  constexpr long per_cycle = 20;
  std::set<ino_t> inodes;
  std::size_t reused = 0;
  char tag[16];
  for (int k = 0; k < cycles; ++k) {
    std::snprintf(tag, sizeof tag, "u%02d", k);
    {
      appender app(path("app.log"));
      struct stat info;
      ASSERT_EQ(::fstat(app.fd(), &info), 0);
      reused += inodes.insert(info.st_ino).second ? 0 : 1;
      app.write(lines(tag, 0, per_cycle - 1));
    }
    const auto last = line(tag, per_cycle - 1);
    ASSERT_TRUE(wait_until([&] { return output().find(last) != std::string::npos; }))
      << "app.log of cycle " << k << " was not shipped (" << reused
      << " inode numbers reused so far)\n--- log:\n" << read_file(log_file);
    ASSERT_EQ(::rename(path("app.log").c_str(), path("app.log.1").c_str()), 0);
    // The replaced app.log.1 is finished and closed after close_inactive:
    // only then can its inode number be given again.
    ASSERT_TRUE(wait_until([&] {
      auto files = open_files_of(worker);
      return std::none_of(files.begin(), files.end(), [&](const std::string& f) {
        return f.rfind(folder, 0) == 0 && f.size() > 10 && f.substr(f.size() - 10) == " (deleted)";
      });
    })) << "a replaced app.log.1 stays open: " << testing::PrintToString(open_files_of(worker));
  }
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  std::cout << "[          ] " << reused << " of " << cycles << " app.log reused an inode number\n";
  auto parsed = parse_output(output());
  EXPECT_TRUE(parsed.bad.empty()) << describe_bad(parsed);
  auto tags = parsed.by_tag();
  EXPECT_EQ(tags.size(), static_cast<std::size_t>(cycles));
  for (int k = 0; k < cycles; ++k) {
    std::snprintf(tag, sizeof tag, "u%02d", k);
    EXPECT_TRUE(is_range(tags[tag], 0, per_cycle - 1, tag));
  }
  // Nothing here was truncated or rewritten.
  EXPECT_EQ(log_count("from 0"), 0u) << read_file(log_file);
  expect_quiet_log();
}

// --- Rotated away while the agent was down --------------------------------------------

class file_input_down : public file_input {
protected:
  /// The checkpointed offset of the file shipped as `name` (0 if none).
  std::uint64_t checkpoint_offset(const std::string& name) const {
    checkpoint_store store(dir.file("data/file-input-logs.checkpoints"));
    std::string error;
    if (!store.load(error))
      return 0;
    for (const auto& cp : store.all())
      if (cp.name == name)
        return cp.offset;
    return 0;
  }

  /// SIGKILL to the monitor and the worker: the agent is gone at once.
  void kill_agent() {
    kill_marked(marker);
    agent.reset();
  }

  /// app.log is shipped, the agent goes down (`stop`), 5,000 lines are
  /// appended and app.log renamed to app.log.1 (not collected); the next
  /// start ships the rest under app.log.
  void rotate_while_down(const std::function<void()>& down) {
    configure("files = [\"*.log\"]\n"
              "line_mode = true\n"
              "close_inactive = \"1s\"\n");
    ASSERT_NO_FATAL_FAILURE(start_agent());
    append(path("app.log"), lines("a", 0, 999));
    ASSERT_TRUE(wait_for_output(1000 * 10)) << output();
    ASSERT_TRUE(wait_until([&] { return checkpoint_offset("app.log") == 1000 * 10; }))
      << "no checkpoint at the end of app.log";
    ASSERT_NO_FATAL_FAILURE(down());
    append(path("app.log"), lines("a", 1000, 5999));
    ASSERT_EQ(::rename(path("app.log").c_str(), path("app.log.1").c_str()), 0);
    ASSERT_NO_FATAL_FAILURE(start_agent());
    // A new app.log after the rotation, as an application would write it.
    append(path("app.log"), lines("b", 0, 99));
    EXPECT_TRUE(wait_for_output(6100 * 10))
      << "only " << out_size() << " of " << 6100 * 10 << " bytes\n--- log:\n"
      << read_file(log_file);
    // Read to its end, then closed once idle.
    EXPECT_TRUE(wait_until([&] { return !has_open(worker, path("app.log.1")); }))
      << "app.log.1 is still open";
    ASSERT_NO_FATAL_FAILURE(stop_agent());
    auto parsed = parse_output(output());
    EXPECT_TRUE(parsed.bad.empty()) << describe_bad(parsed);
    auto tags = parsed.by_tag();
    std::set<long> distinct(tags["a"].begin(), tags["a"].end());
    std::cout << "[          ] " << 6000 - static_cast<long>(distinct.size())
              << " lines of app.log lost, " << tags["a"].size() - distinct.size()
              << " shipped twice\n";
    EXPECT_TRUE(is_range(tags["a"], 0, 5999, "app.log, then app.log.1"));
    EXPECT_TRUE(is_range(tags["b"], 0, 99, "the new app.log"));
    expect_quiet_log({"worker was killed by signal 9"});
  }
};

TEST_F(file_input_down, a_file_renamed_away_while_stopped_is_read_to_its_end) {
  rotate_while_down([&] { stop_agent(); });
}

TEST_F(file_input_down, a_file_renamed_away_after_kill_9_is_read_to_its_end) {
  rotate_while_down([&] { kill_agent(); });
}

// --- copytruncate ----------------------------------------------------------------------

TEST_F(file_input, copytruncate_restarts_at_zero_and_loses_nothing) {
  configure("files = [\"app.log\"]\n"
            "close_inactive = \"1s\"\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  // The application keeps its descriptor (O_APPEND, as copytruncate needs).
  appender app(path("app.log"));
  for (long n = 0; n < 5000; n += 100)
    app.write(lines("c", n, n + 99));
  ASSERT_TRUE(wait_for_output(5000 * 10)) << out_size();
  // Checkpoints are written within checkpoint_interval.
  ASSERT_TRUE(wait_until([&] { return source_ids()["app.log"] != 0; }))
    << "app.log has no checkpoint";
  const auto first_id = source_ids()["app.log"];

  // logrotate's copytruncate: copy the content away, truncate in place.
  write_file(path("app.log.1"), read_file(path("app.log")));
  ASSERT_EQ(::ftruncate(app.fd(), 0), 0);
  app.write(lines("c", 5000, 5009));
  ASSERT_TRUE(wait_until([&] { return log_count("app.log: truncated to ") == 1; }))
    << "no truncation notice\n--- log:\n" << read_file(log_file);
  // Read again from 0 under a new source id, which the checkpoint records.
  ASSERT_TRUE(wait_until([&] {
    auto id = source_ids()["app.log"];
    return id != first_id && id != 0;
  })) << "the checkpoint keeps the source id of the truncated content";
  const auto second_id = source_ids()["app.log"];
  for (long n = 5010; n < 10000; n += 10)
    app.write(lines("c", n, n + 9));
  ASSERT_TRUE(wait_for_output(10000 * 10)) << out_size();
  EXPECT_TRUE(same_text(output(), lines("c", 0, 9999)));

  // Idle for close_inactive: the descriptor is closed; the next write opens
  // the file again (it is the same file, though its first bytes changed).
  ASSERT_TRUE(wait_until([&] { return !has_open(worker, path("app.log")); }))
    << "app.log still open";
  app.write(lines("c", 10000, 10099));
  EXPECT_TRUE(wait_for_output(10100 * 10))
    << "lines written after the truncated file was closed did not arrive\n--- log:\n"
    << read_file(log_file);

  // And a restart resumes after the last byte, not from 0.
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  app.write(lines("c", 10100, 10199));
  ASSERT_NO_FATAL_FAILURE(start_agent());
  EXPECT_TRUE(wait_for_output(10200 * 10)) << out_size();
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  EXPECT_TRUE(same_text(output(), lines("c", 0, 10199)));
  EXPECT_EQ(log_count("truncated"), 1u) << read_file(log_file);
  EXPECT_EQ(source_ids()["app.log"], second_id) << "a restart changed the source id";
  expect_quiet_log();
}

TEST_F(file_input, copytruncate_while_the_worker_is_stopped_and_the_file_regrew) {
  // The file is truncated and written again past the offset the agent had
  // read while the worker cannot look (stopped here; waiting for credit
  // behind a slow output is the same): the new generation is read from 0.
  configure("files = [\"app.log\"]\n"
            "line_mode = true\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  appender app(path("app.log"));
  app.write(lines("c", 0, 999));
  ASSERT_TRUE(wait_for_output(1000 * 10)) << out_size();
  ASSERT_EQ(::kill(worker, SIGSTOP), 0);
  write_file(path("app.log.1"), read_file(path("app.log")));
  ASSERT_EQ(::ftruncate(app.fd(), 0), 0);
  app.write(lines("c", 1000, 2999)); // 20,000 bytes: past the 10,000 read
  ASSERT_EQ(::kill(worker, SIGCONT), 0);
  EXPECT_TRUE(wait_for_output(3000 * 10))
    << "only " << out_size() << " of " << 3000 * 10 << " bytes\n--- log:\n" << read_file(log_file);
  app.write(lines("c", 3000, 3099));
  EXPECT_TRUE(wait_for_output(3100 * 10)) << out_size();
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  auto parsed = parse_output(output());
  EXPECT_TRUE(parsed.bad.empty()) << describe_bad(parsed);
  auto seq = parsed.by_tag()["c"];
  std::set<long> distinct(seq.begin(), seq.end());
  std::cout << "[          ] " << 3100 - static_cast<long>(distinct.size()) << " lines lost, "
            << seq.size() - distinct.size() << " shipped twice\n";
  EXPECT_TRUE(is_range(seq, 0, 3099, "app.log, both generations"));
  EXPECT_EQ(log_count("app.log: truncated"), 1u) << read_file(log_file);
  expect_quiet_log();
}

// --- Deletion ----------------------------------------------------------------------------

TEST_F(file_input, deleted_file_is_shipped_to_its_end_then_closed) {
  configure("files = [\"*.log\"]\n"
            "close_inactive = \"1s\"\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  append(path("d.log"), lines("d", 0, 99));
  ASSERT_TRUE(wait_for_output(100 * 10)) << output();
  ASSERT_TRUE(has_open(worker, path("d.log")));

  // Written, then deleted at once.
  append(path("d.log"), lines("d", 100, 1099));
  ASSERT_EQ(::unlink(path("d.log").c_str()), 0);
  ASSERT_TRUE(wait_for_output(1100 * 10)) << out_size();
  EXPECT_TRUE(same_text(output(), lines("d", 0, 1099)));

  // After close_inactive the tail reads it a last time and closes it.
  EXPECT_TRUE(wait_until([&] { return !has_open(worker, path("d.log")); }))
    << "the deleted file is still open: " << testing::PrintToString(open_files_of(worker));

  // A new file under the same name is another file, shipped from its start.
  append(path("d.log"), lines("e", 0, 49));
  ASSERT_TRUE(wait_for_output(1150 * 10)) << output();
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  EXPECT_TRUE(same_text(output(), lines("d", 0, 1099) + lines("e", 0, 49)));
  expect_quiet_log();
}

// --- Many files ----------------------------------------------------------------------------

TEST_F(file_input, a_thousand_new_files_every_line_once) {
  configure("files = [\"*.log\"]\n"
            "line_mode = true\n"
            "close_inactive = \"1s\"\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  constexpr int files = 1000;
  constexpr long per_file = 5;
  char tag[16];
  for (int f = 0; f < files; ++f) {
    std::snprintf(tag, sizeof tag, "f%04d", f);
    append(path(std::string(tag) + ".log"), lines(tag, 0, per_file - 1));
  }
  const std::uint64_t expected = files * per_file * 14;
  ASSERT_TRUE(wait_for_output(expected, 20s))
    << "only " << out_size() << " of " << expected << " bytes\n--- log:\n" << read_file(log_file);
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  EXPECT_EQ(out_size(), expected);
  auto parsed = parse_output(output());
  EXPECT_TRUE(parsed.bad.empty()) << describe_bad(parsed);
  auto tags = parsed.by_tag();
  EXPECT_EQ(tags.size(), static_cast<std::size_t>(files));
  for (int f = 0; f < files; ++f) {
    std::snprintf(tag, sizeof tag, "f%04d", f);
    EXPECT_TRUE(is_range(tags[tag], 0, per_file - 1, tag));
  }
  expect_quiet_log();
}

// --- kill -9 of the worker -------------------------------------------------------------------

TEST_F(file_input, killed_worker_resumes_from_the_last_acked_byte) {
  constexpr int window = 8;
  constexpr std::size_t block_size = 16 * 1024;
  configure("files = [\"*.log\"]\n"
            "line_mode = true\n"
            "window = " + std::to_string(window) + "\n"
            "block_size = \"16KiB\"\n"
            // Checkpoints after every batch of acks: what comes twice is
            // then bounded by the window alone.
            "checkpoint_interval = \"0s\"\n"
            "close_inactive = \"1s\"\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  const pid_t first_worker = worker;
  const std::vector<std::string> tags{"k0", "k1", "k2"};
  std::vector<std::unique_ptr<appender>> files;
  for (const auto& t : tags)
    files.push_back(std::make_unique<appender>(path(t + ".log")));
  std::vector<long> written(tags.size(), 0);
  // Writes 10 lines to each file; the pause between steps only sets the rate
  // (about 300 KB/s), it synchronises nothing.
  auto step = [&] {
    for (std::size_t i = 0; i < tags.size(); ++i) {
      files[i]->write(lines(tags[i], written[i], written[i] + 9));
      written[i] += 10;
    }
    std::this_thread::sleep_for(milliseconds(1));
  };
  auto deadline = clock_type::now() + default_timeout;
  while (out_size() < 100 * 1024 && clock_type::now() < deadline)
    step();
  ASSERT_GE(out_size(), 100u * 1024) << "the output does not grow";
  // Three files, three generations.
  std::map<std::string, std::uint64_t> ids_before;
  ASSERT_TRUE(wait_until([&] {
    ids_before = source_ids();
    return ids_before.size() == tags.size();
  })) << ::testing::PrintToString(ids_before);
  std::set<std::uint64_t> distinct;
  for (const auto& [name, id] : ids_before) {
    EXPECT_NE(id, 0u) << name;
    distinct.insert(id);
  }
  EXPECT_EQ(distinct.size(), tags.size());

  // Mid-stream.
  ASSERT_EQ(::kill(first_worker, SIGKILL), 0);
  const auto killed_at_size = out_size();
  deadline = clock_type::now() + default_timeout;
  // Writing on while the monitor starts the next worker, until that one
  // has shipped 100 KB more.
  auto restarted = [&] {
    worker = find_worker();
    return worker > 0 && worker != first_worker && log_count(watching()) == 2
           && out_size() >= killed_at_size + 100 * 1024;
  };
  while (!restarted() && clock_type::now() < deadline)
    step();
  ASSERT_GT(worker, 0);
  ASSERT_NE(worker, first_worker) << "no new worker\n--- log:\n" << read_file(log_file);
  ASSERT_EQ(log_count(watching()), 2u) << read_file(log_file);
  files.clear();

  // Every line, up to the last one written.
  std::uint64_t expected = 0;
  for (auto w : written)
    expected += static_cast<std::uint64_t>(w) * 11;
  auto complete = [&] {
    if (out_size() < expected)
      return false;
    auto text = output();
    for (std::size_t i = 0; i < tags.size(); ++i)
      if (text.find(line(tags[i], written[i] - 1)) == std::string::npos)
        return false;
    return true;
  };
  ASSERT_TRUE(wait_until(complete)) << "incomplete output (" << out_size() << " bytes)\n--- log:\n"
                                    << read_file(log_file);
  ASSERT_NO_FATAL_FAILURE(stop_agent());

  auto parsed = parse_output(output(), 0, 10);
  EXPECT_TRUE(parsed.bad.empty()) << describe_bad(parsed);
  EXPECT_LE(parsed.repaired, 1u) << "more than one block cut short";
  auto by_tag = parsed.by_tag();
  std::size_t duplicates = 0;
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const auto& seq = by_tag[tags[i]];
    ASSERT_FALSE(seq.empty()) << tags[i];
    EXPECT_EQ(seq.front(), 0) << tags[i];
    // Consecutive numbers, but for one step back at most: the range that was
    // shipped, not yet acked (or its checkpoint not yet written), shipped again.
    std::size_t back_steps = 0;
    for (std::size_t j = 1; j < seq.size(); ++j) {
      if (seq[j] == seq[j - 1] + 1)
        continue;
      if (seq[j] <= seq[j - 1]) {
        ++back_steps;
        continue;
      }
      ADD_FAILURE() << tags[i] << ": gap from " << seq[j - 1] << " to " << seq[j];
      break;
    }
    EXPECT_LE(back_steps, 1u) << tags[i] << " was re-sent in more than one range";
    EXPECT_EQ(seq.back(), written[i] - 1) << tags[i];
    duplicates += seq.size() - static_cast<std::size_t>(written[i]);
  }
  std::cout << "[          ] kill -9: " << duplicates << " lines (" << duplicates * 11
            << " bytes) shipped twice, " << parsed.repaired << " block cut short; "
            << written[0] * 3 << " lines written\n";
  EXPECT_LT(duplicates * 11, window * block_size);
  // The next worker resumed every file under the id it had.
  EXPECT_EQ(source_ids(), ids_before);
  EXPECT_TRUE(log_count("worker was killed by signal 9; starting a new one") == 1)
    << read_file(log_file);
  expect_quiet_log({"worker was killed by signal 9"});
}

// --- Stop and restart --------------------------------------------------------------------------

TEST_F(file_input, restart_resumes_after_the_last_byte) {
  configure("files = [\"*.log\"]\n"
            "line_mode = true\n"
            "close_inactive = \"1s\"\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  append(path("a.log"), lines("a", 0, 199));
  append(path("b.log"), lines("b", 0, 199));
  append(path("t.log"), lines("t", 0, 299));
  ASSERT_TRUE(wait_for_output(700 * 10)) << output();

  // A burst, and a stop as soon as it is delivered: checkpoints are written
  // at most every 50 ms, the last ones must be written at the stop. (A stop
  // in the middle of a burst: DISABLED_stop_in_mid_stream_resumes_exactly.)
  {
    appender a(path("a.log"));
    for (long n = 200; n < 20200; n += 1000)
      a.write(lines("a", n, n + 999));
  }
  ASSERT_TRUE(wait_for_output(20200 * 10 + 500 * 10)) << out_size();
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  const auto first_run = output();
  const auto checkpoints = read_file(dir.file("data/file-input-logs.checkpoints"));
  const auto ids_before = source_ids();

  // While it is down: a.log grows, c.log appears, b.log is truncated and
  // written again (other first bytes), t.log truncated and written again
  // with its first bytes unchanged but shorter than its checkpoint.
  append(path("a.log"), lines("a", 20200, 20299));
  append(path("c.log"), lines("c", 0, 99));
  write_file(path("b.log"), lines("B", 0, 49));
  write_file(path("t.log"), lines("t", 0, 149));

  ASSERT_NO_FATAL_FAILURE(start_agent());
  EXPECT_EQ(log_count(watching() + "4 files)"), 1u) << read_file(log_file);
  std::uint64_t expected = 20300 * 10 + 200 * 10 + 300 * 10 + 100 * 10 + 50 * 10 + 150 * 10;
  ASSERT_TRUE(wait_for_output(expected)) << "only " << out_size() << " of " << expected
                                         << " bytes\n--- log:\n" << read_file(log_file);
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  auto all = output();
  EXPECT_EQ(all.size(), expected);
  ASSERT_EQ(all.substr(0, first_run.size()), first_run);
  auto run1 = parse_output(first_run);
  auto run2 = parse_output(all.substr(first_run.size()));
  EXPECT_TRUE(run1.bad.empty()) << describe_bad(run1);
  EXPECT_TRUE(run2.bad.empty()) << describe_bad(run2);
  auto tags1 = run1.by_tag();
  auto tags2 = run2.by_tag();
  // a.log: both runs together, exactly once.
  auto a = tags1["a"];
  a.insert(a.end(), tags2["a"].begin(), tags2["a"].end());
  EXPECT_TRUE(is_range(a, 0, 20299, "a.log over both runs"))
    << "\n--- checkpoints after the first run:\n" << checkpoints << "--- log:\n"
    << read_file(log_file);
  EXPECT_TRUE(is_range(tags1["b"], 0, 199, "b.log, first run"));
  EXPECT_TRUE(is_range(tags1["t"], 0, 299, "t.log, first run"));
  EXPECT_EQ(tags2.count("b"), 0u);
  EXPECT_TRUE(is_range(tags2["c"], 0, 99, "c.log (created while down)"));
  EXPECT_TRUE(is_range(tags2["B"], 0, 49, "b.log (rewritten while down)"));
  EXPECT_TRUE(is_range(tags2["t"], 0, 149, "t.log (truncated while down)"));
  EXPECT_EQ(log_count(path("t.log") + " is shorter than its checkpoint (1500 < 3000)"), 1u)
    << read_file(log_file);
  // Source ids: a.log resumed under its own; b.log and t.log read from 0
  // under new ones; c.log has one of its own.
  auto ids = source_ids();
  ASSERT_EQ(ids_before.size(), 3u) << checkpoints;
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids["a.log"], ids_before.at("a.log"));
  EXPECT_NE(ids["b.log"], ids_before.at("b.log"));
  EXPECT_NE(ids["t.log"], ids_before.at("t.log"));
  std::set<std::uint64_t> distinct{ids_before.at("a.log"), ids_before.at("b.log"),
                                   ids_before.at("t.log")};
  for (const auto& [name, id] : ids) {
    EXPECT_NE(id, 0u) << name;
    distinct.insert(id);
  }
  EXPECT_EQ(distinct.size(), 6u);
  expect_quiet_log();
}

// Disabled: fails in most runs (a product bug). On SIGTERM the supervisor
// sends `stop` to the inputs and at once asks the bus how many blocks are in
// flight. A file tail granted a sequence number just before publishes its
// block after the bus answered 0: the worker logs "every block delivered" and
// exits, the output has written that block, but its ack never reached the
// checkpoint, so the next start ships it again. A stop right after a burst
// hits it with a few percent chance; 40 of them, most of the time.
TEST_F(file_input, stop_in_mid_stream_resumes_exactly) {
  configure("files = [\"*.log\"]\n"
            "line_mode = true\n");
  constexpr int cycles = 40;
  constexpr long chunk = 20000; // 200,000 bytes per cycle
  constexpr long total = cycles * chunk;
  append(path("a.log"), "");
  for (int cycle = 0; cycle < cycles; ++cycle) {
    ASSERT_NO_FATAL_FAILURE(start_agent());
    // A burst (20 writes of 10,000 bytes), and SIGTERM right after it.
    appender a(path("a.log"));
    for (long n = cycle * chunk; n < (cycle + 1) * chunk; n += chunk / 20)
      a.write(lines("a", n, n + chunk / 20 - 1));
    ASSERT_NO_FATAL_FAILURE(stop_agent());
  }
  ASSERT_NO_FATAL_FAILURE(start_agent());
  ASSERT_TRUE(wait_for_output(total * 10)) << out_size();
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  auto parsed = parse_output(output());
  EXPECT_TRUE(parsed.bad.empty()) << describe_bad(parsed);
  auto seq = parsed.by_tag()["a"];
  // What each faulty stop re-sent.
  std::string resent;
  for (std::size_t j = 1; j < seq.size(); ++j)
    if (seq[j] <= seq[j - 1])
      resent += " " + std::to_string(seq[j - 1] - seq[j] + 1) + " lines after line "
                + std::to_string(seq[j - 1]) + ";";
  EXPECT_TRUE(is_range(seq, 0, total - 1, "a.log")) << "\nre-sent:" << resent;
  expect_quiet_log();
}

// --- rotate_size with hooks ---------------------------------------------------------------------

TEST_F(file_input, rotate_size_renames_runs_both_hooks_and_ships_every_line_once) {
  const auto before_file = dir.file("before.txt");
  const auto after_file = dir.file("after.txt");
  const std::string vars =
    "\"$LOGPIPE_ROTATING_PATHNAME $LOGPIPE_ROTATING_OLD_FILENAME $LOGPIPE_ROTATING_NEW_FILENAME\"";
  configure("files = [\"*.log\"]\n"
            "line_mode = true\n"
            "rotate_size = \"64KiB\"\n"
            "close_inactive = \"1s\"\n"
            "exec_before_rotating = 'echo " + vars + " >> " + before_file + "'\n"
            "exec_after_rotating = 'echo " + vars + " >> " + after_file + "'\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  constexpr std::size_t pad = 53; // 64-byte lines
  constexpr long total = 5000;   // 320,000 bytes
  auto rotated = [&] {
    std::vector<std::string> out;
    for (const auto& name : names_in(folder))
      if (name.rfind("_app.log-", 0) == 0)
        out.push_back(name);
    return out;
  };
  // The agent rotates app.log once it has read it to its end and it is 64
  // KiB or more. Every 1,100 lines (70,400 bytes) the writer waits until
  // app.log is below 64 KiB (or gone): so there was at least one rotation in
  // every such stretch, 4 at least, and at most 4 since each takes 64 KiB
  // or more of the 320,000 bytes.
  auto nothing_to_rotate = [&] {
    return wait_until([&] { return size_of(path("app.log")) < 64 * 1024; });
  };
  for (long n = 0; n < total; ++n) {
    // Like an application that opens the file for every write.
    append(path("app.log"), line("s", n, pad));
    if (n % 1100 == 1099) {
      ASSERT_TRUE(nothing_to_rotate()) << "no rotation\n--- log:\n" << read_file(log_file);
    }
  }
  ASSERT_TRUE(nothing_to_rotate());
  const std::uint64_t expected = total * 64;
  ASSERT_TRUE(wait_for_output(expected)) << "only " << out_size() << " of " << expected;

  auto names = rotated();
  ASSERT_EQ(names.size(), 4u) << testing::PrintToString(names);
  // Each hook ran once per rotation, with the folder, the old and the new name.
  auto hook_lines = [&](const std::string& file) { return complete_lines(read_file(file)); };
  EXPECT_TRUE(wait_until([&] {
    return hook_lines(before_file).size() >= names.size()
           && hook_lines(after_file).size() >= names.size();
  })) << "hooks: " << read_file(before_file) << "---\n" << read_file(after_file);
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  names = rotated(); // the agent rotates only at the end of what it read: final
  std::vector<std::string> expected_hooks;
  for (const auto& name : names) {
    EXPECT_TRUE(has_shape(name, "_app.log-########_######_######")) << name;
    EXPECT_GE(size_of(path(name)), 64u * 1024) << name;
    expected_hooks.push_back(folder + " app.log " + name);
  }
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(hook_lines(before_file)), expected_hooks);
  EXPECT_EQ(sorted(hook_lines(after_file)), expected_hooks);
  EXPECT_EQ(log_count("app.log: rotated to _app.log-"), names.size()) << read_file(log_file);

  // The rotated files, oldest first, then app.log: every line once, in order.
  std::string on_disk;
  for (const auto& name : names)
    on_disk += read_file(path(name));
  on_disk += read_file(path("app.log"));
  EXPECT_TRUE(on_disk == lines("s", 0, total - 1, pad)) << "the files on disk lost or mixed lines";

  // Shipped: every line once, and in the order of the files they are in.
  auto parsed = parse_output(output(), pad);
  EXPECT_TRUE(parsed.bad.empty()) << describe_bad(parsed);
  std::map<long, std::size_t> file_of; // line -> index in names (names.size(): app.log)
  {
    std::size_t index = 0;
    for (const auto& name : names) {
      for (const auto& l : complete_lines(read_file(path(name))))
        if (auto p = parse_line(l, pad))
          file_of[p->second] = index;
      ++index;
    }
  }
  std::vector<long> all;
  std::map<std::size_t, std::vector<long>> per_file;
  for (const auto& [tag, n] : parsed.entries) {
    all.push_back(n);
    per_file[file_of.count(n) ? file_of[n] : names.size()].push_back(n);
  }
  for (auto& [index, seq] : per_file) {
    EXPECT_TRUE(std::is_sorted(seq.begin(), seq.end()))
      << "lines of " << (index < names.size() ? names[index] : "app.log") << " out of order";
  }
  std::sort(all.begin(), all.end());
  EXPECT_TRUE(is_range(all, 0, total - 1, "app.log and its rotations"));
  expect_quiet_log();
}

// --- line_mode -----------------------------------------------------------------------------------

TEST_F(file_input, line_mode_ships_whole_lines_and_splits_only_overlong_ones) {
  configure("files = [\"*.log\"]\n"
            "line_mode = true\n"
            "max_line = 1000\n"
            "block_size = \"4KiB\"\n");
  ASSERT_NO_FATAL_FAILURE(start_agent());
  const auto first = line("m", 0);
  const auto second = line("m", 1, 40);
  const auto half = second.substr(0, second.size() / 2);
  // One write: any read that gets the first line sees the half line too.
  append(path("m.log"), first + half);
  ASSERT_TRUE(wait_for_output(first.size())) << output();
  // The half waits for its newline; meanwhile another file flows.
  append(path("n.log"), line("n", 0));
  ASSERT_TRUE(wait_for_output(first.size() + 10)) << output();
  EXPECT_TRUE(same_text(output(), first + line("n", 0)));
  append(path("m.log"), second.substr(half.size()));
  ASSERT_TRUE(wait_for_output(first.size() + 10 + second.size())) << output();
  EXPECT_TRUE(same_text(output(), first + line("n", 0) + second));

  // 20,000 bytes without a newline, then one: shipped in max_line pieces,
  // every byte of it.
  const auto long_line = line("m", 2, 20000);
  append(path("m.log"), long_line + line("m", 3));
  const auto expected = first + line("n", 0) + second + long_line + line("m", 3);
  ASSERT_TRUE(wait_for_output(expected.size())) << out_size();
  ASSERT_NO_FATAL_FAILURE(stop_agent());
  EXPECT_TRUE(same_text(output(), expected));
  EXPECT_EQ(log_count("file m.log: a line longer than 1000 bytes was split (1 so far)"), 1u)
    << read_file(log_file);
  expect_quiet_log({"file m.log: a line longer than 1000 bytes was split"});
}

// --- Symbolic links, fairness ---------------------------------------------------------

TEST_F(file_input, a_symbolic_link_is_followed_to_a_file_elsewhere) {
  configure("");
  const auto target = dir.file("elsewhere.log");
  write_file(target, "");
  start_agent();
  ASSERT_EQ(::symlink(target.c_str(), path("linked.log").c_str()), 0);
  // Written through the target's own path: only a watch on the target sees it.
  std::string expected;
  for (int i = 0; i < 3; ++i) {
    std::ofstream{target, std::ios::app} << "through the link " << i << "\n";
    expected += "through the link " + std::to_string(i) + "\n";
    ASSERT_TRUE(wait_for_output(expected.size())) << output() << read_file(log_file);
  }
  EXPECT_EQ(output(), expected);
  stop_agent();
  expect_quiet_log();
}

TEST_F(file_input, a_busy_file_does_not_starve_a_new_one) {
  // Small blocks and a window of one: the big file needs thousands of turns.
  configure("block_size = \"4KiB\"\n"
            "window = 1\n");
  start_agent();
  const std::size_t big = 16u << 20;
  {
    std::ofstream out{path("big.log"), std::ios::binary};
    std::string chunk(1 << 20, 'b');
    for (std::size_t i = 0; i < big / chunk.size(); ++i)
      out << chunk;
  }
  // While the big file is being shipped, a line in a new file gets its turn
  // after a block or two of the big one, not after all of it.
  ASSERT_TRUE(wait_for_output(256 << 10)) << out_size();
  const auto shipped_before = out_size();
  write_file(path("small.log"), "small file line\n");
  ASSERT_TRUE(wait_for_output(big + 16, 60s)) << out_size();
  auto at = output().find("small file line\n");
  ASSERT_NE(at, std::string::npos);
  EXPECT_LT(at, shipped_before + (2 << 20)) << "the small file waited for the big one";
  EXPECT_LT(shipped_before + (2 << 20), big) << "the big file was shipped too fast to tell";
  stop_agent();
}

} // namespace
} // namespace logpipe::proc_test
