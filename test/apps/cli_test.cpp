// The command line of the real `logpipe` binary: options, exit codes (0
// success, 2 usage or configuration error), `--check` and its
// FILE:LINE:COLUMN messages, `--config-reference`.

#include "test/support/process_helpers.hpp"

#include "logpipe/build_info.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace logpipe::proc_test {
namespace {

namespace fs = std::filesystem;

const std::string binary = LOGPIPE_BINARY;

class cli : public ::testing::Test {
protected:
  temp_dir dir{"logpipe-cli"};
  // Appears in the command line of anything a test starts (see kill_marked).
  const std::string marker = dir.path() + "/";

  void TearDown() override {
    kill_marked(marker);
  }

  run_result logpipe(std::vector<std::string> args) {
    args.insert(args.begin(), binary);
    return run(args, dir);
  }

  /// Writes `text` to `name` in the test's folder; returns its path.
  std::string config(const std::string& name, const std::string& text) {
    auto path = dir.file(name);
    write_file(path, text);
    return path;
  }

  /// A valid agent: an exec input and a stdout output, everything it would
  /// write kept in the test's folder.
  std::string valid_config() {
    return "[agent]\n"
           "name = \"cli-test\"\n"
           "data_dir = \"" + dir.file("data") + "\"\n"
           "[log]\n"
           "file = \"" + dir.file("agent.log") + "\"\n"
           "[[inputs]]\n"
           "type = \"exec\"\n"
           "cmd = \"echo hello # " + marker + "\"\n"
           "[[outputs]]\n"
           "type = \"stdout\"\n";
  }

  /// `--check` on `text`: asserts exit 2, nothing on stdout, and returns the
  /// lines printed on stderr.
  std::vector<std::string> check_errors(const std::string& text) {
    auto path = config("broken.toml", text);
    auto r = logpipe({"--check", "-f", path});
    EXPECT_TRUE(r.exited_with(2)) << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_FALSE(r.err.empty()) << r;
    EXPECT_EQ(r.err.back(), '\n') << r;
    return complete_lines(r.err);
  }

  std::string broken() const {
    return dir.file("broken.toml");
  }
};

// --- Options ---------------------------------------------------------------------

TEST_F(cli, version_prints_version_build_date_and_caf_version) {
  for (const char* option : {"-v", "--version"}) {
    auto r = logpipe({option});
    EXPECT_TRUE(r.exited_with(0)) << option << ' ' << r;
    EXPECT_EQ(r.out, std::string("logpipe ") + LOGPIPE_VERSION + " (built " + LOGPIPE_BUILD_DATE
                       + ", CAF 0.17.6)\n")
      << option;
    EXPECT_TRUE(has_shape(LOGPIPE_BUILD_DATE, "####-##-##")) << LOGPIPE_BUILD_DATE;
    EXPECT_EQ(count_of(LOGPIPE_VERSION, "."), 2u) << LOGPIPE_VERSION;
    EXPECT_EQ(r.err, "") << option;
  }
}

TEST_F(cli, help_prints_usage_on_stdout_and_exits_0) {
  for (const char* option : {"-h", "--help"}) {
    auto r = logpipe({option});
    EXPECT_TRUE(r.exited_with(0)) << option << ' ' << r;
    EXPECT_EQ(r.out.rfind("usage: logpipe -f FILE [--no-daemon] [--check]", 0), 0u) << r;
    for (const char* documented : {"--no-daemon", "--check", "--start-once-for-env",
                                   "--config-reference", "-v, --version", "-h, --help",
                                   "exit codes: 0 success, 2 usage or configuration error"})
      EXPECT_NE(r.out.find(documented), std::string::npos) << documented << " missing:\n" << r;
    EXPECT_EQ(r.err, "") << option;
  }
}

TEST_F(cli, no_arguments_prints_usage_on_stderr_and_exits_2) {
  auto r = logpipe({});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_EQ(r.out, "");
  auto help = logpipe({"-h"});
  EXPECT_EQ(r.err, "logpipe: no arguments\n\n" + help.out);
}

TEST_F(cli, unknown_option_exits_2_naming_it) {
  auto r = logpipe({"-f", config("agent.toml", valid_config()), "--frobnicate"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(complete_lines(r.err).empty()) << r;
  EXPECT_EQ(complete_lines(r.err).front(), "logpipe: unknown option '--frobnicate'");
  EXPECT_NE(r.err.find("usage: logpipe"), std::string::npos) << r;
}

TEST_F(cli, config_option_without_file_exits_2) {
  for (const char* option : {"-f", "--config"}) {
    auto r = logpipe({"--check", option});
    EXPECT_TRUE(r.exited_with(2)) << option << ' ' << r;
    EXPECT_EQ(r.out, "");
    ASSERT_FALSE(complete_lines(r.err).empty()) << r;
    EXPECT_EQ(complete_lines(r.err).front(),
              std::string("logpipe: option ") + option + " needs a file name");
  }
}

TEST_F(cli, missing_config_option_exits_2) {
  auto r = logpipe({"--no-daemon"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  ASSERT_FALSE(complete_lines(r.err).empty()) << r;
  EXPECT_EQ(complete_lines(r.err).front(), "logpipe: missing -f FILE");
}

TEST_F(cli, start_once_for_env_needs_key_and_value) {
  auto path = config("agent.toml", valid_config());
  auto r = logpipe({"--check", "-f", path, "--start-once-for-env", "start_once_for_full_dose"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  ASSERT_FALSE(complete_lines(r.err).empty()) << r;
  EXPECT_EQ(complete_lines(r.err).front(),
            "logpipe: --start-once-for-env expects \"KEY VALUE\", got "
            "\"start_once_for_full_dose\"");
  r = logpipe({"--check", "-f", path, "--start-once-for-env"});
  EXPECT_TRUE(r.exited_with(2)) << r;
  ASSERT_FALSE(complete_lines(r.err).empty()) << r;
  EXPECT_EQ(complete_lines(r.err).front(),
            "logpipe: option --start-once-for-env needs \"KEY VALUE\"");
  // Well formed: accepted.
  r = logpipe({"--check", "-f", path, "--start-once-for-env", "start_once_for_full_dose 1"});
  EXPECT_TRUE(r.exited_with(0)) << r;
}

// --- --check ---------------------------------------------------------------------

TEST_F(cli, check_accepts_a_valid_config_and_starts_nothing) {
  auto path = config("agent.toml", valid_config());
  auto r = logpipe({"--check", "-f", path});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, path + ": OK (1 inputs, 1 outputs)\n");
  EXPECT_EQ(r.err, "");
  // No worker ran: no state folder, no log, no command.
  EXPECT_FALSE(fs::exists(dir.file("data")));
  EXPECT_FALSE(fs::exists(dir.file("agent.log")));
  EXPECT_EQ(pids_with_marker(marker), std::vector<pid_t>{})
    << describe_pids(pids_with_marker(marker));
  // The long option, after -f, works the same.
  r = logpipe({"--config", path, "--check"});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, path + ": OK (1 inputs, 1 outputs)\n");
}

TEST_F(cli, check_counts_components) {
  auto path = config("agent.toml", valid_config()
                                     + "[[inputs]]\ntype = \"exec\"\nname = \"two\"\n"
                                       "cmd = \"true\"\n"
                                       "[[outputs]]\ntype = \"stdout\"\nname = \"second\"\n"
                                       "[[outputs]]\ntype = \"stdout\"\nname = \"third\"\n");
  auto r = logpipe({"--check", "-f", path});
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, path + ": OK (2 inputs, 3 outputs)\n");
}

TEST_F(cli, check_accepts_every_example) {
  // The examples keep their files in scripts/demo.sh's folder: each is checked
  // with that folder replaced by the test's own, which holds the logs/ folder
  // that the collector's file input watches.
  const std::string demo_folder = "/tmp/logpipe-demo";
  fs::create_directory(dir.file("logs"));
  std::vector<std::string> checked;
  for (const auto& entry : fs::directory_iterator(std::string(LOGPIPE_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() != ".toml")
      continue;
    const auto name = entry.path().filename().string();
    auto text = read_file(entry.path());
    for (auto at = text.find(demo_folder); at != std::string::npos;
         at = text.find(demo_folder, at + dir.path().size()))
      text.replace(at, demo_folder.size(), dir.path());
    auto path = config(name, text);
    auto r = logpipe({"--check", "-f", path});
    EXPECT_TRUE(r.exited_with(0)) << name << ' ' << r;
    EXPECT_EQ(r.out.rfind(path + ": OK (", 0), 0u) << name << ' ' << r;
    EXPECT_EQ(r.err, "") << name;
    checked.push_back(name);
  }
  std::sort(checked.begin(), checked.end());
  EXPECT_TRUE(std::binary_search(checked.begin(), checked.end(), "collector.toml"))
    << ::testing::PrintToString(checked);
  EXPECT_TRUE(std::binary_search(checked.begin(), checked.end(), "aggregator.toml"))
    << ::testing::PrintToString(checked);
}

TEST_F(cli, check_reports_a_syntax_error_where_it_is) {
  auto lines = check_errors("[agent]\n"
                            "name = \"x\"\n"
                            "threads = = 2\n");
  ASSERT_EQ(lines.size(), 1u);
  // Line 3, column 11: the second '='.
  EXPECT_EQ(lines[0].rfind(broken() + ":3:11: syntax error: ", 0), 0u) << lines[0];
}

TEST_F(cli, check_reports_an_unknown_key_with_did_you_mean) {
  auto lines = check_errors("[[inputs]]\n"
                            "type = \"exec\"\n"
                            "cmd = \"true\"\n"
                            "  widow = 4\n"
                            "[[outputs]]\n"
                            "type = \"stdout\"\n");
  EXPECT_EQ(lines, std::vector<std::string>{
                     broken() + ":4:3: unknown key 'widow' in inputs[1] (type \"exec\"); "
                                "did you mean 'window'?"});
}

TEST_F(cli, check_reports_a_wrong_type) {
  auto lines = check_errors("[agent]\n"
                            "threads = \"two\"\n"
                            "[[inputs]]\n"
                            "type = \"exec\"\n"
                            "cmd = \"true\"\n"
                            "[[outputs]]\n"
                            "type = \"stdout\"\n");
  EXPECT_EQ(lines, std::vector<std::string>{
                     broken() + ":2:11: key 'threads' in [agent] must be an integer, got a "
                                "string"});
}

TEST_F(cli, check_reports_an_out_of_range_value) {
  auto lines = check_errors("[[inputs]]\n"
                            "type = \"exec\"\n"
                            "cmd = \"true\"\n"
                            "window =   0\n"
                            "[[outputs]]\n"
                            "type = \"stdout\"\n");
  EXPECT_EQ(lines, std::vector<std::string>{
                     broken() + ":4:12: key 'window' in inputs[1] is out of range: 0 "
                                "(expected 1 to 65536)"});
}

TEST_F(cli, check_reports_a_missing_required_key) {
  auto lines = check_errors("[agent]\n"
                            "name = \"x\"\n"
                            "\n"
                            "[[inputs]]\n"
                            "type = \"exec\"\n"
                            "name = \"no-command\"\n"
                            "[[outputs]]\n"
                            "type = \"stdout\"\n");
  // At the table's header.
  EXPECT_EQ(lines, std::vector<std::string>{
                     broken() + ":4:1: missing required key 'cmd' in inputs[1] (type \"exec\")"});
}

TEST_F(cli, check_reports_an_unknown_type) {
  auto lines = check_errors("[[inputs]]\n"
                            "type = \"exec\"\n"
                            "cmd = \"true\"\n"
                            "[[outputs]]\n"
                            "type = \"stdot\"\n");
  ASSERT_EQ(lines.size(), 1u);
  // At the table's header; the known types grow with the product, so only
  // their presence and the suggestion are pinned.
  const auto& line = lines[0];
  const std::string head = broken() + ":4:1: unknown output type 'stdot' in outputs[1]; known "
                                      "types: ";
  EXPECT_EQ(line.rfind(head, 0), 0u) << line;
  EXPECT_NE(line.find("\"stdout\"", head.size()), std::string::npos) << line;
  const std::string tail = "; did you mean 'stdout'?";
  ASSERT_GE(line.size(), tail.size());
  EXPECT_EQ(line.substr(line.size() - tail.size()), tail) << line;
}

TEST_F(cli, check_reports_every_problem_in_file_order) {
  auto lines = check_errors("[log]\n"
                            "level = \"loud\"\n"
                            "[agent]\n"
                            "threads = 100\n"
                            "[[inputs]]\n"
                            "type = \"exec\"\n"
                            "[[outputs]]\n"
                            "type = \"stdout\"\n"
                            "on_ful = \"drop\"\n");
  EXPECT_EQ(lines, (std::vector<std::string>{
                     broken() + ":2:9: key 'level' in [log] must be one of \"debug\", \"info\", "
                                "\"notice\", \"warn\", \"error\", got \"loud\"",
                     broken() + ":4:11: key 'threads' in [agent] is out of range: 100 "
                                "(expected 1 to 64)",
                     broken() + ":5:1: missing required key 'cmd' in inputs[1] (type \"exec\")",
                     broken() + ":9:1: unknown key 'on_ful' in outputs[1] (type \"stdout\"); "
                                "did you mean 'on_full'?",
                   }));
}

TEST_F(cli, check_of_a_missing_file_exits_2) {
  auto path = dir.file("does-not-exist.toml");
  auto r = logpipe({"--check", "-f", path});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, path + ": cannot read: No such file or directory\n");
}

TEST_F(cli, check_of_a_config_without_outputs_exits_2) {
  auto path = config("agent.toml", "[[inputs]]\ntype = \"exec\"\ncmd = \"true\"\n");
  auto r = logpipe({"--check", "-f", path});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, path + ": an agent needs at least one [[inputs]] and one [[outputs]] table\n");
}

TEST_F(cli, a_broken_config_without_check_exits_2_and_starts_nothing) {
  auto path = config("broken.toml", "[[inputs]]\ntype = \"exec\"\n[[outputs]]\ntype = \"stdout\"\n");
  auto r = logpipe({"--no-daemon", "-f", path});
  EXPECT_TRUE(r.exited_with(2)) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, path + ":1:1: missing required key 'cmd' in inputs[1] (type \"exec\")\n");
}

// --- --config-reference ---------------------------------------------------------------

TEST_F(cli, config_reference_prints_markdown_matching_the_checked_in_doc) {
  auto r = logpipe({"--config-reference"});
  ASSERT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("#", 0), 0u) << "not Markdown (no heading first):\n" << r.out;
  EXPECT_NE(r.out.find("type = \"exec\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("type = \"stdout\""), std::string::npos) << r.out;

  const std::string doc = std::string(LOGPIPE_SOURCE_DIR) + "/docs/config-reference.md";
  ASSERT_TRUE(fs::exists(doc)) << doc << " does not exist: run `make config-reference` "
                                         "and check the file in";
  EXPECT_TRUE(read_file(doc) == r.out)
    << doc << " is out of date with `logpipe --config-reference`: run "
              "`make config-reference` and check the file in";
}

} // namespace
} // namespace logpipe::proc_test
