// The file_tail state machine under the deterministic scheduler: the real
// tail on real files in a temporary folder, between a fake dir_watcher (it
// hands out or holds credit and records what the tail reports) and a fake
// bus (it records every block). File I/O is synchronous: the test writes,
// injects what the watcher would send (modified, renamed, removed, ...) and
// runs the scheduler; timers move only with advance().

#include "actors/file_input/file_tail.hpp"

#include "actors/file_input/checkpoint_store.hpp"
#include "actors/shared/deflate.hpp"
#include "messages/file_input.hpp"
#include "test/file_input/file_input_doubles.hpp"
#include "test/support/actor_fixture.hpp"

#include <caf/send.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;

constexpr tail_id the_id = 7;
/// The source id the tests start tails with.
constexpr std::uint64_t the_source = 0x5ca1ab1e0ddba11ull;

std::string make_temp_dir() {
  std::string pattern = "/tmp/logpipe-file-tail-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  return pattern;
}

/// `n` bytes of distinct-looking text without newlines.
std::string text(std::size_t n, char first = 'a') {
  std::string s;
  for (std::size_t i = 0; i < n; ++i)
    s += static_cast<char>(first + i % 26);
  return s;
}

class file_tail_test : public actor_fixture {
protected:
  file_tail_test()
    : dir(make_temp_dir()),
      wrec(std::make_shared<watcher_record>()),
      brec(std::make_shared<block_record>()) {
    watcher = own(sys.spawn(fake_watcher, wrec));
    bus = own(sys.spawn(fake_bus, brec));
    settings.folder = dir;
    settings.input_index = 3;
    settings.origin = "host-a";
    settings.bus = bus;
    settings.block_size = 16;
    settings.max_line = 16;
    settings.close_inactive = 1s;
  }

  ~file_tail_test() override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  std::string path(const std::string& name) const { return dir + "/" + name; }

  void append(const std::string& name, const std::string& data) {
    int fd = ::open(path(name).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path(name);
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
    written[name] += data;
  }

  void truncate(const std::string& name) {
    ASSERT_EQ(::truncate(path(name).c_str(), 0), 0);
  }

  void rename(const std::string& from, const std::string& to) {
    ASSERT_EQ(::rename(path(from).c_str(), path(to).c_str()), 0);
  }

  void unlink(const std::string& name) { ASSERT_EQ(::unlink(path(name).c_str()), 0); }

  file_identity identity(const std::string& name) { return identity_at(path(name)); }

  /// Spawns the tail of `name` (which must exist) at `offset`, then runs.
  void start(const std::string& name, std::uint64_t offset = 0,
             const std::string& shipped_as = {}) {
    auto shared = std::make_shared<const file_tail_settings>(settings);
    tail = own(sys.spawn(file_tail, shared, dir_watcher_actor{watcher}, the_id, name,
                         shipped_as.empty() ? name : shipped_as, identity(name),
                         file_position{the_source, offset}));
    auto down = tail_down;
    tail->attach_functor([down](const caf::error&) { *down = true; });
    run();
  }

  template <class... Ts>
  void inject(Ts... xs) {
    caf::anon_send(tail, xs...);
    run();
  }

  void grant(std::size_t n = 1) {
    caf::anon_send(watcher, grant_atom::value, n);
    run();
  }

  /// The file bytes a block carries (inflated if it is deflated).
  std::string bytes_of(const log_block& blk) {
    if (!(blk.flags & deflated))
      return std::string(blk.bytes.begin(), blk.bytes.end());
    std::vector<char> out;
    std::string error;
    EXPECT_TRUE(inflate_block(blk.bytes.data(), blk.bytes.size(), out, error)) << error;
    return std::string(out.begin(), out.end());
  }

  /// Everything shipped, in order.
  std::string shipped() {
    std::string all;
    for (const auto& blk : brec->blocks)
      all += bytes_of(blk);
    return all;
  }

  std::vector<std::size_t> sizes() {
    std::vector<std::size_t> result;
    for (const auto& blk : brec->blocks)
      result.push_back(bytes_of(blk).size());
    return result;
  }

  std::vector<std::uint64_t> offsets() {
    std::vector<std::uint64_t> result;
    for (const auto& blk : brec->blocks)
      result.push_back(blk.offset);
    return result;
  }

  /// Every block and its `published` report agree: same sequence number (one
  /// the watcher handed out), end = offset + size; offsets follow each other
  /// from `first` (a block starting at 0 again after a truncation is allowed
  /// from index `restart`). Blocks carry the_source, and from `restart` on the
  /// new source id the watcher was told (and only then is it told another).
  void expect_consistent(std::uint64_t first = 0, std::size_t restart = SIZE_MAX) {
    ASSERT_EQ(wrec->published.size(), brec->blocks.size());
    auto source = the_source;
    for (auto told : wrec->source_ids)
      if (told != the_source)
        source = told;
    if (restart == SIZE_MAX)
      EXPECT_EQ(source, the_source) << "a new source id without a truncation";
    else
      EXPECT_NE(source, the_source) << "no new source id after the truncation";
    EXPECT_NE(source, 0u);
    auto next = first;
    for (std::size_t i = 0; i < brec->blocks.size(); ++i) {
      const auto& blk = brec->blocks[i];
      const auto& pub = wrec->published[i];
      auto size = bytes_of(blk).size();
      if (i == restart)
        next = 0;
      EXPECT_EQ(blk.offset, next) << "block " << i;
      EXPECT_GT(size, 0u) << "block " << i;
      EXPECT_EQ(pub.id, the_id);
      EXPECT_EQ(pub.seq, blk.seq) << "block " << i;
      EXPECT_EQ(pub.end, blk.offset + size) << "block " << i;
      EXPECT_EQ(blk.origin, "host-a");
      EXPECT_EQ(blk.input, 3u);
      EXPECT_EQ(blk.source_id, i < restart ? the_source : source) << "block " << i;
      next = blk.offset + size;
    }
    // Every sequence number handed out was either published or released.
    EXPECT_EQ(wrec->published.size() + wrec->released.size(), wrec->granted.size());
  }

  std::string dir;
  file_tail_settings settings;
  std::shared_ptr<watcher_record> wrec;
  std::shared_ptr<block_record> brec;
  fake_watcher_actor watcher;
  bus_actor bus;
  file_tail_actor tail;
  std::shared_ptr<bool> tail_down = std::make_shared<bool>(false);
  std::map<std::string, std::string> written;
};

// -- reading ------------------------------------------------------------------

TEST_F(file_tail_test, ships_bytes_written_before_and_after_modified_in_blocks) {
  append("a.log", text(20));
  start("a.log");
  EXPECT_EQ(wrec->opened, 1);
  EXPECT_EQ(sizes(), (std::vector<std::size_t>{16, 4}));
  EXPECT_EQ(shipped(), written["a.log"]);
  // Appended, then announced.
  append("a.log", text(40, 'A'));
  inject(modified_atom_v);
  EXPECT_EQ(sizes(), (std::vector<std::size_t>{16, 4, 16, 16, 8}));
  EXPECT_EQ(offsets(), (std::vector<std::uint64_t>{0, 16, 20, 36, 52}));
  EXPECT_EQ(shipped(), written["a.log"]);
  expect_consistent();
  EXPECT_EQ(wrec->published.back().end, 60u);
  for (const auto& blk : brec->blocks) {
    EXPECT_EQ(blk.file_name, "a.log");
    EXPECT_EQ(blk.flags, 0u);
    EXPECT_LE(blk.bytes.size(), 16u);
  }
  EXPECT_TRUE(wrec->released.empty());
  EXPECT_EQ(wrec->opened, 1);
  EXPECT_EQ(wrec->closed, 0);
  // Nothing new: a modified ships nothing and asks for no credit.
  auto requests = wrec->credit_requests;
  inject(modified_atom_v);
  EXPECT_EQ(brec->blocks.size(), 5u);
  EXPECT_EQ(wrec->credit_requests, requests);
}

TEST_F(file_tail_test, an_empty_file_ships_nothing_until_written) {
  append("a.log", "");
  start("a.log");
  EXPECT_EQ(wrec->opened, 1);
  EXPECT_EQ(wrec->credit_requests, 0u);
  EXPECT_TRUE(brec->blocks.empty());
  append("a.log", text(5));
  inject(modified_atom_v);
  EXPECT_EQ(shipped(), written["a.log"]);
  expect_consistent();
}

TEST_F(file_tail_test, starts_at_the_offset_it_is_given) {
  append("a.log", text(30));
  start("a.log", 10);
  EXPECT_EQ(offsets(), (std::vector<std::uint64_t>{10, 26}));
  EXPECT_EQ(shipped(), written["a.log"].substr(10));
  expect_consistent(10);
  EXPECT_EQ(wrec->published.back().end, 30u);
}

TEST_F(file_tail_test, every_block_carries_the_source_id_the_tail_was_started_with) {
  // As after a restart: resumed from a checkpoint, under its recorded id.
  append("a.log", text(40));
  start("a.log", 8);
  append("a.log", text(20, 'A'));
  inject(modified_atom_v);
  ASSERT_EQ(brec->blocks.size(), 4u);
  for (const auto& blk : brec->blocks)
    EXPECT_EQ(blk.source_id, the_source);
  // Its identity was taken again as it grew: under the same id.
  ASSERT_FALSE(wrec->source_ids.empty());
  for (auto told : wrec->source_ids)
    EXPECT_EQ(told, the_source);
  expect_consistent(8);
}

TEST_F(file_tail_test, a_tail_at_the_end_of_its_file_waits_for_more) {
  append("a.log", text(30));
  start("a.log", 30);
  EXPECT_TRUE(brec->blocks.empty());
  EXPECT_EQ(wrec->credit_requests, 0u);
  append("a.log", "xyz");
  inject(modified_atom_v);
  EXPECT_EQ(shipped(), "xyz");
  expect_consistent(30);
}

TEST_F(file_tail_test, the_identity_is_taken_again_once_the_file_outgrows_its_prefix) {
  append("a.log", text(10));
  start("a.log");
  EXPECT_TRUE(wrec->identities.empty()); // 10 bytes read, 10 hashed
  append("a.log", text(1100, 'A'));
  inject(modified_atom_v);
  EXPECT_EQ(shipped(), written["a.log"]);
  // Taken once more, over the whole prefix; then never again.
  ASSERT_EQ(wrec->identities.size(), 1u);
  auto now = identity("a.log");
  EXPECT_EQ(wrec->identities[0].prefix_length, identity_prefix);
  EXPECT_EQ(wrec->identities[0].prefix_hash, now.prefix_hash);
  EXPECT_TRUE(wrec->identities[0].same_inode(now));
  // The same file, the same generation.
  EXPECT_EQ(wrec->source_ids, (std::vector<std::uint64_t>{the_source}));
  // With that identity it opens its file again after closing it.
  advance(1s);
  EXPECT_EQ(wrec->closed, 1);
  append("a.log", "tail end");
  inject(modified_atom_v);
  EXPECT_EQ(wrec->opened, 2);
  EXPECT_EQ(shipped(), written["a.log"]);
  expect_consistent();
}

// -- credit -------------------------------------------------------------------

TEST_F(file_tail_test, reads_nothing_without_credit_and_one_block_per_grant) {
  wrec->hold_credit = true;
  append("a.log", text(40));
  start("a.log");
  EXPECT_EQ(wrec->credit_requests, 1u);
  EXPECT_EQ(wrec->held, 1u);
  EXPECT_TRUE(brec->blocks.empty());
  // More changes while it waits: still one request.
  append("a.log", text(4, 'A'));
  inject(modified_atom_v);
  inject(modified_atom_v);
  EXPECT_EQ(wrec->credit_requests, 1u);
  EXPECT_TRUE(brec->blocks.empty());
  // One block per grant; it asks again while there is more.
  grant();
  EXPECT_EQ(sizes(), (std::vector<std::size_t>{16}));
  EXPECT_EQ(wrec->credit_requests, 2u);
  EXPECT_EQ(wrec->held, 1u);
  grant();
  EXPECT_EQ(sizes(), (std::vector<std::size_t>{16, 16}));
  EXPECT_EQ(wrec->credit_requests, 3u);
  grant();
  EXPECT_EQ(sizes(), (std::vector<std::size_t>{16, 16, 12}));
  // At the end: no more request.
  EXPECT_EQ(wrec->credit_requests, 3u);
  EXPECT_EQ(wrec->held, 0u);
  EXPECT_EQ(shipped(), written["a.log"]);
  expect_consistent();
  EXPECT_EQ(wrec->granted, (std::vector<std::uint64_t>{0, 1, 2}));
}

TEST_F(file_tail_test, does_not_close_while_waiting_for_credit) {
  wrec->hold_credit = true;
  append("a.log", text(20));
  start("a.log");
  inject(close_atom_v);
  advance(5s);
  EXPECT_EQ(wrec->closed, 0);
  wrec->hold_credit = false;
  grant();
  EXPECT_EQ(shipped(), written["a.log"]);
  expect_consistent();
  advance(1s);
  EXPECT_EQ(wrec->closed, 1);
}

// -- renames ------------------------------------------------------------------

TEST_F(file_tail_test, a_renamed_file_that_is_still_collected_keeps_its_shipped_name) {
  append("a.log", text(10));
  start("a.log");
  rename("a.log", "b.log");
  inject(renamed_atom_v, std::string("b.log"), true);
  append("b.log", text(10, 'A'));
  inject(modified_atom_v);
  EXPECT_EQ(shipped(), text(10) + text(10, 'A'));
  for (const auto& blk : brec->blocks)
    EXPECT_EQ(blk.file_name, "a.log");
  // Closed when idle, it opens the file again under its new name.
  advance(1s);
  EXPECT_EQ(wrec->closed, 1);
  append("b.log", "more");
  inject(modified_atom_v);
  EXPECT_EQ(wrec->opened, 2);
  EXPECT_EQ(shipped(), text(10) + text(10, 'A') + "more");
  EXPECT_EQ(brec->blocks.back().file_name, "a.log");
  expect_consistent();
  EXPECT_EQ(wrec->finished, 0);
  EXPECT_FALSE(*tail_down);
}

TEST_F(file_tail_test, a_renamed_file_keeps_the_shipped_name_it_was_spawned_with) {
  append("a.log.1", text(10));
  start("a.log.1", 0, "a.log");
  EXPECT_EQ(brec->blocks.at(0).file_name, "a.log");
}

TEST_F(file_tail_test, a_file_rotated_away_is_read_to_its_end_then_finishes_when_idle) {
  append("a.log", text(10));
  start("a.log");
  rename("a.log", "a.log.1");
  append("a.log.1", text(10, 'A'));
  inject(renamed_atom_v, std::string("a.log.1"), false);
  EXPECT_EQ(shipped(), text(10) + text(10, 'A'));
  // Written late, with no modified: the last read takes it.
  append("a.log.1", "late");
  advance(999ms);
  EXPECT_EQ(wrec->finished, 0);
  EXPECT_FALSE(*tail_down);
  advance(1ms);
  EXPECT_EQ(shipped(), text(10) + text(10, 'A') + "late");
  for (const auto& blk : brec->blocks)
    EXPECT_EQ(blk.file_name, "a.log");
  expect_consistent();
  EXPECT_EQ(wrec->finished, 1);
  EXPECT_EQ(wrec->closed, 1);
  EXPECT_EQ(wrec->events.back(), "finished");
  EXPECT_TRUE(*tail_down);
}

TEST_F(file_tail_test, a_rotated_away_file_waits_for_a_full_idle_period_after_its_last_write) {
  append("a.log", text(10));
  start("a.log");
  rename("a.log", "a.log.1");
  inject(renamed_atom_v, std::string("a.log.1"), false);
  advance(600ms);
  append("a.log.1", "x");
  inject(modified_atom_v); // the application still writes to it
  advance(400ms);
  EXPECT_EQ(wrec->finished, 0);
  advance(600ms);
  EXPECT_EQ(wrec->finished, 1);
  EXPECT_EQ(shipped(), text(10) + "x");
  expect_consistent();
}

TEST_F(file_tail_test, a_closed_tail_rotated_away_ships_what_was_appended_before) {
  // Idle, closed; then the application writes and the file is rotated away
  // before the tail has looked (the watcher sends renamed before modified,
  // e.g. when it rescans the folder after an inotify overflow).
  append("a.log", text(10));
  start("a.log");
  advance(1s);
  ASSERT_EQ(wrec->closed, 1);
  append("a.log", "last words\n");
  rename("a.log", "a.log.1");
  inject(renamed_atom_v, std::string("a.log.1"), false);
  advance(1s);
  EXPECT_EQ(shipped(), written["a.log"]);
  EXPECT_EQ(wrec->finished, 1);
  EXPECT_TRUE(*tail_down);
  expect_consistent();
}

// -- truncation, deletion, re-creation ----------------------------------------

TEST_F(file_tail_test, a_file_truncated_in_place_is_read_again_from_zero) {
  append("a.log", "hello world\n");
  start("a.log");
  ASSERT_EQ(shipped(), "hello world\n");
  truncate("a.log");
  append("a.log", "new\n");
  inject(modified_atom_v);
  ASSERT_EQ(brec->blocks.size(), 2u);
  EXPECT_EQ(brec->blocks[1].offset, 0u);
  EXPECT_EQ(bytes_of(brec->blocks[1]), "new\n");
  EXPECT_EQ(wrec->published.back().end, 4u);
  append("a.log", "next\n");
  inject(modified_atom_v);
  EXPECT_EQ(shipped(), "hello world\nnew\nnext\n");
  expect_consistent(0, 1);
}

TEST_F(file_tail_test, each_truncation_gives_a_new_source_id_told_before_its_blocks) {
  append("a.log", "hello world\n");
  start("a.log");
  truncate("a.log");
  append("a.log", "new\n");
  inject(modified_atom_v);
  ASSERT_EQ(brec->blocks.size(), 2u);
  ASSERT_EQ(wrec->source_ids.size(), 1u);
  const auto second = wrec->source_ids[0];
  EXPECT_NE(second, the_source);
  EXPECT_NE(second, 0u);
  EXPECT_EQ(brec->blocks[1].source_id, second);
  // The watcher hears of the new id before the first block read under it.
  EXPECT_EQ(wrec->events, (std::vector<std::string>{"opened", "credit", "published",
                                                    "identity", "credit", "published"}));
  EXPECT_EQ(wrec->identities[0].prefix_length, 4u);
  // Truncated again (to less than was read): yet another generation.
  truncate("a.log");
  append("a.log", "3\n");
  inject(modified_atom_v);
  ASSERT_EQ(brec->blocks.size(), 3u);
  ASSERT_EQ(wrec->source_ids.size(), 2u);
  const auto third = wrec->source_ids[1];
  EXPECT_NE(third, the_source);
  EXPECT_NE(third, second);
  EXPECT_NE(third, 0u);
  EXPECT_EQ(brec->blocks[2].source_id, third);
  EXPECT_EQ(brec->blocks[2].offset, 0u);
}

TEST_F(file_tail_test, a_truncation_while_waiting_for_credit_is_seen_though_the_file_regrew) {
  // copytruncate while the tail waits for credit (a slow output), and the
  // file written again past the read offset before the credit comes.
  wrec->hold_credit = true;
  append("a.log", text(20));
  start("a.log");
  grant();
  grant();
  ASSERT_EQ(shipped(), text(20));
  append("a.log", text(10, 'A'));
  inject(modified_atom_v);
  ASSERT_EQ(wrec->held, 1u);
  truncate("a.log");
  const auto second = text(50, 'k');
  append("a.log", second);
  // Told while it waits: it sees the truncation at once, without credit
  // (the watcher hears of the new generation).
  inject(modified_atom_v);
  EXPECT_EQ(wrec->source_ids.size(), 1u);
  EXPECT_TRUE(brec->blocks.size() == 2u);
  wrec->hold_credit = false;
  grant();
  EXPECT_EQ(shipped(), text(20) + second);
  expect_consistent(0, 2);
}

TEST_F(file_tail_test, a_truncation_the_tail_was_not_told_of_is_seen_by_its_head) {
  // The credit comes before any event about the truncation (events and
  // credit come from different senders; or the worker was stopped): the
  // head of the file tells that it is another generation.
  wrec->hold_credit = true;
  append("a.log", text(20));
  start("a.log");
  grant();
  grant();
  ASSERT_EQ(shipped(), text(20));
  append("a.log", text(10, 'A'));
  inject(modified_atom_v);
  truncate("a.log");
  const auto second = text(50, 'k');
  append("a.log", second);
  wrec->hold_credit = false;
  grant();
  EXPECT_EQ(shipped(), text(20) + second);
  expect_consistent(0, 2);
}

TEST_F(file_tail_test, a_truncated_file_is_still_its_own_after_closing_and_reopening) {
  append("a.log", "hello world\n");
  start("a.log");
  truncate("a.log");
  append("a.log", "new\n");
  inject(modified_atom_v);
  ASSERT_EQ(shipped(), "hello world\nnew\n");
  // Idle: closed. The file is the same (same inode) with other first bytes:
  // reopened by name, it must still be recognised.
  advance(1s);
  ASSERT_EQ(wrec->closed, 1);
  append("a.log", "more data\n");
  inject(modified_atom_v);
  EXPECT_EQ(wrec->opened, 2);
  EXPECT_EQ(shipped(), "hello world\nnew\nmore data\n");
  expect_consistent(0, 1);
  // The watcher was told the new identity (its checkpoint must match the file).
  ASSERT_FALSE(wrec->identities.empty());
  auto now = identity("a.log");
  EXPECT_TRUE(wrec->identities.back().same_inode(now));
  EXPECT_EQ(wrec->identities.back().prefix_length, now.prefix_length);
  EXPECT_EQ(wrec->identities.back().prefix_hash, now.prefix_hash);
}

// Known bug (disabled until decided): the tail reopens its file by name and
// checks its identity, prefix hash included; a file truncated (and written
// again) while the tail had it closed has the same inode but other first
// bytes, so the tail takes it for another file and leaves it alone, while
// the dir_watcher (which matches by inode) keeps it assigned to this tail:
// nobody reads it again.
TEST_F(file_tail_test, a_file_truncated_while_closed_is_read_again_from_zero) {
  // copytruncate rotation of an idle file: the tail had closed it.
  append("a.log", "hello world\n");
  start("a.log");
  advance(1s);
  ASSERT_EQ(wrec->closed, 1);
  truncate("a.log");
  append("a.log", "new\n");
  inject(modified_atom_v);
  EXPECT_EQ(wrec->opened, 2);
  EXPECT_EQ(shipped(), "hello world\nnew\n");
  ASSERT_EQ(brec->blocks.size(), 2u);
  EXPECT_EQ(brec->blocks[1].offset, 0u);
  expect_consistent(0, 1);
}

TEST_F(file_tail_test, a_deleted_file_is_read_to_its_end_then_finishes_when_idle) {
  append("a.log", "");
  start("a.log");
  ASSERT_TRUE(wrec->open());
  append("a.log", text(20));
  unlink("a.log");
  inject(removed_atom_v);
  EXPECT_EQ(shipped(), written["a.log"]);
  expect_consistent();
  EXPECT_EQ(wrec->finished, 0);
  // Idle for close_inactive: the last read, then the end.
  advance(1s);
  EXPECT_EQ(wrec->finished, 1);
  EXPECT_EQ(wrec->closed, 1);
  EXPECT_EQ(wrec->events.back(), "finished");
  EXPECT_TRUE(*tail_down);
  EXPECT_EQ(shipped(), written["a.log"]);
}

TEST_F(file_tail_test, a_deleted_file_is_kept_open_when_asked_to_close) {
  append("a.log", text(5));
  start("a.log");
  unlink("a.log");
  inject(removed_atom_v);
  inject(close_atom_v);
  EXPECT_EQ(wrec->closed, 0);
  advance(1s);
  EXPECT_EQ(wrec->finished, 1);
  EXPECT_EQ(wrec->closed, 1);
}

TEST_F(file_tail_test, a_removed_tail_that_had_closed_its_file_finishes_at_once) {
  append("a.log", text(5));
  start("a.log");
  advance(1s);
  ASSERT_EQ(wrec->closed, 1);
  unlink("a.log");
  inject(removed_atom_v);
  EXPECT_EQ(wrec->finished, 1);
  EXPECT_EQ(wrec->closed, 1); // no second close
  EXPECT_TRUE(*tail_down);
  EXPECT_EQ(shipped(), text(5));
}

TEST_F(file_tail_test, a_closed_tail_does_not_read_a_new_file_under_its_name) {
  append("a.log", "old content\n");
  start("a.log");
  advance(1s);
  ASSERT_EQ(wrec->closed, 1);
  // Deleted and created again; the tail hears of a change before the removal.
  // (The old inode stays allocated while the test holds it open, so the new
  // file cannot get the same inode number.)
  int keep = ::open(path("a.log").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(keep, 0);
  unlink("a.log");
  append("a.log", "brand new file content\n");
  auto requests = wrec->credit_requests;
  inject(modified_atom_v);
  // It tried the name, saw another file (identity), and left it alone.
  EXPECT_EQ(wrec->opened, 1);
  EXPECT_EQ(wrec->credit_requests, requests);
  EXPECT_EQ(shipped(), "old content\n");
  EXPECT_FALSE(*tail_down);
  // Nor later, when the timer would have it look again.
  advance(5s);
  EXPECT_EQ(shipped(), "old content\n");
  inject(removed_atom_v);
  ::close(keep);
  EXPECT_EQ(wrec->finished, 1);
  EXPECT_TRUE(*tail_down);
  EXPECT_EQ(shipped(), "old content\n");
  expect_consistent();
}

TEST_F(file_tail_test, an_open_tail_keeps_reading_its_deleted_file_not_the_new_one) {
  append("a.log", "old\n");
  start("a.log");
  ASSERT_TRUE(wrec->open());
  unlink("a.log");
  append("a.log", "brand new file content\n");
  inject(modified_atom_v);
  EXPECT_EQ(shipped(), "old\n");
  inject(removed_atom_v);
  advance(1s);
  EXPECT_EQ(wrec->finished, 1);
  EXPECT_EQ(shipped(), "old\n");
  expect_consistent();
}

// -- close_inactive -----------------------------------------------------------

TEST_F(file_tail_test, an_idle_tail_closes_its_file_and_reopens_it_on_change) {
  append("a.log", text(10));
  start("a.log");
  EXPECT_EQ(wrec->opened, 1);
  advance(999ms);
  EXPECT_EQ(wrec->closed, 0);
  advance(1ms);
  EXPECT_EQ(wrec->closed, 1);
  EXPECT_FALSE(wrec->open());
  // Closed and idle: no timer left.
  EXPECT_FALSE(sched.has_pending_timeout());
  append("a.log", text(10, 'A'));
  inject(modified_atom_v);
  EXPECT_EQ(wrec->opened, 2);
  EXPECT_TRUE(wrec->open());
  EXPECT_EQ(shipped(), written["a.log"]);
  expect_consistent();
  advance(1s);
  EXPECT_EQ(wrec->closed, 2);
  EXPECT_EQ(wrec->finished, 0);
  EXPECT_FALSE(*tail_down);
}

TEST_F(file_tail_test, activity_postpones_closing) {
  append("a.log", text(10));
  start("a.log");
  advance(500ms);
  inject(modified_atom_v); // nothing new, but the file was touched
  advance(500ms);
  EXPECT_EQ(wrec->closed, 0);
  advance(499ms);
  EXPECT_EQ(wrec->closed, 0);
  advance(1ms);
  EXPECT_EQ(wrec->closed, 1);
}

TEST_F(file_tail_test, close_closes_an_idle_file_at_once) {
  append("a.log", text(10));
  start("a.log");
  inject(close_atom_v);
  EXPECT_EQ(wrec->closed, 1);
  inject(close_atom_v);
  EXPECT_EQ(wrec->closed, 1);
  append("a.log", "x");
  inject(modified_atom_v);
  EXPECT_EQ(wrec->opened, 2);
  EXPECT_EQ(shipped(), written["a.log"]);
}

TEST_F(file_tail_test, a_file_missing_at_start_is_not_opened) {
  append("a.log", text(10));
  auto id = identity("a.log");
  unlink("a.log");
  auto shared = std::make_shared<const file_tail_settings>(settings);
  tail = own(sys.spawn(file_tail, shared, dir_watcher_actor{watcher}, the_id,
                       std::string("a.log"), std::string("a.log"), id,
                       file_position{the_source, 0}));
  run();
  EXPECT_EQ(wrec->opened, 0);
  EXPECT_EQ(wrec->credit_requests, 0u);
  inject(removed_atom_v);
  EXPECT_EQ(wrec->finished, 1);
}

// -- line mode ----------------------------------------------------------------

TEST_F(file_tail_test, line_mode_holds_a_partial_line_until_its_newline) {
  settings.line_mode = true;
  append("a.log", "abc");
  start("a.log");
  EXPECT_TRUE(brec->blocks.empty());
  EXPECT_EQ(wrec->released.size(), 1u); // the credit came back unused
  append("a.log", "def");
  inject(modified_atom_v);
  EXPECT_TRUE(brec->blocks.empty());
  append("a.log", "\nxy");
  inject(modified_atom_v);
  ASSERT_EQ(brec->blocks.size(), 1u);
  EXPECT_EQ(bytes_of(brec->blocks[0]), "abcdef\n");
  EXPECT_EQ(brec->blocks[0].flags, static_cast<std::uint32_t>(line_aligned));
  append("a.log", "z\n");
  inject(modified_atom_v);
  EXPECT_EQ(shipped(), "abcdef\nxyz\n");
  expect_consistent();
  for (const auto& blk : brec->blocks) {
    EXPECT_EQ(blk.flags, static_cast<std::uint32_t>(line_aligned));
    EXPECT_EQ(bytes_of(blk).back(), '\n');
  }
}

TEST_F(file_tail_test, line_mode_cuts_blocks_after_their_last_newline) {
  settings.line_mode = true;
  append("a.log", "one\ntwo\nthree\nfour\nfive\n");
  start("a.log");
  EXPECT_EQ(shipped(), written["a.log"]);
  for (const auto& blk : brec->blocks) {
    EXPECT_LE(blk.bytes.size(), 16u);
    EXPECT_EQ(blk.bytes.back(), '\n');
  }
  EXPECT_EQ(bytes_of(brec->blocks.at(0)), "one\ntwo\nthree\n");
  expect_consistent();
}

TEST_F(file_tail_test, line_mode_splits_an_over_long_line_into_max_line_pieces) {
  settings.line_mode = true;
  append("a.log", "ok\n" + text(40) + "\nnext\n");
  start("a.log");
  EXPECT_EQ(shipped(), written["a.log"]); // no byte lost
  EXPECT_EQ(sizes(), (std::vector<std::size_t>{3, 16, 16, 14}));
  expect_consistent();
  // Only blocks that end at a newline say so: not the pieces of the long line.
  for (const auto& blk : brec->blocks)
    EXPECT_EQ((blk.flags & line_aligned) != 0, bytes_of(blk).back() == '\n');
}

TEST_F(file_tail_test, line_mode_reads_up_to_max_line_when_it_exceeds_the_block_size) {
  settings.line_mode = true;
  settings.max_line = 40;
  append("a.log", text(30) + "\n" + text(50, 'A'));
  start("a.log");
  // A 31-byte line fits max_line: one block, although block_size is 16.
  ASSERT_EQ(brec->blocks.size(), 2u);
  EXPECT_EQ(bytes_of(brec->blocks[0]), text(30) + "\n");
  // The 50-byte line without a newline is split at max_line; the rest waits.
  EXPECT_EQ(bytes_of(brec->blocks[1]), text(40, 'A'));
  append("a.log", "\n");
  inject(modified_atom_v);
  EXPECT_EQ(shipped(), written["a.log"]);
  expect_consistent();
}

// Known bug (disabled until decided): cut_lines only splits when a whole
// read holds no newline, and a read is max(block_size, max_line) long, so
// with max_line below block_size (the defaults: 64 KiB and 256 KiB) a line
// longer than max_line whose newline is within the read is shipped whole.
TEST_F(file_tail_test, line_mode_splits_a_line_longer_than_max_line_below_block_size) {
  settings.line_mode = true;
  settings.block_size = 32;
  settings.max_line = 8;
  append("a.log", text(12) + "\n");
  start("a.log");
  EXPECT_EQ(shipped(), written["a.log"]);
  EXPECT_EQ(sizes(), (std::vector<std::size_t>{8, 5}));
}

TEST_F(file_tail_test, line_mode_ships_the_last_line_of_a_rotated_away_file) {
  settings.line_mode = true;
  append("a.log", "one\ntwo");
  start("a.log");
  EXPECT_EQ(shipped(), "one\n");
  rename("a.log", "a.log.1");
  inject(renamed_atom_v, std::string("a.log.1"), false);
  EXPECT_EQ(shipped(), "one\n");
  advance(1s);
  EXPECT_EQ(shipped(), "one\ntwo");
  EXPECT_EQ(wrec->finished, 1);
  EXPECT_TRUE(*tail_down);
  expect_consistent();
}

TEST_F(file_tail_test, line_mode_ships_the_last_line_of_a_deleted_file) {
  settings.line_mode = true;
  append("a.log", "one\n" + text(10));
  start("a.log");
  EXPECT_EQ(shipped(), "one\n"); // the rest waits for its newline
  unlink("a.log");
  inject(removed_atom_v);
  advance(1s);
  EXPECT_EQ(shipped(), written["a.log"]);
  EXPECT_EQ(wrec->finished, 1);
  expect_consistent();
}

TEST_F(file_tail_test, line_mode_ships_the_last_line_of_a_closed_tail_rotated_away) {
  settings.line_mode = true;
  append("a.log", "one\ntwo");
  start("a.log");
  advance(1s); // idle: closed, "two" still waits for its newline
  ASSERT_EQ(wrec->closed, 1);
  rename("a.log", "a.log.1");
  inject(renamed_atom_v, std::string("a.log.1"), false);
  advance(1s);
  EXPECT_EQ(shipped(), "one\ntwo");
  EXPECT_EQ(wrec->finished, 1);
  expect_consistent();
}

// -- deflate ------------------------------------------------------------------

TEST_F(file_tail_test, deflate_ships_each_block_as_one_zlib_stream) {
  settings.deflate = true;
  append("a.log", text(40));
  start("a.log");
  ASSERT_EQ(brec->blocks.size(), 3u);
  for (std::size_t i = 0; i < brec->blocks.size(); ++i) {
    const auto& blk = brec->blocks[i];
    EXPECT_EQ(blk.flags, static_cast<std::uint32_t>(deflated));
    ASSERT_GE(blk.bytes.size(), 2u);
    EXPECT_EQ(static_cast<unsigned char>(blk.bytes[0]), 0x78); // zlib header
    EXPECT_EQ(bytes_of(blk), written["a.log"].substr(blk.offset, bytes_of(blk).size()));
  }
  EXPECT_EQ(sizes(), (std::vector<std::size_t>{16, 16, 8}));
  EXPECT_EQ(shipped(), written["a.log"]);
  // Offsets and ends count the file's bytes, not the compressed ones.
  expect_consistent();
  EXPECT_EQ(wrec->published.back().end, 40u);
  append("a.log", text(10, 'A'));
  inject(modified_atom_v);
  EXPECT_EQ(shipped(), written["a.log"]);
  expect_consistent();
}

TEST_F(file_tail_test, deflate_and_line_mode_together) {
  settings.deflate = true;
  settings.line_mode = true;
  append("a.log", "one\ntwo\nthree\npartial");
  start("a.log");
  EXPECT_EQ(shipped(), "one\ntwo\nthree\n");
  for (const auto& blk : brec->blocks)
    EXPECT_EQ(blk.flags, static_cast<std::uint32_t>(deflated | line_aligned));
  expect_consistent();
}

// -- deflate on the input's compressors ---------------------------------------

/// A compressor that keeps its requests until the test tells it to answer.
using held_compressor_actor = block_compressor_actor::extend<caf::reacts_to<flush_atom>>;

struct held_compressions {
  std::vector<std::pair<caf::typed_response_promise<log_block>, log_block>> held;
};

held_compressor_actor::behavior_type held_compressor(held_compressor_actor::pointer self,
                                                     std::shared_ptr<held_compressions> rec) {
  return {
    [=](compress_atom, log_block& blk, int level) -> caf::result<log_block> {
      std::vector<char> out;
      deflate_block(blk.bytes.data(), blk.bytes.size(), level, out);
      blk.bytes = std::move(out);
      blk.flags |= deflated;
      auto promise = self->make_response_promise<log_block>();
      rec->held.emplace_back(promise, std::move(blk));
      return promise;
    },
    [=](flush_atom) {
      for (auto& [promise, blk] : rec->held)
        promise.deliver(std::move(blk));
      rec->held.clear();
    },
  };
}

class file_tail_compressors_test : public file_tail_test {
protected:
  file_tail_compressors_test() {
    settings.deflate = true;
    for (auto& rec : held) {
      rec = std::make_shared<held_compressions>();
      compressors.push_back(own(sys.spawn(held_compressor, rec)));
      settings.compressors.push_back(caf::actor_cast<block_compressor_actor>(compressors.back()));
    }
  }

  /// Compressor `i` answers what it holds.
  void answer(std::size_t i) {
    caf::anon_send(compressors[i], flush_atom_v);
    run();
  }

  std::shared_ptr<held_compressions> held[2];
  std::vector<held_compressor_actor> compressors;
};

TEST_F(file_tail_compressors_test, blocks_go_to_the_compressors_in_turn_and_out_in_read_order) {
  append("a.log", text(40));
  start("a.log");
  EXPECT_EQ(held[0]->held.size(), 2u); // blocks 1 and 3
  EXPECT_EQ(held[1]->held.size(), 1u); // block 2
  answer(1);
  EXPECT_TRUE(brec->blocks.empty()) << "block 2 published before block 1";
  EXPECT_TRUE(wrec->published.empty());
  answer(0);
  EXPECT_EQ(sizes(), (std::vector<std::size_t>{16, 16, 8}));
  EXPECT_EQ(shipped(), written["a.log"]);
  for (const auto& blk : brec->blocks)
    EXPECT_EQ(blk.flags, static_cast<std::uint32_t>(deflated));
  expect_consistent();
}

TEST_F(file_tail_compressors_test, a_deleted_file_finishes_only_once_its_blocks_are_back) {
  append("a.log", text(20));
  start("a.log");
  unlink("a.log");
  inject(removed_atom_v);
  advance(1s);
  EXPECT_EQ(wrec->finished, 0);
  EXPECT_FALSE(*tail_down);
  answer(1);
  answer(0);
  EXPECT_EQ(shipped(), written["a.log"]);
  expect_consistent();
  EXPECT_EQ(wrec->finished, 1);
  EXPECT_TRUE(*tail_down);
}

TEST_F(file_tail_compressors_test, a_truncation_is_handled_once_its_blocks_are_published) {
  append("a.log", text(20));
  start("a.log");
  const auto told = wrec->source_ids;
  truncate("a.log");
  append("a.log", text(5, 'A'));
  inject(modified_atom_v);
  // Nothing of the new generation is read while the old one is out.
  EXPECT_EQ(wrec->source_ids, told);
  EXPECT_EQ(held[0]->held.size() + held[1]->held.size(), 2u);
  answer(0);
  answer(1);
  answer(0);
  EXPECT_EQ(shipped(), text(20) + text(5, 'A'));
  expect_consistent(0, 2);
}

// -- stop ---------------------------------------------------------------------

TEST_F(file_tail_test, after_stop_nothing_is_published) {
  append("a.log", text(10));
  start("a.log");
  inject(stop_atom_v);
  auto requests = wrec->credit_requests;
  append("a.log", text(10, 'A'));
  inject(modified_atom_v);
  inject(renamed_atom_v, std::string("b.log"), true);
  EXPECT_EQ(shipped(), text(10));
  EXPECT_EQ(wrec->credit_requests, requests);
  EXPECT_TRUE(wrec->released.empty());
}

TEST_F(file_tail_test, a_credit_granted_after_stop_is_released) {
  wrec->hold_credit = true;
  append("a.log", text(10));
  start("a.log");
  ASSERT_EQ(wrec->held, 1u);
  inject(stop_atom_v);
  grant();
  EXPECT_TRUE(brec->blocks.empty());
  EXPECT_EQ(wrec->granted, (std::vector<std::uint64_t>{0}));
  EXPECT_EQ(wrec->released, (std::vector<std::uint64_t>{0}));
  EXPECT_TRUE(wrec->published.empty());
  EXPECT_EQ(wrec->credit_requests, 1u);
}

} // namespace
} // namespace logpipe::test
