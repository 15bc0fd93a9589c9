// A model-based test of the file input, end to end: for each seed, a random
// sequence of appends, creations, renames (to collected and to not collected
// names), copytruncates, truncations, deletions, re-creations, a frozen
// worker (SIGSTOP) and agent restarts (SIGTERM, and kill -9) is played
// against the real `logpipe` binary (file input -> stdout output), while a
// simple model records every line each generation of each file was given.
// At the end every line the model says must arrive has arrived; a line twice
// is allowed only if a kill -9 happened (and counted); no line is damaged.
//
// The model knows which losses are inherent to what was done, and avoids
// them rather than excusing them: a file is deleted, truncated or
// copytruncated only once everything written to it has arrived ("synced"),
// or, while the agent is down, only if nothing was written to it since.
//
// LOGPIPE_MODEL_SEEDS="first:count" runs other seeds (the first test
// instance runs all of them then); a failure prints its seed and the steps
// it took; LOGPIPE_MODEL_VERBOSE=1 prints the steps of every seed.

#include "test/support/process_helpers.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace logpipe::proc_test {
namespace {

namespace fs = std::filesystem;

constexpr int steps_per_seed = 40;
constexpr std::uint64_t seeds_per_instance = 25;
constexpr std::uint64_t instances = 8; // 200 seeds in the suite
constexpr auto sync_timeout = 20s;

/// Line `n` of generation `gen`: 40 bytes, the generation first, so that no
/// two generations share a head.
std::string model_line(int gen, long n) {
  char text[64];
  std::snprintf(text, sizeof text, "g%04d %07ld ", gen, n);
  std::string line = text;
  line.append(39 - line.size(), static_cast<char>('a' + n % 26));
  return line + "\n";
}

/// One generation of one file: created (or truncated), written, perhaps
/// renamed, until it is deleted, truncated or renamed out of the pattern.
struct generation {
  int id = 0;
  std::string name;
  /// Lines 0 .. written-1 were written to it.
  long written = 0;
  /// Still under a collected name with a writer appending to it.
  bool live = true;
  /// On disk (under `name`).
  bool exists = true;
  /// Lines written while the agent was down or since the last sync.
  bool unsynced = false;
  /// Everything of it arrived once: the agent knows the file (it has it open
  /// or checkpointed), so it can follow a rename out of the pattern.
  bool known = false;
};

struct tally {
  std::map<std::pair<int, long>, int> seen;
  std::size_t damaged = 0;
  std::string first_damaged;
};

tally parse(const std::string& text) {
  tally t;
  std::size_t start = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    auto line = text.substr(start, nl - start + 1);
    start = nl + 1;
    int gen = 0;
    long n = 0;
    if (std::sscanf(line.c_str(), "g%d %ld ", &gen, &n) == 2 && model_line(gen, n) == line) {
      ++t.seen[{gen, n}];
    } else {
      if (t.damaged++ == 0)
        t.first_damaged = line;
    }
  }
  if (start < text.size() && t.damaged++ == 0)
    t.first_damaged = text.substr(start);
  return t;
}

class model_run {
public:
  explicit model_run(std::uint64_t seed) : seed_(seed), random_(seed) {
    fs::create_directories(folder_);
    write_file(config_, "[agent]\nname = \"model\"\ndata_dir = \"" + dir_.file("data")
                          + "\"\nshutdown_grace = \"10s\"\n"
                            "[log]\nfile = \"" + dir_.file("agent.log") + "\"\nlevel = \"info\"\n"
                            "[[inputs]]\ntype = \"file\"\nname = \"logs\"\npath = \"" + folder_
                          + "\"\nfiles = [\"*.log\"]\nread_from_head = true\nline_mode = true\n"
                            "[[outputs]]\ntype = \"stdout\"\n");
  }

  ~model_run() { kill_marked(marker_); }

  /// Plays the seed; a failure says what went wrong, and the steps taken.
  ::testing::AssertionResult play() {
    start();
    for (int step = 0; step < steps_per_seed && problem_.empty(); ++step)
      one_step();
    if (!running_)
      start();
    thaw();
    if (problem_.empty())
      sync();
    if (problem_.empty())
      stop();
    if (problem_.empty())
      check();
    if (problem_.empty()) {
      if (std::getenv("LOGPIPE_MODEL_VERBOSE"))
        std::printf("seed %lu:\n%s", static_cast<unsigned long>(seed_), steps_.str().c_str());
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "seed " << seed_ << ": " << problem_ << "\nsteps:\n" << steps_.str()
           << "replay: LOGPIPE_MODEL_SEEDS=" << seed_
           << ":1 build/test/logpipe_tests --gtest_filter='file_input_model*'\n--- log:\n"
           << read_file(dir_.file("agent.log")) << "--- stderr:\n"
           << read_file(dir_.file("agent.err"));
  }

  int kills() const { return kills_; }
  std::size_t duplicates() const { return duplicates_; }

private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }

  std::string path(const std::string& name) const { return folder_ + "/" + name; }

  generation* find_live(const std::string& name) {
    for (auto& g : gens_)
      if (g.exists && g.name == name)
        return &g;
    return nullptr;
  }

  generation* random_live() {
    std::vector<generation*> live;
    for (auto& g : gens_)
      if (g.live)
        live.push_back(&g);
    return live.empty() ? nullptr : live[pick(static_cast<int>(live.size()))];
  }

  /// A collected name no file has now.
  std::optional<std::string> free_name() {
    std::vector<std::string> free;
    for (const char* name : {"a.log", "b.log", "c.log", "d.log", "e.log"})
      if (!fs::exists(path(name)))
        free.push_back(name);
    if (free.empty())
      return std::nullopt;
    return free[pick(static_cast<int>(free.size()))];
  }

  void append(generation& g, int lines) {
    std::string text;
    for (int i = 0; i < lines; ++i)
      text += model_line(g.id, g.written++);
    append_file(path(g.name), text);
    g.unsynced = true;
    steps_ << "  append " << lines << " to " << g.name << " (g" << g.id << ")\n";
  }

  generation& create(const std::string& name) {
    gens_.push_back(generation{static_cast<int>(gens_.size()), name});
    write_file(path(name), "");
    steps_ << "  create " << name << " (g" << gens_.back().id << ")\n";
    return gens_.back();
  }

  /// Whether `g` may lose its unread bytes now without the agent being at
  /// fault: only once they all arrived.
  bool settled(generation& g) {
    if (!g.unsynced)
      return true;
    if (!running_)
      return false;
    thaw();
    return sync();
  }

  void one_step() {
    switch (pick(20)) {
      case 0: case 1: case 2: case 3: case 4: case 5: case 6: { // append
        if (auto* g = random_live())
          append(*g, 1 + pick(200));
        else if (auto name = free_name())
          append(create(*name), 1 + pick(50));
        return;
      }
      case 7: case 8: { // create, perhaps under a name used before
        if (auto name = free_name())
          append(create(*name), pick(100));
        return;
      }
      case 9: { // rename to another collected name: the stream goes on
        auto* g = random_live();
        auto name = free_name();
        if (!g || !name)
          return;
        fs::rename(path(g->name), path(*name));
        steps_ << "  rename " << g->name << " to " << *name << "\n";
        g->name = *name;
        return;
      }
      case 10: case 11: { // rotate out of the pattern: read to its end, then closed
        auto* g = random_live();
        // A file the agent never saw is lost when it leaves the pattern.
        if (!g || !(g->known || settled(*g)))
          return;
        const auto old_name = g->name + "." + std::to_string(++rotations_);
        fs::rename(path(g->name), path(old_name));
        steps_ << "  rename " << g->name << " to " << old_name << "\n";
        g->name = old_name;
        g->live = false;
        if (pick(2) == 0) {
          auto name = g->name.substr(0, g->name.rfind(".log") + 4);
          append(create(name), pick(50));
        }
        return;
      }
      case 12: { // copytruncate: a new generation in the same file, regrowing
        auto* g = random_live();
        if (!g || !settled(*g))
          return;
        fs::copy_file(path(g->name), path(g->name + ".1"), fs::copy_options::overwrite_existing);
        fs::resize_file(path(g->name), 0);
        steps_ << "  copytruncate " << g->name << "\n";
        const auto old_written = g->written;
        g->live = false;
        g->exists = false;
        auto name = g->name;
        auto& fresh = gens_.emplace_back(generation{static_cast<int>(gens_.size()), name});
        steps_ << "  (g" << fresh.id << " in " << name << ")\n";
        // Often past the old size before the agent looks again.
        append(fresh, static_cast<int>(pick(2) == 0 ? old_written + 10 : pick(20)));
        return;
      }
      case 13: { // delete
        auto* g = random_live();
        if (!g || !settled(*g))
          return;
        fs::remove(path(g->name));
        steps_ << "  delete " << g->name << "\n";
        g->live = false;
        g->exists = false;
        return;
      }
      case 14: // a clean restart
        if (running_) {
          stop();
          start();
        }
        return;
      case 15: // kill -9 and start again
        if (running_) {
          kill_marked(marker_);
          agent_.reset();
          running_ = false;
          frozen_ = false;
          ++kills_;
          steps_ << "  kill -9\n";
          start();
        }
        return;
      case 16: case 17: // down for a while, or up again
        if (running_)
          stop();
        else
          start();
        return;
      case 18: // the worker stops being scheduled, or runs again
        if (frozen_)
          thaw();
        else if (running_)
          freeze();
        return;
      default: // a sync point
        if (running_) {
          thaw();
          sync();
        }
        return;
    }
  }

  pid_t worker() const {
    for (auto pid : children_of(agent_->pid()))
      if (cmdline_of(pid).find(marker_) != std::string::npos)
        return pid;
    return -1;
  }

  void start() {
    const auto before = watching_count();
    agent_.emplace(std::vector<std::string>{LOGPIPE_BINARY, "--no-daemon", "-f", config_},
                   dir_.file("agent.out"), dir_.file("agent.err"));
    steps_ << "  start\n";
    if (!wait_until([&] { return watching_count() > before || agent_->ended(); })
        || agent_->ended()) {
      problem_ = "the agent did not start";
      return;
    }
    running_ = true;
  }

  void stop() {
    thaw();
    ::kill(agent_->pid(), SIGTERM);
    auto status = agent_->wait_exit(30s);
    steps_ << "  stop\n";
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
      problem_ = "the agent did not stop cleanly";
    agent_.reset();
    running_ = false;
  }

  void freeze() {
    if (auto pid = worker(); pid > 0 && ::kill(pid, SIGSTOP) == 0) {
      frozen_ = true;
      steps_ << "  freeze the worker\n";
    }
  }

  void thaw() {
    if (!frozen_)
      return;
    if (auto pid = worker(); pid > 0)
      ::kill(pid, SIGCONT);
    frozen_ = false;
    steps_ << "  thaw the worker\n";
  }

  std::size_t watching_count() const {
    std::size_t n = 0;
    for (const auto& l : read_log(dir_.file("agent.log")))
      n += l.text.find("input logs: watching") != std::string::npos ? 1 : 0;
    return n;
  }

  /// Lines of `t` the model expects that have not arrived.
  std::size_t missing(const tally& t, std::string* first = nullptr) const {
    std::size_t n = 0;
    for (const auto& g : gens_)
      for (long i = 0; i < g.written; ++i)
        if (!t.seen.count({g.id, i}) && n++ == 0 && first)
          *first = model_line(g.id, i);
    return n;
  }

  /// Waits until every line written so far has arrived.
  bool sync() {
    bool done = wait_until([&] { return missing(parse(read_file(dir_.file("agent.out")))) == 0; },
                           sync_timeout);
    steps_ << "  sync\n";
    if (!done) {
      std::string first;
      auto n = missing(parse(read_file(dir_.file("agent.out"))), &first);
      problem_ = std::to_string(n) + " lines have not arrived, the first: " + first;
      return false;
    }
    for (auto& g : gens_) {
      g.unsynced = false;
      g.known = g.known || g.exists;
    }
    return true;
  }

  void check() {
    auto t = parse(read_file(dir_.file("agent.out")));
    std::string first;
    if (auto n = missing(t, &first)) {
      problem_ = std::to_string(n) + " lines lost, the first: " + first;
      return;
    }
    for (const auto& [line, times] : t.seen)
      duplicates_ += static_cast<std::size_t>(times - 1);
    if (kills_ == 0 && duplicates_ > 0)
      problem_ = std::to_string(duplicates_) + " lines delivered twice with no kill -9";
    else if (t.damaged > 0)
      problem_ = std::to_string(t.damaged) + " damaged lines, the first: \"" + t.first_damaged
                 + "\"";
  }

  const std::uint64_t seed_;
  std::mt19937_64 random_;
  temp_dir dir_{"logpipe-model"};
  const std::string marker_ = dir_.path() + "/";
  const std::string folder_ = dir_.file("logs");
  const std::string config_ = dir_.file("agent.toml");
  std::optional<child> agent_;
  bool running_ = false;
  bool frozen_ = false;
  int kills_ = 0;
  int rotations_ = 0;
  std::size_t duplicates_ = 0;
  std::vector<generation> gens_;
  std::ostringstream steps_;
  std::string problem_;
};

/// The seeds of one test instance: its share of the suite's, or all of
/// LOGPIPE_MODEL_SEEDS.
std::pair<std::uint64_t, std::uint64_t> seeds_of(std::uint64_t instance) {
  if (const char* given = std::getenv("LOGPIPE_MODEL_SEEDS")) {
    std::uint64_t first = 0, count = 0;
    if (std::sscanf(given, "%lu:%lu", &first, &count) == 2)
      return {first, instance == 0 ? count : 0};
  }
  return {instance * seeds_per_instance, seeds_per_instance};
}

class file_input_model : public ::testing::TestWithParam<std::uint64_t> {};

// Disabled until the file input stops re-reading, at every start, a file it
// already read to its end after a rename while down (seed 68: duplicates with
// no kill -9). Run it with --gtest_also_run_disabled_tests.
TEST_P(file_input_model, DISABLED_every_line_of_every_generation_arrives) {
  auto [first, count] = seeds_of(GetParam());
  int kills = 0;
  std::size_t duplicates = 0;
  for (auto seed = first; seed < first + count; ++seed) {
    model_run run(seed);
    auto result = run.play();
    ASSERT_TRUE(result);
    kills += run.kills();
    duplicates += run.duplicates();
  }
  std::printf("seeds %lu to %lu: %d kill -9, %zu lines delivered twice after them\n",
              static_cast<unsigned long>(first), static_cast<unsigned long>(first + count),
              kills, duplicates);
}

INSTANTIATE_TEST_SUITE_P(seeds, file_input_model, ::testing::Range<std::uint64_t>(0, instances));

} // namespace
} // namespace logpipe::proc_test
