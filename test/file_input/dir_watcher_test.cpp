// The dir_watcher's source ids under the deterministic scheduler: the real
// watcher and its real tails on real files, in front of a fake bus that
// records every block; the test acks blocks itself. Files change only while
// no watcher runs (a restart), so that the inotify thread never has anything
// to send: what a tail would tell the watcher is injected instead.

#include "actors/file_input/dir_watcher.hpp"

#include "actors/file_input/checkpoint_store.hpp"
#include "config/config.hpp"
#include "test/file_input/file_input_doubles.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/process_helpers.hpp"

#include <caf/send.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fcntl.h>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace logpipe::test {
namespace {

namespace fs = std::filesystem;
using logpipe::proc_test::temp_dir;
using logpipe::proc_test::write_file;

/// Only the file input's kind, as the component registry would offer it.
class file_input_kind : public config::kind_lookup {
public:
  file_input_kind() : schema_(file_input_schema()) {}
  const config::kind_schema* find(config::role r, std::string_view type) const override {
    return r == config::role::input && type == schema_.type ? &schema_ : nullptr;
  }
  std::vector<std::string> types(config::role r) const override {
    if (r == config::role::input)
      return {schema_.type};
    return {};
  }

private:
  config::kind_schema schema_;
};

class dir_watcher_test : public actor_fixture {
protected:
  dir_watcher_test() : brec(std::make_shared<block_record>()) {
    fs::create_directories(folder);
    fs::create_directories(data_dir);
    bus = own(sys.spawn(fake_bus, brec));
  }

  ~dir_watcher_test() override {
    // Before the folder goes: its deletion would wake the inotify thread.
    stop();
  }

  std::string path(const std::string& name) const { return folder + "/" + name; }

  /// Starts a file input on `folder` (read_from_head, checkpoints written at
  /// once, 4 KiB blocks) and runs until it is idle.
  void start(const std::string& keys = "") {
    const std::string text = "[[inputs]]\ntype = \"file\"\nname = \"logs\"\npath = \""
                             + folder + "\"\nread_from_head = true\n"
                               "checkpoint_interval = \"0s\"\nblock_size = \"4KiB\"\n"
                             + keys;
    component_context ctx;
    ctx.config = config::load_string(text, base.file("agent.toml"), kinds).inputs.at(0);
    ctx.index = 2;
    ctx.bus = bus;
    ctx.agent_name = "host-a";
    ctx.data_dir = data_dir;
    watcher = caf::actor_cast<dir_watcher_actor>(spawn_file_input(sys, ctx));
    run();
  }

  /// Ends the watcher (and its tails), as a stop or a crash would.
  void stop() {
    if (!watcher)
      return;
    caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
    watcher = nullptr;
    run();
  }

  /// Acks the blocks recorded from `first` on (the bus would, once every
  /// output has them).
  void ack_from(std::size_t first) {
    for (std::size_t i = first; i < brec->blocks.size(); ++i)
      caf::anon_send(watcher, ack_atom_v, brec->blocks[i].seq);
    run();
  }

  /// The checkpoints on disk, by name.
  std::map<std::string, checkpoint> checkpoints() const {
    checkpoint_store store(store_path);
    std::string error;
    if (!store.load(error))
      throw std::runtime_error(error);
    std::map<std::string, checkpoint> out;
    for (const auto& cp : store.all())
      out[cp.name] = cp;
    return out;
  }

  /// The blocks of `name` from index `first` on.
  std::vector<log_block> blocks_of(const std::string& name, std::size_t first = 0) const {
    std::vector<log_block> out;
    for (std::size_t i = first; i < brec->blocks.size(); ++i)
      if (brec->blocks[i].file_name == name)
        out.push_back(brec->blocks[i]);
    return out;
  }

  /// Every block of `name` from `first` on carries `source_id`; their bytes
  /// follow each other from `offset`. Returns where they end.
  std::uint64_t expect_blocks(const std::string& name, std::uint64_t source_id,
                              std::uint64_t offset, std::size_t first = 0) const {
    auto blocks = blocks_of(name, first);
    EXPECT_FALSE(blocks.empty()) << name;
    for (const auto& blk : blocks) {
      EXPECT_EQ(blk.source_id, source_id) << name << " at " << blk.offset;
      EXPECT_EQ(blk.offset, offset) << name;
      offset = blk.offset + blk.bytes.size();
    }
    return offset;
  }

  temp_dir base{"logpipe-dir-watcher"};
  const std::string folder = base.file("logs");
  const std::string data_dir = base.file("data");
  const std::string store_path = data_dir + "/file-input-logs.checkpoints";
  file_input_kind kinds;
  std::shared_ptr<block_record> brec;
  bus_actor bus;
  dir_watcher_actor watcher;
};

TEST_F(dir_watcher_test, each_file_gets_its_own_source_id_on_every_block) {
  write_file(path("a.log"), std::string(10000, 'a'));
  write_file(path("b.log"), std::string(100, 'b'));
  start();
  auto a = blocks_of("a.log");
  auto b = blocks_of("b.log");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 1u);
  const auto a_id = a[0].source_id;
  const auto b_id = b[0].source_id;
  EXPECT_NE(a_id, 0u);
  EXPECT_NE(b_id, 0u);
  EXPECT_NE(a_id, b_id);
  EXPECT_EQ(expect_blocks("a.log", a_id, 0), 10000u);
  EXPECT_EQ(expect_blocks("b.log", b_id, 0), 100u);
  // The checkpoints name the same generations, before and after the acks.
  auto cps = checkpoints();
  EXPECT_EQ(cps.at("a.log").source_id, a_id);
  EXPECT_EQ(cps.at("a.log").offset, 0u);
  EXPECT_EQ(cps.at("b.log").source_id, b_id);
  ack_from(0);
  cps = checkpoints();
  EXPECT_EQ(cps.at("a.log").source_id, a_id);
  EXPECT_EQ(cps.at("a.log").offset, 10000u);
  EXPECT_EQ(cps.at("b.log").source_id, b_id);
  EXPECT_EQ(cps.at("b.log").offset, 100u);
}

TEST_F(dir_watcher_test, a_restart_from_the_checkpoint_keeps_the_source_id) {
  write_file(path("a.log"), std::string(5000, 'a'));
  start();
  ASSERT_FALSE(brec->blocks.empty());
  const auto id = brec->blocks[0].source_id;
  ack_from(0);
  ASSERT_EQ(checkpoints().at("a.log").offset, 5000u);
  // A kill -9 leaves the store as it was last written: keep that copy.
  const auto on_disk = read_file(store_path);
  stop();
  write_file(store_path, on_disk);

  {
    std::FILE* f = std::fopen(path("a.log").c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::fputs("appended while the agent was down\n", f);
    std::fclose(f);
  }
  const auto first = brec->blocks.size();
  start();
  ASSERT_EQ(blocks_of("a.log", first).size(), 1u);
  EXPECT_EQ(expect_blocks("a.log", id, 5000, first), 5034u);
  ack_from(first);
  EXPECT_EQ(checkpoints().at("a.log").source_id, id);
  EXPECT_EQ(checkpoints().at("a.log").offset, 5034u);
}

TEST_F(dir_watcher_test, a_file_shorter_than_its_checkpoint_gets_a_new_source_id) {
  write_file(path("a.log"), std::string(3000, 'a'));
  start();
  const auto old_id = brec->blocks.at(0).source_id;
  ack_from(0);
  stop();
  // Truncated while the agent was down, its first bytes unchanged.
  ASSERT_EQ(::truncate(path("a.log").c_str(), 1500), 0);
  const auto first = brec->blocks.size();
  start();
  auto blocks = blocks_of("a.log", first);
  ASSERT_EQ(blocks.size(), 1u);
  const auto new_id = blocks[0].source_id;
  EXPECT_NE(new_id, old_id);
  EXPECT_NE(new_id, 0u);
  EXPECT_EQ(expect_blocks("a.log", new_id, 0, first), 1500u);
  // The checkpoint starts over under the new id at once, before any ack.
  EXPECT_EQ(checkpoints().at("a.log").source_id, new_id);
  EXPECT_EQ(checkpoints().at("a.log").offset, 0u);
  ack_from(first);
  EXPECT_EQ(checkpoints().at("a.log").source_id, new_id);
  EXPECT_EQ(checkpoints().at("a.log").offset, 1500u);
}

TEST_F(dir_watcher_test, a_file_replaced_while_down_gets_a_new_source_id) {
  write_file(path("a.log"), std::string(300, 'a'));
  start();
  const auto old_id = brec->blocks.at(0).source_id;
  ack_from(0);
  stop();
  ASSERT_EQ(::unlink(path("a.log").c_str()), 0);
  write_file(path("a.log"), std::string(400, 'z'));
  const auto first = brec->blocks.size();
  start();
  auto blocks = blocks_of("a.log", first);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_NE(blocks[0].source_id, old_id);
  EXPECT_NE(blocks[0].source_id, 0u);
  EXPECT_EQ(expect_blocks("a.log", blocks[0].source_id, 0, first), 400u);
}

TEST_F(dir_watcher_test, a_new_source_id_from_a_tail_moves_the_checkpoint_to_0) {
  write_file(path("a.log"), std::string(10000, 'a'));
  start();
  ASSERT_EQ(brec->blocks.size(), 3u);
  const auto old_id = brec->blocks[0].source_id;
  caf::anon_send(watcher, ack_atom_v, brec->blocks[0].seq);
  run();
  ASSERT_EQ(checkpoints().at("a.log").offset, 4096u);
  // What the tail (tail 1, the only one) says when it takes the identity of
  // its file again: the same id changes nothing ...
  const auto id = identity_at(path("a.log"));
  caf::anon_send(watcher, identity_atom_v, tail_id{1}, id.device, id.inode,
                 id.prefix_length, id.prefix_hash, old_id);
  run();
  EXPECT_EQ(checkpoints().at("a.log").source_id, old_id);
  EXPECT_EQ(checkpoints().at("a.log").offset, 4096u);
  // ... a new one (the file was truncated) starts the checkpoint over, and
  // the blocks of the previous generation, acked later, do not move it.
  constexpr std::uint64_t new_id = 0x0123456789abcdefull;
  caf::anon_send(watcher, identity_atom_v, tail_id{1}, id.device, id.inode,
                 id.prefix_length, id.prefix_hash, new_id);
  run();
  EXPECT_EQ(checkpoints().at("a.log").source_id, new_id);
  EXPECT_EQ(checkpoints().at("a.log").offset, 0u);
  ack_from(1);
  EXPECT_EQ(checkpoints().at("a.log").source_id, new_id);
  EXPECT_EQ(checkpoints().at("a.log").offset, 0u);
}

TEST_F(dir_watcher_test, a_checkpoint_of_the_previous_format_is_resumed_under_a_new_id) {
  write_file(path("a.log"), std::string(2000, 'a'));
  const auto id = identity_at(path("a.log"));
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(id.prefix_hash));
  write_file(store_path, "logpipe-checkpoints 1\n" + std::to_string(id.device) + " "
                           + std::to_string(id.inode) + " "
                           + std::to_string(id.prefix_length) + " " + hash
                           + " 1200 a.log\n");
  start();
  auto blocks = blocks_of("a.log");
  ASSERT_EQ(blocks.size(), 1u);
  const auto source_id = blocks[0].source_id;
  EXPECT_NE(source_id, 0u);
  EXPECT_EQ(expect_blocks("a.log", source_id, 1200), 2000u);
  // Written in the current format with that id; a restart keeps it.
  EXPECT_EQ(read_file(store_path).rfind("logpipe-checkpoints 2\n", 0), 0u);
  EXPECT_EQ(checkpoints().at("a.log").source_id, source_id);
  ack_from(0);
  stop();
  {
    std::FILE* f = std::fopen(path("a.log").c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::fputs("more\n", f);
    std::fclose(f);
  }
  const auto first = brec->blocks.size();
  start();
  EXPECT_EQ(expect_blocks("a.log", source_id, 2000, first), 2005u);
}

TEST_F(dir_watcher_test, a_file_renamed_to_a_name_not_collected_while_down_is_read_to_its_end) {
  write_file(path("app.log"), std::string(3000, 'a'));
  start("files = [\"*.log\"]\n");
  const auto id = brec->blocks.at(0).source_id;
  ack_from(0);
  ASSERT_EQ(checkpoints().at("app.log").offset, 3000u);
  stop();
  // While the agent is down: appended, then rotated away (`mv app.log
  // app.log.1`; app.log.1 does not match *.log).
  {
    std::FILE* f = std::fopen(path("app.log").c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::fputs(std::string(5000, 'b').c_str(), f);
    std::fclose(f);
  }
  ASSERT_EQ(::rename(path("app.log").c_str(), path("app.log.1").c_str()), 0);
  const auto first = brec->blocks.size();
  start("files = [\"*.log\"]\n");
  // The rest, under the name it was collected under and its own source id.
  EXPECT_EQ(expect_blocks("app.log", id, 3000, first), 8000u);
  EXPECT_TRUE(blocks_of("app.log.1", first).empty());
  ack_from(first);
  EXPECT_EQ(checkpoints().at("app.log").offset, 8000u);
  // Once idle for close_inactive it is finished, and its checkpoint dropped:
  // the next start does not look at it again.
  advance(std::chrono::seconds(61));
  EXPECT_TRUE(checkpoints().empty());
}

TEST_F(dir_watcher_test, a_name_not_collected_with_another_files_checkpoint_is_not_read) {
  write_file(path("app.log"), std::string(3000, 'a'));
  start("files = [\"*.log\"]\n");
  ack_from(0);
  stop();
  // Replaced by another file under the other name: same inode, other head.
  ASSERT_EQ(::rename(path("app.log").c_str(), path("app.log.1").c_str()), 0);
  {
    int fd = ::open(path("app.log.1").c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    std::string other(5000, 'z');
    ASSERT_EQ(::write(fd, other.data(), other.size()), 5000);
    ::close(fd);
  }
  const auto first = brec->blocks.size();
  start("files = [\"*.log\"]\n");
  EXPECT_EQ(brec->blocks.size(), first);
  EXPECT_TRUE(checkpoints().empty());
}

} // namespace
} // namespace logpipe::test
