// The file output under the deterministic scheduler, writing to a real temp
// folder, in front of a recording bus: byte-exact files, acks only after the
// write, inflating, hostile names and names taken by folders or FIFOs,
// write errors, a full disk, rotation and its hook.

#include "actors/file_output/file_sink.hpp"

#include "test/file_output/folder_tree.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/proc_scan.hpp"
#include "test/support/recording_bus.hpp"
#include "test/support/small_tmpfs.hpp"
#include "test/support/wait_until.hpp"

#include "actors/core/logging.hpp"
#include "actors/shared/deflate.hpp"
#include "actors/shared/rotation.hpp"
#include "config/config.hpp"

#include <caf/after.hpp>
#include <caf/system_messages.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <tuple>
#include <vector>

namespace logpipe::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// Only the file output's kind, as the component registry would offer it.
class file_kind : public config::kind_lookup {
public:
  file_kind() : schema_(file_sink_schema()) {}
  const config::kind_schema* find(config::role r, std::string_view type) const override {
    return r == config::role::output && type == schema_.type ? &schema_ : nullptr;
  }
  std::vector<std::string> types(config::role r) const override {
    if (r == config::role::output)
      return {schema_.type};
    return {};
  }

private:
  config::kind_schema schema_;
};

constexpr std::uint32_t output_index = 3;

class file_sink_test : public actor_fixture {
protected:
  file_sink_test() {
    std::string tmpl = (fs::temp_directory_path() / "logpipe-file-sink-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed");
    base = tmpl;
    out = base / "out";
    data_dir = base / "data";
    fs::create_directories(data_dir);
    bus = own(sys.spawn(recording_bus, rec));
  }

  ~file_sink_test() override {
    std::error_code ec;
    fs::remove_all(base, ec);
  }

  /// Loads `[[outputs]] type = "file"` with `path` and the extra keys (TOML).
  config::component_config load(const std::string& extra) {
    std::string text = "[[outputs]]\ntype = \"file\"\npath = \"" + out.string() + "\"\n" + extra;
    auto cfg = config::load_string(text, base / "agent.toml", kinds);
    if (cfg.outputs.size() != 1)
      throw std::runtime_error("expected one output");
    return cfg.outputs[0];
  }

  /// Spawns the output (not detached: the test scheduler runs it) and runs.
  file_sink_actor start(const std::string& extra = "") {
    component_context ctx;
    ctx.config = load(extra);
    ctx.index = output_index;
    ctx.bus = bus;
    ctx.agent_name = "test-agent";
    ctx.data_dir = data_dir.string();
    sink = own(sys.spawn(file_sink, ctx));
    self->monitor(sink);
    run();
    return sink;
  }

  std::uint64_t publish(const std::string& name, const std::string& bytes,
                        const std::string& origin = "127.0.0.1") {
    return publish_at(name, 0, 0, bytes, 0, origin);
  }

  /// Publishes a block of source generation `source_id` at `offset`.
  std::uint64_t publish_at(const std::string& name, std::uint64_t source_id,
                           std::uint64_t offset, const std::string& bytes,
                           std::uint32_t flags = 0, const std::string& origin = "web-1") {
    log_block blk;
    blk.origin = origin;
    blk.file_name = name;
    blk.source_id = source_id;
    blk.offset = offset;
    blk.flags = flags;
    blk.input = 1;
    blk.seq = next_seq++;
    blk.bytes.assign(bytes.begin(), bytes.end());
    auto seq = blk.seq;
    caf::anon_send(sink, publish_atom_v, std::move(blk));
    return seq;
  }

  /// The output's state (the test scheduler runs nothing meanwhile).
  const file_sink_state& state() {
    auto* ptr = caf::actor_cast<caf::abstract_actor*>(sink);
    return dynamic_cast<file_sink_actor::stateful_pointer<file_sink_state>>(ptr)->state;
  }

  /// Stops the output and starts a new one on the same folder and data_dir.
  void restart(const std::string& extra) {
    caf::anon_send_exit(sink, caf::exit_reason::kill);
    run();
    start(extra);
  }

  std::vector<std::uint64_t> acked() const {
    std::vector<std::uint64_t> result;
    for (auto [o, i, seq] : rec->acks) {
      EXPECT_EQ(o, output_index);
      EXPECT_EQ(i, 1u);
      result.push_back(seq);
    }
    return result;
  }

  /// The reason the output stopped, if it did.
  std::optional<caf::error> down_reason() {
    std::optional<caf::error> result;
    self->receive([&](caf::down_msg& msg) { result = msg.reason; },
                  caf::after(std::chrono::milliseconds(0)) >> [] {});
    return result;
  }

  static std::string deflated(const std::string& text) {
    std::vector<char> z;
    deflate_block(text.data(), text.size(), default_compress_level, z);
    return std::string(z.begin(), z.end());
  }

  file_kind kinds;
  fs::path base;
  fs::path out;
  fs::path data_dir;
  std::shared_ptr<bus_record> rec = std::make_shared<bus_record>();
  bus_actor bus;
  file_sink_actor sink;
  caf::scoped_actor self{sys};
  std::uint64_t next_seq = 100;
};

TEST_F(file_sink_test, attaches_and_creates_its_folder) {
  out = base / "deep" / "out";
  start();
  EXPECT_EQ(rec->outputs_attached, std::vector<std::uint32_t>{output_index});
  EXPECT_TRUE(fs::is_directory(out));
  EXPECT_FALSE(down_reason());
}

TEST_F(file_sink_test, writes_two_names_byte_exact_in_order_and_acks_each) {
  start();
  std::string binary;
  for (int i = 0; i < 100000; ++i)
    binary += static_cast<char>(i * 7 % 256);
  std::vector<std::pair<std::string, std::string>> blocks = {
    {"a.log", "first a\n"}, {"b.log", "first b\n"}, {"a.log", binary},
    {"b.log", "second b\n"}, {"a.log", "last a\n"}};
  std::map<std::string, std::string> expected;
  std::vector<std::uint64_t> sent;
  for (const auto& [name, bytes] : blocks) {
    expected[name] += bytes;
    sent.push_back(publish(name, bytes));
  }
  run();
  EXPECT_EQ(acked(), sent);
  EXPECT_EQ(tree(out), (std::vector<std::string>{"a.log", "b.log"}));
  EXPECT_TRUE(read_file(out / "a.log") == expected["a.log"]) << "a.log differs";
  EXPECT_EQ(read_file(out / "b.log"), expected["b.log"]);
  EXPECT_FALSE(down_reason());
}

TEST_F(file_sink_test, by_origin_keeps_each_sender_apart) {
  start("layout = \"by_origin\"\n");
  publish("app.log", "from v4\n", "127.0.0.1");
  publish("app.log", "from v6\n", "::1");
  run();
  EXPECT_EQ(acked().size(), 2u);
  EXPECT_EQ(read_file(out / "127.0.0.1" / "app.log"), "from v4\n");
  EXPECT_EQ(read_file(out / "::1" / "app.log"), "from v6\n");
}

TEST_F(file_sink_test, inflates_zlib_blocks_and_truncated_1x_ones) {
  start("uncompress = \"deflate\"\n");
  const std::string one = "one line\nanother line\n";
  const std::string two(5000, 'q');
  auto truncated = deflated(two);
  truncated.pop_back(); // as 1.x senders send it: the trailer lacks its last byte
  auto s1 = publish("z.log", deflated(one));
  auto s2 = publish("z.log", truncated);
  run();
  EXPECT_EQ(acked(), (std::vector<std::uint64_t>{s1, s2}));
  EXPECT_EQ(read_file(out / "z.log"), one + two);
}

TEST_F(file_sink_test, a_block_that_is_not_zlib_is_written_as_it_came_and_acked) {
  start("uncompress = \"deflate\"\n");
  auto s1 = publish("mixed.log", "plain text, not zlib\n");
  auto s2 = publish("mixed.log", deflated("inflated\n"));
  auto s3 = publish("mixed.log", "x"); // shorter than a zlib header
  run();
  EXPECT_EQ(acked(), (std::vector<std::uint64_t>{s1, s2, s3}));
  EXPECT_EQ(read_file(out / "mixed.log"), "plain text, not zlib\ninflated\nx");
}

TEST_F(file_sink_test, without_uncompress_zlib_blocks_are_written_as_they_are) {
  start();
  auto z = deflated("hello\n");
  publish("raw.log", z);
  run();
  EXPECT_EQ(read_file(out / "raw.log"), z);
}

TEST_F(file_sink_test, a_hostile_name_is_acked_and_written_nowhere) {
  start();
  const auto before = tree(base);
  std::vector<std::uint64_t> sent;
  const std::vector<std::string> names = {"../escape.log", "/tmp/abs.log", "a/b", "..", "",
                                         std::string("nul\0byte", 8), std::string(300, 'n')};
  for (const auto& name : names)
    sent.push_back(publish(name, "hostile\n"));
  sent.push_back(publish("../escape.log", "again\n"));
  run();
  EXPECT_EQ(acked(), sent);
  EXPECT_EQ(tree(base), before);
  EXPECT_TRUE(fs::is_empty(out));
  EXPECT_FALSE(down_reason()) << "a refused name does not stop the output";
  // It keeps writing good names.
  publish("good.log", "fine\n");
  run();
  EXPECT_EQ(read_file(out / "good.log"), "fine\n");
}

TEST_F(file_sink_test, a_hostile_origin_is_acked_and_written_nowhere) {
  start("layout = \"by_origin\"\n");
  fs::create_directories(base / "elsewhere");
  fs::create_symlink(base / "elsewhere", out / "planted");
  const auto before = tree(base);
  auto s1 = publish("app.log", "x\n", "../up");
  auto s2 = publish("app.log", "x\n", "planted");
  run();
  EXPECT_EQ(acked(), (std::vector<std::uint64_t>{s1, s2}));
  EXPECT_EQ(tree(base), before);
  EXPECT_TRUE(fs::is_empty(base / "elsewhere"));
}

TEST_F(file_sink_test, a_name_taken_by_a_folder_or_fifo_is_refused_and_the_others_go_on) {
  start();
  fs::create_directories(out / "lost+found");
  ASSERT_EQ(::mkfifo((out / "pipe.log").c_str(), 0600), 0);
  auto s1 = publish("lost+found", "refused\n");
  auto s2 = publish("pipe.log", "refused\n");
  auto s3 = publish("good.log", "ok\n");
  auto s4 = publish("lost+found", "refused again\n");
  run();
  // Refused blocks are acked (counted, logged once), as for a symbolic link.
  EXPECT_EQ(acked(), (std::vector<std::uint64_t>{s1, s2, s3, s4}));
  EXPECT_FALSE(down_reason()) << "the output stopped";
  EXPECT_EQ(read_file(out / "good.log"), "ok\n");
  EXPECT_TRUE(fs::is_empty(out / "lost+found"));
  EXPECT_EQ(state().refused, 3u);
}

TEST_F(file_sink_test, a_full_disk_holds_the_blocks_and_writes_them_once_space_is_freed) {
  small_tmpfs disk(out, 64 * 1024);
  if (!disk.mounted())
    GTEST_SKIP() << disk.why_not();
  std::ofstream(out / "filler") << std::string(60 * 1024, 'x');
  start("retry_interval = \"1s\"\n");
  std::string expected;
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 8; ++i) {
    auto block = std::string(1999, static_cast<char>('a' + i)) + "\n";
    expected += block;
    seqs.push_back(publish("app.log", block));
  }
  run();
  // The disk filled up: what is acked is what the file holds, whole blocks
  // only; the rest is held, and the output runs on.
  auto first = acked();
  ASSERT_LT(first.size(), seqs.size()) << "the disk never filled up";
  EXPECT_EQ(first, std::vector<std::uint64_t>(seqs.begin(), seqs.begin() + first.size()));
  EXPECT_EQ(read_file(out / "app.log"), expected.substr(0, first.size() * 2000));
  EXPECT_EQ(state().held.size(), seqs.size() - first.size());
  EXPECT_FALSE(down_reason()) << "the output stopped";
  // Still full at the retry: nothing more.
  advance(1s);
  EXPECT_EQ(acked(), first);
  // Space freed: the next retry writes every held block, once, in order.
  fs::remove(out / "filler");
  advance(1s);
  EXPECT_EQ(acked(), seqs);
  EXPECT_TRUE(read_file(out / "app.log") == expected) << "not every block exactly once";
  EXPECT_TRUE(state().held.empty());
  // And new blocks go straight to the file again.
  auto late = publish("app.log", "late\n");
  run();
  EXPECT_EQ(acked().back(), late);
}

TEST_F(file_sink_test, a_failing_write_call_is_not_acked) {
  start();
  // The file size limit makes write() itself fail (EFBIG) midway through the
  // block, after the file was opened fine.
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto s1 = publish("big.log", std::string(1000, 'a'));
  publish("big.log", std::string(10000, 'b'));
  run();
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(acked(), std::vector<std::uint64_t>{s1});
  auto reason = down_reason();
  ASSERT_TRUE(reason) << "the output did not stop";
  EXPECT_EQ(*reason, caf::sec::runtime_error) << sys.render(*reason);
  // The part of the second block that was written is taken back.
  EXPECT_EQ(fs::file_size(out / "big.log"), 1000u) << "partly written, not acked";
}

TEST_F(file_sink_test, rotates_at_rotate_size_and_runs_the_hook) {
  const auto hook_out = base / "hook.env";
  start("rotate_size = 10\nexec_after_rotating = \"env | grep ^LOGPIPE_ROTATING_ | sort > '"
        + hook_out.string() + ".tmp' && mv '" + hook_out.string() + ".tmp' '"
        + hook_out.string() + "'\"\n");
  auto s1 = publish("app.log", "aaaaaa");
  auto s2 = publish("app.log", "bbbbbb"); // starts at 6: same file
  auto s3 = publish("app.log", "cccccc"); // would start at 12: rotated first
  run();
  EXPECT_EQ(acked(), (std::vector<std::uint64_t>{s1, s2, s3}));
  auto names = tree(out);
  ASSERT_EQ(names.size(), 2u);
  const auto rotated = names[0];
  EXPECT_TRUE(is_rotated_name(rotated)) << rotated;
  EXPECT_EQ(rotated.rfind("_app.log-", 0), 0u) << rotated;
  EXPECT_EQ(names[1], "app.log");
  EXPECT_EQ(read_file(out / rotated), "aaaaaabbbbbb");
  EXPECT_EQ(read_file(out / "app.log"), "cccccc");
  ASSERT_TRUE(wait_until([&] { return fs::exists(hook_out); })) << "the hook did not run";
  EXPECT_EQ(read_file(hook_out), "LOGPIPE_ROTATING_NEW_FILENAME=" + rotated + "\n"
                                   "LOGPIPE_ROTATING_OLD_FILENAME=app.log\n"
                                   "LOGPIPE_ROTATING_PATHNAME=" + out.string() + "\n");
}

TEST_F(file_sink_test, a_hook_that_runs_too_long_is_killed_at_hook_timeout) {
  const auto pid_file = base / "hook.pid";
  start("rotate_size = 1\nhook_timeout = \"1s\"\nexec_after_rotating = \"echo $$ > '"
        + pid_file.string() + ".tmp' && mv '" + pid_file.string() + ".tmp' '"
        + pid_file.string() + "' && exec sleep 30\"\n");
  publish("app.log", "1");
  publish("app.log", "2");
  run();
  ASSERT_TRUE(wait_until([&] { return fs::exists(pid_file); })) << "the hook did not run";
  const pid_t pid = std::stoi(read_file(pid_file));
  ASSERT_GT(pid, 0);
  advance(100ms);
  EXPECT_EQ(::kill(pid, 0), 0) << "killed before hook_timeout";
  advance(1s);
  EXPECT_EQ(::kill(pid, 0), -1) << "still there after hook_timeout";
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(file_sink_test, file_mode_must_be_octal_digits) {
  for (const char* bad : {"rw-r-----", "0649", "64", "06400"}) {
    try {
      load(std::string("file_mode = \"") + bad + "\"\n");
      ADD_FAILURE() << "accepted file_mode " << bad;
    } catch (const config::config_error& e) {
      EXPECT_NE(std::string(e.what()).find("file_mode"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(load("file_mode = \"0600\"\n").get_string("file_mode"), "0600");
}

TEST_F(file_sink_test, the_config_has_the_documented_defaults) {
  auto c = load("");
  EXPECT_EQ(c.get_string("layout"), "flat");
  EXPECT_EQ(c.get_string("uncompress"), "none");
  EXPECT_EQ(c.get_size("rotate_size"), 0u);
  EXPECT_EQ(c.get_string("exec_after_rotating"), "");
  EXPECT_EQ(c.get_duration("hook_timeout"), std::chrono::seconds(60));
  EXPECT_EQ(c.get_string("file_mode"), "0640");
  EXPECT_EQ(c.get_int("max_open_files"), 256);
  EXPECT_THROW(load("max_open_files = 0\n"), config::config_error);
  EXPECT_THROW(load("layout = \"nested\"\n"), config::config_error);
}

TEST_F(file_sink_test, a_path_that_is_a_file_is_a_config_error) {
  std::ofstream(base / "file") << "x";
  out = base / "file";
  EXPECT_THROW(load(""), config::config_error);
}


// --- duplicates (layout = "by_origin", blocks with a source_id) ---------------

constexpr std::uint64_t s1 = 0xabc1;
constexpr std::uint64_t s2 = 0xabc2;
const std::string by_origin = "layout = \"by_origin\"\n";

TEST_F(file_sink_test, a_re_sent_block_is_not_written_twice) {
  start(by_origin);
  std::vector<std::uint64_t> sent;
  sent.push_back(publish_at("app.log", s1, 0, "first\n"));
  sent.push_back(publish_at("app.log", s1, 6, "second\n"));
  sent.push_back(publish_at("app.log", s1, 0, "first\n"));
  sent.push_back(publish_at("app.log", s1, 6, "second\n"));
  run();
  EXPECT_EQ(acked(), sent) << "duplicates are acked too";
  EXPECT_EQ(read_file(out / "web-1" / "app.log"), "first\nsecond\n");
  EXPECT_EQ(state().duplicate_bytes, 13u);
  EXPECT_EQ(state().bytes, 13u);
  EXPECT_FALSE(down_reason());
}

TEST_F(file_sink_test, a_partial_overlap_writes_only_the_new_part) {
  start(by_origin);
  publish_at("app.log", s1, 0, "0123456789");
  publish_at("app.log", s1, 5, "56789ABCDE");
  run();
  EXPECT_EQ(acked().size(), 2u);
  EXPECT_EQ(read_file(out / "web-1" / "app.log"), "0123456789ABCDE");
  EXPECT_EQ(state().duplicate_bytes, 5u);
}

TEST_F(file_sink_test, a_new_source_id_appends_after_what_is_there) {
  start(by_origin);
  publish_at("app.log", s1, 0, "old generation\n");
  publish_at("app.log", s2, 0, "new\n"); // the source was truncated or replaced
  publish_at("app.log", s2, 0, "new\n");
  run();
  EXPECT_EQ(read_file(out / "web-1" / "app.log"), "old generation\nnew\n");
}

TEST_F(file_sink_test, a_gap_upstream_is_written_and_followed) {
  start(by_origin);
  publish_at("app.log", s1, 0, "aaaa");
  publish_at("app.log", s1, 100, "bbbb"); // bytes 4 to 100 never came
  publish_at("app.log", s1, 100, "bbbb");
  publish_at("app.log", s1, 104, "cc");
  run();
  EXPECT_EQ(acked().size(), 4u);
  EXPECT_EQ(read_file(out / "web-1" / "app.log"), "aaaabbbbcc");
}

TEST_F(file_sink_test, re_sent_blocks_are_skipped_after_a_restart) {
  start(by_origin);
  publish_at("app.log", s1, 0, "one\n");
  publish_at("app.log", s1, 4, "two\n");
  run();
  EXPECT_TRUE(fs::exists(data_dir / "file-output-file#1.positions"));
  restart(by_origin);
  publish_at("app.log", s1, 0, "one\n");
  publish_at("app.log", s1, 4, "two\n");
  publish_at("app.log", s1, 8, "three\n");
  run();
  EXPECT_EQ(read_file(out / "web-1" / "app.log"), "one\ntwo\nthree\n");
  EXPECT_EQ(state().duplicate_bytes, 8u);
  EXPECT_EQ(acked().size(), 5u);
}

TEST_F(file_sink_test, a_re_send_after_rotation_is_skipped_also_after_a_restart) {
  const std::string extra = by_origin + "rotate_size = 10\n";
  start(extra);
  publish_at("app.log", s1, 0, "aaaaaa");
  publish_at("app.log", s1, 6, "bbbbbb");
  run();
  publish_at("app.log", s1, 6, "bbbbbb"); // the file is rotated before it
  publish_at("app.log", s1, 12, "cccccc");
  run();
  auto names = tree(out / "web-1");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_TRUE(is_rotated_name(names[0])) << names[0];
  EXPECT_EQ(read_file(out / "web-1" / names[0]), "aaaaaabbbbbb");
  EXPECT_EQ(read_file(out / "web-1" / "app.log"), "cccccc");
  restart(extra);
  publish_at("app.log", s1, 6, "bbbbbb");
  publish_at("app.log", s1, 12, "cccccc");
  publish_at("app.log", s1, 18, "dd");
  run();
  EXPECT_EQ(read_file(out / "web-1" / "app.log"), "ccccccdd");
  EXPECT_EQ(tree(out / "web-1").size(), 2u);
  EXPECT_EQ(acked().size(), 7u);
}

TEST_F(file_sink_test, a_block_cut_short_by_a_write_error_is_completed_after_a_restart) {
  start(by_origin);
  // The file size limit makes write() fail (EFBIG) midway through the block;
  // the record was journaled before, so the restarted output knows where the
  // block's bytes stop in the file.
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string block;
  for (int i = 0; i < 10000; ++i)
    block += static_cast<char>('a' + i % 26);
  publish_at("big.log", s1, 0, block);
  run();
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_TRUE(down_reason()) << "the output did not stop";
  // What was written of it was taken back.
  ASSERT_EQ(fs::file_size(out / "web-1" / "big.log"), 0u);
  restart(by_origin);
  publish_at("big.log", s1, 0, block); // as the bus sends it again
  run();
  EXPECT_TRUE(read_file(out / "web-1" / "big.log") == block) << "not the block once";
  EXPECT_EQ(state().duplicate_bytes, 0u);
}

TEST_F(file_sink_test, deflated_blocks_are_compared_by_their_inflated_bytes) {
  start(by_origin + "uncompress = \"deflate\"\n");
  publish_at("z.log", s1, 0, deflated("hello\n"), block_flags::deflated);
  publish_at("z.log", s1, 0, deflated("hello\n"), block_flags::deflated);
  publish_at("z.log", s1, 3, deflated("lo\nworld\n"), block_flags::deflated);
  run();
  EXPECT_EQ(read_file(out / "web-1" / "z.log"), "hello\nworld\n");
  EXPECT_EQ(state().duplicate_bytes, 9u);
}

TEST_F(file_sink_test, a_truncated_output_file_is_written_again) {
  fs::create_directories(out / "web-1");
  std::ofstream(out / "web-1" / "app.log") << "before\n";
  start(by_origin);
  publish_at("app.log", s1, 0, "one\n");
  run();
  EXPECT_EQ(read_file(out / "web-1" / "app.log"), "before\none\n");
  fs::resize_file(out / "web-1" / "app.log", 0); // while the output has it open
  publish_at("app.log", s1, 0, "one\n");
  run();
  EXPECT_EQ(read_file(out / "web-1" / "app.log"), "one\n");
}

TEST_F(file_sink_test, bytes_that_are_not_source_bytes_end_the_record) {
  start(by_origin);
  publish_at("app.log", s1, 0, "aaaa");
  publish_at("app.log", 0, 0, "XX"); // no source_id: not comparable
  publish_at("app.log", s1, 4, "bbbb");
  run();
  EXPECT_EQ(read_file(out / "web-1" / "app.log"), "aaaaXXbbbb");
}

TEST_F(file_sink_test, flat_layout_and_source_id_0_write_duplicates_as_before) {
  start();
  publish_at("flat.log", s1, 0, "x\n");
  publish_at("flat.log", s1, 0, "x\n");
  run();
  EXPECT_EQ(read_file(out / "flat.log"), "x\nx\n");
  EXPECT_FALSE(fs::exists(data_dir / "file-output-file#1.positions"));
  restart(by_origin);
  publish_at("tcp.log", 0, 0, "y\n");
  publish_at("tcp.log", 0, 0, "y\n");
  run();
  EXPECT_EQ(read_file(out / "web-1" / "tcp.log"), "y\ny\n");
  EXPECT_EQ(state().duplicate_bytes, 0u);
}

TEST_F(file_sink_test, deflated_blocks_written_compressed_are_not_compared) {
  start(by_origin);
  const auto z = deflated("hello\n");
  publish_at("z.log", s1, 0, z, block_flags::deflated);
  publish_at("z.log", s1, 0, z, block_flags::deflated);
  run();
  EXPECT_EQ(read_file(out / "web-1" / "z.log"), z + z);
}

TEST_F(file_sink_test, a_burst_of_skips_is_logged_once) {
  const auto log_file = base / "agent.log";
  log::setup(log_file.string(), config::log_level::info);
  start(by_origin);
  publish_at("app.log", s1, 0, "0123456789");
  publish_at("app.log", s1, 0, "01234");
  publish_at("app.log", s1, 5, "56789");
  run();
  advance(60ms);
  publish_at("app.log", s1, 0, "0123456789"); // the burst goes on
  run();
  advance(60ms);
  advance(60ms);
  log::setup("", config::log_level::info);
  const auto text = read_file(log_file);
  std::size_t lines = 0;
  for (auto at = text.find("skipped "); at != std::string::npos; at = text.find("skipped ", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << text;
  EXPECT_NE(text.find("output file#1: skipped 20 bytes of web-1/app.log already written"),
            std::string::npos) << text;
}

} // namespace
} // namespace logpipe::test
