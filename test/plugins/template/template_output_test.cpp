// The template plugin's output, tested as docs/plugins.md tells plugin
// authors to test theirs: its actor alone, on CAF's deterministic scheduler,
// with a recording bus double.

#include "plugins/template/template_output.hpp"
#include "test/support/actor_fixture.hpp"
#include "test/support/process_helpers.hpp"
#include "test/support/recording_bus.hpp"

#include <gtest/gtest.h>

#include <tuple>

namespace logpipe::test {
namespace {

class template_output_test : public actor_fixture {
protected:
  template_output_test() : dir("logpipe-template") {
    bus = own(sys.spawn(recording_bus, rec));
  }

  output_actor start(const std::string& path) {
    component_context ctx;
    ctx.config.kind_role = config::role::output;
    ctx.config.type = "template";
    ctx.config.name = "template#1";
    ctx.config.values["path"] = path;
    ctx.config.values["prefix"] = std::string("> ");
    ctx.index = 2;
    ctx.bus = bus;
    auto output = own(sys.spawn(template_plugin::template_output, ctx));
    run();
    return output;
  }

  void publish(const output_actor& output, std::uint64_t seq, const std::string& text) {
    log_block blk;
    blk.input = 1;
    blk.seq = seq;
    blk.bytes.assign(text.begin(), text.end());
    caf::anon_send(output, publish_atom_v, blk);
    run();
  }

  proc_test::temp_dir dir;
  std::shared_ptr<bus_record> rec = std::make_shared<bus_record>();
  bus_actor bus;
};

TEST_F(template_output_test, prefixes_every_line_across_blocks_and_acks_each_block) {
  auto path = dir.file("out.txt");
  auto output = start(path);
  EXPECT_EQ(rec->outputs_attached, std::vector<std::uint32_t>{2});
  publish(output, 7, "one\ntw");
  publish(output, 8, "o\nthree\n");
  EXPECT_EQ(read_file(path), "> one\n> two\n> three\n");
  using ack = std::tuple<std::uint32_t, std::uint32_t, std::uint64_t>;
  EXPECT_EQ(rec->acks, (std::vector<ack>{{2, 1, 7}, {2, 1, 8}}));
}

TEST_F(template_output_test, a_file_it_cannot_open_stops_it_without_attaching) {
  auto output = start(dir.file("no-such-folder/out.txt"));
  EXPECT_TRUE(rec->outputs_attached.empty());
  EXPECT_TRUE(rec->acks.empty());
}

} // namespace
} // namespace logpipe::test
