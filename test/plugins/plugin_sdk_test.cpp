// The plugin SDK as a plugin author meets it: `cmake --install` puts logpipe
// into a prefix; the template plugin, copied out of the tree, builds against
// it with find_package(logpipe); and the installed agent loads it and sends
// it data.

#include "test/support/process_helpers.hpp"
#include "test/support/wait_until.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace logpipe::proc_test {
namespace {

using namespace std::chrono_literals;

TEST(plugin_sdk, the_template_plugin_builds_out_of_tree_and_an_installed_agent_loads_it) {
  temp_dir dir("logpipe-sdk");
  const auto prefix = dir.file("prefix");
  auto installed = run({LOGPIPE_CMAKE, "--install", LOGPIPE_BUILD_DIR, "--prefix", prefix}, dir, 60s);
  ASSERT_TRUE(installed.exited_with(0)) << installed;
  for (const char* file : {"bin/logpipe", "include/logpipe/plugin.hpp",
                           "include/logpipe/messages/log_block.hpp",
                           "lib/cmake/logpipe/logpipeConfig.cmake",
                           "lib/logpipe/plugins/liblogpipe-http.so"})
    EXPECT_TRUE(std::filesystem::exists(prefix + "/" + file)) << file;

  // Outside the tree: the template as installed, copied, and the installed logpipe.
  const auto source = dir.file("template");
  std::filesystem::copy(prefix + "/share/logpipe/plugins/template", source);
  auto configured = run({LOGPIPE_CMAKE, "-S", source, "-B", dir.file("build"),
                         "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=Release"},
                        dir, 60s);
  ASSERT_TRUE(configured.exited_with(0)) << configured;
  auto built = run({LOGPIPE_CMAKE, "--build", dir.file("build"), "-j2"}, dir, 240s);
  ASSERT_TRUE(built.exited_with(0)) << built;

  const auto config = dir.file("agent.toml");
  const auto out = dir.file("out.txt");
  write_file(config, "[agent]\n"
                     "data_dir = \"" + dir.file("data") + "\"\n"
                     "[log]\n"
                     "file = \"" + dir.file("agent.log") + "\"\n"
                     "[[inputs]]\n"
                     "type = \"exec\"\n"
                     "cmd = \"printf 'first\\\\nsecond\\\\n'\"\n"
                     "restart_delay = \"1h\"\n"
                     "[[outputs]]\n"
                     "plugin = \"build/liblogpipe-template.so\"\n"
                     "type = \"template\"\n"
                     "path = \"out.txt\"\n"
                     "prefix = \"> \"\n");
  child agent({prefix + "/bin/logpipe", "--no-daemon", "-f", config}, dir.file("agent.out"),
              dir.file("agent.err"));
  EXPECT_TRUE(wait_until([&] { return read_file(out) == "> first\n> second\n"; }))
    << "out.txt: " << read_file(out) << "\nlog:\n" << read_file(dir.file("agent.log"))
    << read_file(dir.file("agent.err"));
}

} // namespace
} // namespace logpipe::proc_test
