#include "config/config.hpp"
#include "config/units.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace logpipe::config;
using std::chrono::microseconds;
using lines = std::vector<std::string>;
namespace fs = std::filesystem;

// Two input kinds and one output kind, standing in for the component registry.
class fake_kinds : public kind_lookup {
public:
  fake_kinds() {
    kind_schema exec;
    exec.kind_role = role::input;
    exec.type = "exec";
    exec.summary = "Runs a command and reads its standard output.";
    auto cmd = make_key("cmd", value_kind::string, "", "Command to run.");
    cmd.required = true;
    exec.keys = {
        cmd,
        bounded(make_key("window", value_kind::integer, "16", "Blocks in flight."), 1, 65536),
        make_key("block_size", value_kind::size, "\"64KiB\"", "Largest block."),
        make_key("restart_delay", value_kind::duration, "\"1s\"", "Pause between runs."),
        make_key("files", value_kind::string_list, "[]", "Extra files."),
        make_key("workdir", value_kind::path, "", "Working directory."),
        make_key("line_mode", value_kind::boolean, "true", "Cut blocks at newlines."),
        bounded(make_key("retries", value_kind::integer, "3", "A key."),
                   std::numeric_limits<std::int64_t>::min(), 10),
        bounded(make_key("max_line", value_kind::size, "\"16KiB\"", "A key."), 1024, 1024 * 1024),
        bounded(make_key("timeout", value_kind::duration, "\"30s\"", "A key."), 1000, 3600000000),
    };
    kind_schema file;
    file.kind_role = role::input;
    file.type = "file";
    file.summary = "Tails files.";
    auto path = make_key("path", value_kind::path, "", "Folder to watch.");
    path.required = true;
    file.keys = {path};
    // A kind's own check, beyond single values.
    file.check = [](const component_config& c) {
      std::vector<key_problem> problems;
      if (c.get_string("path") == "/forbidden")
        problems.push_back({"path", "must not be /forbidden"});
      return problems;
    };
    kind_schema out;
    out.kind_role = role::output;
    out.type = "stdout";
    out.summary = "Writes blocks to standard output.";
    // Keys declared with a dot are written as an inline table or dotted keys.
    kind_schema link;
    link.kind_role = role::output;
    link.type = "link";
    link.summary = "Sends blocks to another agent.";
    link.keys = {make_key("tls.cert", value_kind::string, "", "Certificate."),
                 make_key("tls.key", value_kind::string, "", "Key."),
                 make_key("tls.ca", value_kind::string, "", "CA.")};
    kinds_ = {exec, file, out, link};
  }

  const kind_schema* find(role r, std::string_view type) const override {
    for (const auto& k : kinds_)
      if (k.kind_role == r && k.type == type)
        return &k;
    return nullptr;
  }

  std::vector<std::string> types(role r) const override {
    std::vector<std::string> out;
    for (const auto& k : kinds_)
      if (k.kind_role == r)
        out.push_back(k.type);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<kind_schema> kinds_;
};

fake_kinds kinds; // not const: loading may load plugins
const std::string file_name = "/etc/logpipe/agent.toml";

// The lines of the config_error the text produces; {} if it loads.
lines errors_of(const std::string& text) {
  try {
    load_string(text, file_name, kinds);
  } catch (const config_error& e) {
    return e.lines();
  }
  return {};
}

std::string error_of(const std::string& text) {
  auto all = errors_of(text);
  EXPECT_EQ(all.size(), 1u);
  return all.empty() ? "" : all.front();
}

std::string host_name() {
  char buffer[256] = {};
  EXPECT_EQ(gethostname(buffer, sizeof(buffer) - 1), 0);
  return buffer;
}

// --- Loading valid files -----------------------------------------------------

TEST(config, empty_file_gets_every_default) {
  auto c = load_string("", file_name, kinds);
  EXPECT_EQ(c.path, file_name);
  EXPECT_EQ(c.agent.name, host_name());
  EXPECT_EQ(c.agent.data_dir, "/etc/logpipe/logpipe-data");
  EXPECT_EQ(c.agent.threads, 2u);
  EXPECT_EQ(c.agent.pid_file, "");
  EXPECT_EQ(c.agent.shutdown_grace, std::chrono::seconds(5));
  EXPECT_EQ(c.agent.restart_backoff_min, std::chrono::milliseconds(100));
  EXPECT_EQ(c.agent.restart_backoff_max, std::chrono::seconds(30));
  EXPECT_EQ(c.agent.restart_limit, 5u);
  EXPECT_EQ(c.agent.restart_window, std::chrono::seconds(60));
  EXPECT_EQ(c.log.file, "");
  EXPECT_EQ(c.log.level, log_level::info);
  // No inputs or outputs is for the caller to judge.
  EXPECT_TRUE(c.inputs.empty());
  EXPECT_TRUE(c.outputs.empty());
}

TEST(config, agent_and_log_sections) {
  auto c = load_string(R"(
[agent]
name = "collector-1"
data_dir = "/var/lib/logpipe"
threads = 8
pid_file = "run/logpipe.pid"
shutdown_grace = 10
restart_backoff_min = "50ms"
restart_backoff_max = "1m"
restart_limit = 3
restart_window = "2m"

[log]
file = "logs/agent.log"
level = "warn"
)",
                       file_name, kinds);
  EXPECT_EQ(c.agent.name, "collector-1");
  EXPECT_EQ(c.agent.data_dir, "/var/lib/logpipe");
  EXPECT_EQ(c.agent.threads, 8u);
  EXPECT_EQ(c.agent.pid_file, "/etc/logpipe/run/logpipe.pid");
  EXPECT_EQ(c.agent.shutdown_grace, std::chrono::seconds(10));
  EXPECT_EQ(c.agent.restart_backoff_min, std::chrono::milliseconds(50));
  EXPECT_EQ(c.agent.restart_backoff_max, std::chrono::minutes(1));
  EXPECT_EQ(c.agent.restart_limit, 3u);
  EXPECT_EQ(c.agent.restart_window, std::chrono::minutes(2));
  EXPECT_EQ(c.log.file, "/etc/logpipe/logs/agent.log");
  EXPECT_EQ(c.log.level, log_level::warn);
}

TEST(config, component_defaults) {
  auto c = load_string(R"([[inputs]]
type = "exec"
cmd = "journalctl -f"

[[outputs]]
type = "stdout"
)",
                       file_name, kinds);
  ASSERT_EQ(c.inputs.size(), 1u);
  const auto& in = c.inputs[0];
  EXPECT_EQ(in.kind_role, role::input);
  EXPECT_EQ(in.index, 0u);
  EXPECT_EQ(in.type, "exec");
  EXPECT_EQ(in.name, "exec#1");
  EXPECT_EQ(in.get_string("name"), "exec#1");
  EXPECT_EQ(in.where.str(), "/etc/logpipe/agent.toml:1:1");
  EXPECT_EQ(in.get_string("cmd"), "journalctl -f");
  EXPECT_EQ(in.get_int("window"), 16);
  EXPECT_EQ(in.get_size("block_size"), 65536u);
  EXPECT_EQ(in.get_duration("restart_delay"), std::chrono::seconds(1));
  EXPECT_EQ(in.get_list("files"), string_list{});
  EXPECT_TRUE(in.get_bool("line_mode"));
  EXPECT_EQ(in.get_int("retries"), 3);
  EXPECT_EQ(in.get_size("max_line"), 16384u);
  EXPECT_EQ(in.get_duration("timeout"), std::chrono::seconds(30));
  EXPECT_FALSE(in.has("workdir")); // no default, not set
  EXPECT_TRUE(in.has("cmd"));
  // Every declared key but workdir: type, name, and the kind's nine others.
  EXPECT_EQ(in.values.size(), 11u);
  // Only keys written in the file have a position of their own.
  EXPECT_EQ(in.set_at.size(), 2u);
  EXPECT_EQ(in.where_of("cmd").str(), "/etc/logpipe/agent.toml:3:7");
  EXPECT_EQ(in.where_of("window").str(), "/etc/logpipe/agent.toml:1:1");

  ASSERT_EQ(c.outputs.size(), 1u);
  const auto& out = c.outputs[0];
  EXPECT_EQ(out.kind_role, role::output);
  EXPECT_EQ(out.name, "stdout#1");
  EXPECT_EQ(out.get_string("on_full"), "block");
  EXPECT_EQ(out.get_int("queue_limit"), 64);
  EXPECT_EQ(out.where.str(), "/etc/logpipe/agent.toml:5:1");
}

TEST(config, configured_component_values) {
  auto c = load_string(R"([[inputs]]
type = "exec"
name = "journal"
cmd = "journalctl -f"
window = 65536
block_size = "1 MB"
restart_delay = "250ms"
files = ["*.log", "*.txt"]
line_mode = false
retries = -4
max_line = 1024
timeout = 3600

[[inputs]]
type = "file"
path = "/var/log"

[[outputs]]
type = "stdout"
on_full = "drop"
queue_limit = 1000000
)",
                       file_name, kinds);
  ASSERT_EQ(c.inputs.size(), 2u);
  const auto& in = c.inputs[0];
  EXPECT_EQ(in.name, "journal");
  EXPECT_EQ(in.get_int("window"), 65536);
  EXPECT_EQ(in.get_size("block_size"), 1000000u);
  EXPECT_EQ(in.get_duration("restart_delay"), std::chrono::milliseconds(250));
  EXPECT_EQ(in.get_list("files"), (string_list{"*.log", "*.txt"}));
  EXPECT_FALSE(in.get_bool("line_mode"));
  EXPECT_EQ(in.get_int("retries"), -4);
  EXPECT_EQ(in.get_size("max_line"), 1024u);
  EXPECT_EQ(in.get_duration("timeout"), std::chrono::hours(1));
  EXPECT_EQ(in.where_of("files").str(), "/etc/logpipe/agent.toml:8:9");
  EXPECT_EQ(c.inputs[1].name, "file#2");
  EXPECT_EQ(c.inputs[1].index, 1u);
  EXPECT_EQ(c.inputs[1].get_string("path"), "/var/log");
  EXPECT_EQ(c.outputs[0].get_string("on_full"), "drop");
  EXPECT_EQ(c.outputs[0].get_int("queue_limit"), 1000000);
}

TEST(config, inline_tables_in_an_array_are_components) {
  auto c = load_string(R"(inputs = [{type = "exec", cmd = "date"}])", file_name, kinds);
  ASSERT_EQ(c.inputs.size(), 1u);
  EXPECT_EQ(c.inputs[0].get_string("cmd"), "date");
}

TEST(config, relative_paths_are_taken_from_the_config_folder) {
  auto c = load_string(R"([[inputs]]
type = "exec"
cmd = "x"
workdir = "spool/../work/./today/"

[[inputs]]
type = "file"
path = "/var/log/../log/nginx"
)",
                       file_name, kinds);
  EXPECT_EQ(c.inputs[0].get_string("workdir"), "/etc/logpipe/work/today/");
  EXPECT_EQ(c.inputs[1].get_string("path"), "/var/log/nginx");
}

TEST(config, relative_config_path_uses_the_current_directory) {
  auto c = load_string("[log]\nfile = \"agent.log\"\n", "conf/../etc/agent.toml", kinds);
  const auto folder = fs::current_path().lexically_normal() / "etc";
  EXPECT_EQ(c.agent.data_dir, (folder / "logpipe-data").string());
  EXPECT_EQ(c.log.file, (folder / "agent.log").string());
}

TEST(config, log_levels) {
  const std::vector<std::pair<std::string, log_level>> cases{
      {"debug", log_level::debug}, {"info", log_level::info}, {"notice", log_level::notice},
      {"warn", log_level::warn},   {"error", log_level::error},
  };
  for (const auto& [text, level] : cases) {
    auto c = load_string("[log]\nlevel = \"" + text + "\"\n", file_name, kinds);
    EXPECT_EQ(c.log.level, level) << text;
    EXPECT_EQ(to_string(level), text);
  }
}

// --- Reading files -------------------------------------------------------------

TEST(config, load_file_reads_and_resolves_against_its_folder) {
  auto folder = fs::temp_directory_path() / ("logpipe_config_test_" + std::to_string(getpid()));
  fs::create_directories(folder);
  auto file = folder / "agent.toml";
  std::ofstream(file) << "[agent]\nname = \"from-file\"\n";
  auto c = load_file(file, kinds);
  EXPECT_EQ(c.agent.name, "from-file");
  EXPECT_EQ(c.agent.data_dir, (folder / "logpipe-data").string());
  EXPECT_EQ(c.path, file.string());
  fs::remove_all(folder);
}

TEST(config, load_file_on_a_missing_file) {
  try {
    load_file("/nonexistent/logpipe.toml", kinds);
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.lines(), lines{"/nonexistent/logpipe.toml: cannot read: No such file or directory"});
    EXPECT_STREQ(e.what(), "/nonexistent/logpipe.toml: cannot read: No such file or directory");
  }
}

TEST(config, load_file_on_a_directory) {
  auto folder = fs::temp_directory_path();
  try {
    load_file(folder, kinds);
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.lines(), lines{folder.string() + ": cannot read: Is a directory"});
  }
}

// --- Errors --------------------------------------------------------------------

TEST(config_errors, syntax_error_stops_at_the_first) {
  EXPECT_EQ(errors_of("[agent]\nthreads = \nname = 5\n"),
            lines{"/etc/logpipe/agent.toml:2:11: syntax error: Error while parsing key-value "
                  "pair: expected value, saw '\\n'"});
}

TEST(config_errors, unknown_keys) {
  EXPECT_EQ(error_of("[[inputs]]\ntype = \"file\"\npath = \"/x\"\npth = \"/tmp\"\n"),
            "/etc/logpipe/agent.toml:4:1: unknown key 'pth' in inputs[1] (type \"file\"); "
            "did you mean 'path'?");
  EXPECT_EQ(error_of("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\ncolour = 1\n"),
            "/etc/logpipe/agent.toml:4:1: unknown key 'colour' in inputs[1] (type \"exec\")");
  // Common keys are suggested too.
  EXPECT_EQ(error_of("[[outputs]]\ntype = \"stdout\"\nqueue_limt = 5\n"),
            "/etc/logpipe/agent.toml:3:1: unknown key 'queue_limt' in outputs[1] (type "
            "\"stdout\"); did you mean 'queue_limit'?");
  EXPECT_EQ(error_of("[agent]\nnmae = \"x\"\n"),
            "/etc/logpipe/agent.toml:2:1: unknown key 'nmae' in [agent]; did you mean 'name'?");
  EXPECT_EQ(error_of("[log]\nformat = \"json\"\n"),
            "/etc/logpipe/agent.toml:2:1: unknown key 'format' in [log]");
}

TEST(config_errors, unknown_sections) {
  EXPECT_EQ(error_of("[[input]]\ntype = \"exec\"\n"),
            "/etc/logpipe/agent.toml:1:1: unknown section 'input'; did you mean 'inputs'?");
  EXPECT_EQ(error_of("\nthreads = 4\n"),
            "/etc/logpipe/agent.toml:2:11: unknown section 'threads'");
  EXPECT_EQ(error_of("[agnet]\n"),
            "/etc/logpipe/agent.toml:1:1: unknown section 'agnet'; did you mean 'agent'?");
}

TEST(config_errors, wrong_types) {
  auto input = [](const std::string& line) {
    return error_of("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\n" + line + "\n");
  };
  const std::string at = "/etc/logpipe/agent.toml:4:";
  EXPECT_EQ(input("window = \"16\""),
            at + "10: key 'window' in inputs[1] must be an integer, got a string");
  EXPECT_EQ(input("window = 16.0"),
            at + "10: key 'window' in inputs[1] must be an integer, got a floating-point number");
  EXPECT_EQ(input("window = true"),
            at + "10: key 'window' in inputs[1] must be an integer, got a boolean");
  EXPECT_EQ(input("line_mode = 1"),
            at + "13: key 'line_mode' in inputs[1] must be a boolean, got an integer");
  EXPECT_EQ(input("workdir = [\"a\"]"),
            at + "11: key 'workdir' in inputs[1] must be a string, got an array");
  EXPECT_EQ(input("files = \"*.log\""),
            at + "9: key 'files' in inputs[1] must be a list of strings, got a string");
  EXPECT_EQ(input("block_size = 1.5"),
            at + "14: key 'block_size' in inputs[1] must be a size such as \"64KiB\", got a "
                 "floating-point number");
  EXPECT_EQ(input("restart_delay = 1979-05-27"),
            at + "17: key 'restart_delay' in inputs[1] must be a duration such as \"250ms\", "
                 "got a date/time");
  EXPECT_EQ(input("restart_delay = {s = 1}"),
            at + "17: key 'restart_delay' in inputs[1] must be a duration such as \"250ms\", "
                 "got a table");
  EXPECT_EQ(error_of("[[inputs]]\ntype = 5\n"),
            "/etc/logpipe/agent.toml:2:8: key 'type' in inputs[1] must be a string, got an "
            "integer");
  EXPECT_EQ(error_of("[[outputs]]\ntype = \"stdout\"\non_full = false\n"),
            "/etc/logpipe/agent.toml:3:11: key 'on_full' in outputs[1] must be one of \"block\", "
            "\"drop\", got a boolean");
}

TEST(config_errors, list_element_of_the_wrong_type_points_at_the_element) {
  EXPECT_EQ(error_of("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\nfiles = [\"a\", 2, \"b\"]\n"),
            "/etc/logpipe/agent.toml:4:15: key 'files' in inputs[1] must be a list of strings, "
            "got an array containing an integer");
  EXPECT_EQ(error_of("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\nfiles = [[\"a\"]]\n"),
            "/etc/logpipe/agent.toml:4:10: key 'files' in inputs[1] must be a list of strings, "
            "got an array containing an array");
}

TEST(config_errors, bad_unit_text) {
  auto input = [](const std::string& line) {
    return error_of("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\n" + line + "\n");
  };
  const std::string at = "/etc/logpipe/agent.toml:4:";
  EXPECT_EQ(input("block_size = \"12XB\""),
            at + "14: key 'block_size' in inputs[1] must be a size such as \"64KiB\", got "
                 "\"12XB\"");
  EXPECT_EQ(input("block_size = \"1.5MiB\""),
            at + "14: key 'block_size' in inputs[1] must be a size such as \"64KiB\", got "
                 "\"1.5MiB\"");
  EXPECT_EQ(input("block_size = \"99999999999TiB\""),
            at + "14: key 'block_size' in inputs[1] must be a size such as \"64KiB\", got "
                 "\"99999999999TiB\"");
  EXPECT_EQ(input("block_size = -1"),
            at + "14: key 'block_size' in inputs[1] must be a size such as \"64KiB\", got -1");
  EXPECT_EQ(input("restart_delay = \"5 minutes\""),
            at + "17: key 'restart_delay' in inputs[1] must be a duration such as \"250ms\", got "
                 "\"5 minutes\"");
  EXPECT_EQ(input("restart_delay = \"5\""),
            at + "17: key 'restart_delay' in inputs[1] must be a duration such as \"250ms\", got "
                 "\"5\"");
  EXPECT_EQ(input("restart_delay = -5"),
            at + "17: key 'restart_delay' in inputs[1] must be a duration such as \"250ms\", got "
                 "-5");
  EXPECT_EQ(input("restart_delay = 9223372036855"),
            at + "17: key 'restart_delay' in inputs[1] must be a duration such as \"250ms\", got "
                 "9223372036855");
  // Quotes in the text are escaped as TOML would write them.
  EXPECT_EQ(input(R"(restart_delay = 'say "hi"')"),
            at + "17: key 'restart_delay' in inputs[1] must be a duration such as \"250ms\", got "
                 "\"say \\\"hi\\\"\"");
}

TEST(config_errors, out_of_range) {
  auto input = [](const std::string& line) {
    return error_of("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\n" + line + "\n");
  };
  const std::string at = "/etc/logpipe/agent.toml:4:";
  EXPECT_EQ(input("window = 0"),
            at + "10: key 'window' in inputs[1] is out of range: 0 (expected 1 to 65536)");
  EXPECT_EQ(input("window = 65537"),
            at + "10: key 'window' in inputs[1] is out of range: 65537 (expected 1 to 65536)");
  EXPECT_EQ(input("retries = 11"),
            at + "11: key 'retries' in inputs[1] is out of range: 11 (expected at most 10)");
  EXPECT_EQ(input("max_line = \"1000B\""),
            at + "12: key 'max_line' in inputs[1] is out of range: 1000B (expected 1KiB to "
                 "1MiB)");
  EXPECT_EQ(input("max_line = \"2MB\""),
            at + "12: key 'max_line' in inputs[1] is out of range: 2000000B (expected 1KiB to "
                 "1MiB)");
  EXPECT_EQ(input("timeout = \"500us\""),
            at + "11: key 'timeout' in inputs[1] is out of range: 500us (expected 1ms to 1h)");
  EXPECT_EQ(input("timeout = \"61m\""),
            at + "11: key 'timeout' in inputs[1] is out of range: 61m (expected 1ms to 1h)");
  EXPECT_EQ(error_of("[agent]\nrestart_limit = 0\n"),
            "/etc/logpipe/agent.toml:2:17: key 'restart_limit' in [agent] is out of range: 0 "
            "(expected at least 1)");
  EXPECT_EQ(error_of("[agent]\nthreads = 65\n"),
            "/etc/logpipe/agent.toml:2:11: key 'threads' in [agent] is out of range: 65 "
            "(expected 1 to 64)");
  EXPECT_EQ(error_of("[agent]\nrestart_window = \"999ms\"\n"),
            "/etc/logpipe/agent.toml:2:18: key 'restart_window' in [agent] is out of range: "
            "999ms (expected at least 1s)");
  EXPECT_EQ(error_of("[[outputs]]\ntype = \"stdout\"\nqueue_limit = 0\n"),
            "/etc/logpipe/agent.toml:3:15: key 'queue_limit' in outputs[1] is out of range: 0 "
            "(expected 1 to 1000000)");
}

TEST(config_errors, choices) {
  EXPECT_EQ(error_of("[[outputs]]\ntype = \"stdout\"\non_full = \"dorp\"\n"),
            "/etc/logpipe/agent.toml:3:11: key 'on_full' in outputs[1] must be one of "
            "\"block\", \"drop\", got \"dorp\"; did you mean \"drop\"?");
  EXPECT_EQ(error_of("[log]\nlevel = \"verbose\"\n"),
            "/etc/logpipe/agent.toml:2:9: key 'level' in [log] must be one of \"debug\", "
            "\"info\", \"notice\", \"warn\", \"error\", got \"verbose\"");
}

TEST(config_errors, missing_keys_point_at_the_table) {
  EXPECT_EQ(error_of("[[outputs]]\ntype = \"stdout\"\n\n  [[inputs]]\ntype = \"exec\"\n"),
            "/etc/logpipe/agent.toml:4:3: missing required key 'cmd' in inputs[1] (type "
            "\"exec\")");
  EXPECT_EQ(error_of("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\n[[inputs]]\nname = \"x\"\n"),
            "/etc/logpipe/agent.toml:4:1: missing required key 'type' in inputs[2]");
  EXPECT_EQ(error_of("[[outputs]]\n"),
            "/etc/logpipe/agent.toml:1:1: missing required key 'type' in outputs[1]");
}

TEST(config_errors, unknown_kinds) {
  EXPECT_EQ(error_of("[[inputs]]\ntype = \"exex\"\nwhatever = 1\n"),
            "/etc/logpipe/agent.toml:1:1: unknown input type 'exex' in inputs[1]; known types: "
            "\"exec\", \"file\"; did you mean 'exec'?");
  EXPECT_EQ(error_of("[[outputs]]\ntype = \"stdout\"\n[[outputs]]\ntype = \"kafka\"\n"),
            "/etc/logpipe/agent.toml:3:1: unknown output type 'kafka' in outputs[2]; known "
            "types: \"link\", \"stdout\"");
  // An input kind is not an output kind.
  EXPECT_EQ(error_of("[[outputs]]\ntype = \"file\"\n"),
            "/etc/logpipe/agent.toml:1:1: unknown output type 'file' in outputs[1]; known "
            "types: \"link\", \"stdout\"");
}

TEST(config_errors, section_shapes) {
  EXPECT_EQ(error_of("inputs = 5\n"),
            "/etc/logpipe/agent.toml:1:10: 'inputs' must be an array of tables ([[inputs]])");
  EXPECT_EQ(error_of("outputs = [1, 2]\n"),
            "/etc/logpipe/agent.toml:1:11: 'outputs' must be an array of tables ([[outputs]])");
  EXPECT_EQ(error_of("[outputs]\ntype = \"stdout\"\n"),
            "/etc/logpipe/agent.toml:1:1: 'outputs' must be an array of tables ([[outputs]])");
  EXPECT_EQ(error_of("agent = \"me\"\n"),
            "/etc/logpipe/agent.toml:1:9: 'agent' must be a table ([agent])");
  EXPECT_EQ(error_of("[[log]]\nlevel = \"info\"\n"),
            "/etc/logpipe/agent.toml:1:1: 'log' must be a table ([log])");
}

TEST(config_errors, empty_path) {
  EXPECT_EQ(error_of("[agent]\npid_file = \"\"\n"),
            "/etc/logpipe/agent.toml:2:12: key 'pid_file' in [agent] must be a non-empty path");
}

TEST(config_errors, duplicate_names) {
  EXPECT_EQ(error_of(R"([[inputs]]
type = "exec"
cmd = "a"
name = "exec#2"

[[inputs]]
type = "exec"
cmd = "b"
)"),
            "/etc/logpipe/agent.toml:6:1: duplicate name 'exec#2' in inputs[2] (already used by "
            "inputs[1])");
  // Inputs and outputs have separate name spaces.
  EXPECT_NO_THROW(load_string("[[inputs]]\ntype = \"exec\"\ncmd = \"a\"\nname = \"x\"\n"
                              "[[outputs]]\ntype = \"stdout\"\nname = \"x\"\n",
                              file_name, kinds));
}

TEST(config_errors, backoff_min_above_max) {
  EXPECT_EQ(error_of("[agent]\nrestart_backoff_max = \"1s\"\nrestart_backoff_min = \"2s\"\n"),
            "/etc/logpipe/agent.toml:3:23: key 'restart_backoff_min' in [agent] (2s) must not "
            "be greater than restart_backoff_max (1s)");
  EXPECT_EQ(error_of("[agent]\nrestart_backoff_max = \"50ms\"\n"),
            "/etc/logpipe/agent.toml:2:23: key 'restart_backoff_min' in [agent] (100ms) must "
            "not be greater than restart_backoff_max (50ms)");
}

TEST(config_errors, every_problem_is_reported_in_file_order) {
  const std::string text = R"([agent]
threads = 0
nmae = "x"

[log]
level = "loud"

[[inputs]]
type = "exec"
window = "big"
zeta = 1
alpha = 2

[[inputs]]
type = "exex"

[[outputs]]
type = "stdout"
on_full = "dorp"

[extra]
)";
  const lines expected{
      "/etc/logpipe/agent.toml:2:11: key 'threads' in [agent] is out of range: 0 (expected 1 to "
      "64)",
      "/etc/logpipe/agent.toml:3:1: unknown key 'nmae' in [agent]; did you mean 'name'?",
      "/etc/logpipe/agent.toml:6:9: key 'level' in [log] must be one of \"debug\", \"info\", "
      "\"notice\", \"warn\", \"error\", got \"loud\"",
      "/etc/logpipe/agent.toml:8:1: missing required key 'cmd' in inputs[1] (type \"exec\")",
      "/etc/logpipe/agent.toml:10:10: key 'window' in inputs[1] must be an integer, got a string",
      "/etc/logpipe/agent.toml:11:1: unknown key 'zeta' in inputs[1] (type \"exec\")",
      "/etc/logpipe/agent.toml:12:1: unknown key 'alpha' in inputs[1] (type \"exec\")",
      "/etc/logpipe/agent.toml:14:1: unknown input type 'exex' in inputs[2]; known types: "
      "\"exec\", \"file\"; did you mean 'exec'?",
      "/etc/logpipe/agent.toml:19:11: key 'on_full' in outputs[1] must be one of \"block\", "
      "\"drop\", got \"dorp\"; did you mean \"drop\"?",
      "/etc/logpipe/agent.toml:21:1: unknown section 'extra'",
  };
  try {
    load_string(text, file_name, kinds);
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.lines(), expected);
    std::string joined;
    for (const auto& line : expected)
      joined += (joined.empty() ? "" : "\n") + line;
    EXPECT_EQ(e.what(), joined);
  }
}

TEST(config_errors, file_name_is_as_given) {
  EXPECT_EQ(errors_of("x = 1\n").size(), 1u);
  try {
    load_string("[agent]\nthreads = \"two\"\n", "conf/agent.toml", kinds);
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.lines(), lines{"conf/agent.toml:2:11: key 'threads' in [agent] must be an "
                               "integer, got a string"});
  }
}

TEST(config_errors, bad_default_is_a_programming_error) {
  fake_kinds broken;
  broken.kinds_[0].keys[1].default_toml = "0"; // window is 1..65536
  EXPECT_THROW(load_string("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\n", file_name, broken),
               std::logic_error);
  broken.kinds_[0].keys[1].default_toml = "not toml";
  EXPECT_THROW(load_string("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\n", file_name, broken),
               std::logic_error);
  // A configured value does not need the default.
  EXPECT_NO_THROW(load_string("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\nwindow = 4\n",
                              file_name, broken));
}

TEST(config_errors, wrong_getter_is_a_programming_error) {
  auto c = load_string("[[inputs]]\ntype = \"exec\"\ncmd = \"x\"\n", file_name, kinds);
  EXPECT_THROW(c.inputs[0].get_int("cmd"), std::logic_error);
  EXPECT_THROW(c.inputs[0].get_string("workdir"), std::logic_error);
  EXPECT_THROW(c.inputs[0].get_bool("nonsense"), std::logic_error);
}

// --- Schema helpers ------------------------------------------------------------

TEST(schema, did_you_mean) {
  const std::vector<std::string> keys{"path", "files", "exclude_files", "window", "name"};
  EXPECT_EQ(did_you_mean("pth", keys), "path");
  EXPECT_EQ(did_you_mean("paht", keys), "path"); // a swap is one edit
  EXPECT_EQ(did_you_mean("nmae", keys), "name");
  EXPECT_EQ(did_you_mean("flies", keys), "files");
  EXPECT_EQ(did_you_mean("exclude_file", keys), "exclude_files");
  EXPECT_EQ(did_you_mean("exclud_fles", keys), "exclude_files"); // 2 edits, 11 letters
  EXPECT_EQ(did_you_mean("windows", keys), "window");
  EXPECT_EQ(did_you_mean("colour", keys), "");
  EXPECT_EQ(did_you_mean("pat", {"cat", "pot"}), "cat"); // a tie: the first wins
  EXPECT_EQ(did_you_mean("x", {"y"}), "y");              // distance 1 is always close
  EXPECT_EQ(did_you_mean("ab", {"xy"}), "");
  EXPECT_EQ(did_you_mean("abcdef", {"abcdxy"}), "abcdxy"); // 6 letters: up to 2 edits
  EXPECT_EQ(did_you_mean("abcdef", {"abcxyz"}), "");
  EXPECT_EQ(did_you_mean("anything", {}), "");
}

TEST(schema, kind_schema_find) {
  const auto* exec = kinds.find(role::input, "exec");
  ASSERT_NE(exec, nullptr);
  ASSERT_NE(exec->find("window"), nullptr);
  EXPECT_EQ(exec->find("window")->min, 1);
  EXPECT_EQ(exec->find("nope"), nullptr);
  EXPECT_STREQ(to_string(role::input), "input");
  EXPECT_STREQ(to_string(role::output), "output");
}

TEST(schema, common_keys) {
  auto names = [](const std::vector<key_spec>& keys) {
    std::vector<std::string> out;
    for (const auto& k : keys)
      out.push_back(k.name);
    return out;
  };
  EXPECT_EQ(names(common_keys(role::input)), (std::vector<std::string>{"type", "name", "plugin"}));
  EXPECT_EQ(names(common_keys(role::output)),
            (std::vector<std::string>{"type", "name", "plugin", "on_full", "queue_limit"}));
  EXPECT_TRUE(common_keys(role::input)[0].required);
  EXPECT_EQ(names(agent_keys()),
            (std::vector<std::string>{"name", "data_dir", "threads", "pid_file", "shutdown_grace",
                                      "restart_backoff_min", "restart_backoff_max",
                                      "restart_limit", "restart_window",
                                      "heartbeat_interval", "heartbeat_timeout"}));
  EXPECT_EQ(names(log_keys()), (std::vector<std::string>{"file", "level"}));
}

TEST(config, keys_with_a_dot_come_from_an_inline_table_or_dotted_keys) {
  auto cfg = load_string("[[outputs]]\ntype = \"link\"\n"
                         "tls = { cert = \"a.crt\", key = \"a.key\", ca = \"ca.crt\" }\n"
                         "[[outputs]]\ntype = \"link\"\n"
                         "tls.cert = \"a.crt\"\ntls.key = \"a.key\"\ntls.ca = \"ca.crt\"\n",
                         file_name, kinds);
  ASSERT_EQ(cfg.outputs.size(), 2u);
  for (const auto& c : cfg.outputs) {
    EXPECT_EQ(c.get_string("tls.cert"), "a.crt");
    EXPECT_EQ(c.get_string("tls.key"), "a.key");
    EXPECT_EQ(c.get_string("tls.ca"), "ca.crt");
  }
  EXPECT_EQ(cfg.outputs[1].where_of("tls.key").line, 7u);
}

TEST(config_errors, unknown_key_inside_an_inline_table) {
  EXPECT_EQ(error_of("[[outputs]]\ntype = \"link\"\n"
                     "tls = { cert = \"a\", kee = \"b\", ca = \"c\" }\n"),
            "/etc/logpipe/agent.toml:3:21: unknown key 'tls.kee' in outputs[1] (type \"link\"); "
            "did you mean 'tls.key'?");
  // A table where no dotted keys are declared is just an unknown key.
  EXPECT_EQ(error_of("[[outputs]]\ntype = \"stdout\"\ntls = { cert = \"a\" }\n"),
            "/etc/logpipe/agent.toml:3:1: unknown key 'tls' in outputs[1] (type \"stdout\")");
}

TEST(config_errors, links_of_one_agent_share_one_tls_identity_or_none) {
  const std::string a = "tls = { cert = \"a.crt\", key = \"a.key\", ca = \"ca.crt\" }\n";
  const std::string b = "tls = { cert = \"b.crt\", key = \"b.key\", ca = \"ca.crt\" }\n";
  const std::string link = "[[outputs]]\ntype = \"link\"\n";
  EXPECT_TRUE(errors_of(link + a + link + a).empty());
  EXPECT_TRUE(errors_of(link + link).empty());
  EXPECT_EQ(error_of(link + a + link + b),
            "/etc/logpipe/agent.toml:6:16: key 'tls' in outputs[2] (tls with b.crt) differs "
            "from outputs[1] (tls with a.crt): an agent's links all use the same TLS "
            "identity, or none does");
  EXPECT_EQ(error_of(link + a + link),
            "/etc/logpipe/agent.toml:4:1: key 'tls' in outputs[2] (no tls) differs from "
            "outputs[1] (tls with a.crt): an agent's links all use the same TLS identity, "
            "or none does");
}

TEST(config_errors, heartbeat_timeout_must_exceed_the_interval) {
  EXPECT_EQ(error_of("[agent]\nheartbeat_interval = \"2s\"\nheartbeat_timeout = \"2s\"\n"),
            "/etc/logpipe/agent.toml:3:21: key 'heartbeat_timeout' in [agent] (2s) must be "
            "longer than heartbeat_interval (2s)");
  EXPECT_TRUE(errors_of("[agent]\nheartbeat_interval = \"200ms\"\n"
                        "heartbeat_timeout = \"1s\"\n").empty());
}

TEST(config, position_str) {
  EXPECT_EQ((position{"a.toml", 3, 7}.str()), "a.toml:3:7");
  EXPECT_EQ((position{"a.toml", 0, 0}.str()), "a.toml");
}

// --- Reference page ------------------------------------------------------------

TEST(reference, names_every_section_kind_and_key) {
  const auto page = reference_markdown(kinds);
  EXPECT_EQ(page, reference_markdown(kinds)); // deterministic
  EXPECT_EQ(page.rfind("# logpipe configuration reference\n", 0), 0u);
  for (const char* heading : {"\n## [agent]\n", "\n## [log]\n", "\n## Inputs\n", "\n## Outputs\n",
                              "\n### type = \"exec\"\n", "\n### type = \"file\"\n",
                              "\n### type = \"stdout\"\n"})
    EXPECT_NE(page.find(heading), std::string::npos) << heading;
  // Sections and kinds in order, kinds sorted by type.
  EXPECT_LT(page.find("## [agent]"), page.find("## [log]"));
  EXPECT_LT(page.find("## [log]"), page.find("## Inputs"));
  EXPECT_LT(page.find("### type = \"exec\""), page.find("### type = \"file\""));
  EXPECT_LT(page.find("### type = \"file\""), page.find("## Outputs"));
  EXPECT_LT(page.find("## Outputs"), page.find("### type = \"stdout\""));
  for (const auto& k : kinds.kinds_) {
    EXPECT_NE(page.find(k.summary), std::string::npos) << k.type;
    for (const auto& key : k.keys)
      EXPECT_NE(page.find("| `" + key.name + "` |"), std::string::npos) << key.name;
  }
  for (const auto& key : agent_keys())
    EXPECT_NE(page.find("| `" + key.name + "` |"), std::string::npos) << key.name;
  for (const auto& key : log_keys())
    EXPECT_NE(page.find("| `" + key.name + "` |"), std::string::npos) << key.name;
  EXPECT_EQ(page.back(), '\n');
  EXPECT_EQ(page.find("\n\n\n"), std::string::npos);
}

TEST(reference, rows) {
  const auto page = reference_markdown(kinds);
  const std::vector<std::string> rows{
      "| key | type | default | description |\n|---|---|---|---|\n",
      "| `type` (common) | string | required | Kind of input: one of the types below, or one a `plugin` provides. |\n",
      "| `cmd` | string | required | Command to run. |\n",
      "| `window` | integer, 1–65536 | `16` | Blocks in flight. |\n",
      "| `retries` | integer, ≤ 10 | `3` | A key. |\n",
      "| `block_size` | size | `\"64KiB\"` | Largest block. |\n",
      "| `max_line` | size, 1KiB–1MiB | `\"16KiB\"` | A key. |\n",
      "| `timeout` | duration, 1ms–1h | `\"30s\"` | A key. |\n",
      "| `files` | list of strings | `[]` | Extra files. |\n",
      "| `workdir` | path | — | Working directory. |\n",
      "| `line_mode` | boolean | `true` | Cut blocks at newlines. |\n",
      "| `on_full` (common) | one of \"block\", \"drop\" | `\"block\"` |",
      "| `queue_limit` (common) | integer, 1–1000000 | `64` |",
      "| `threads` | integer, 1–64 | `2` | CAF scheduler worker threads. |\n",
      "| `restart_limit` | integer, ≥ 1 | `5` |",
      "| `level` | one of \"debug\", \"info\", \"notice\", \"warn\", \"error\" | `\"info\"` |",
  };
  for (const auto& row : rows)
    EXPECT_NE(page.find(row), std::string::npos) << row;
  // The common keys come first in each kind's table.
  auto exec = page.find("### type = \"exec\"");
  EXPECT_LT(page.find("| `name` (common)", exec), page.find("| `cmd` |", exec));
}

TEST(reference, escapes_pipes_in_cells) {
  fake_kinds odd;
  odd.kinds_[2].keys = {make_key("sep", value_kind::string, "\"|\"", "Split at a | character.")};
  const auto page = reference_markdown(odd);
  EXPECT_NE(page.find("| `sep` | string | `\"\\|\"` | Split at a \\| character. |\n"),
            std::string::npos);
}

TEST(config_errors, a_kinds_own_check_is_reported_at_its_key) {
  EXPECT_EQ(error_of("[[inputs]]\ntype = \"file\"\npath = \"/forbidden\"\n"),
            "/etc/logpipe/agent.toml:3:8: key 'path' in inputs[1] must not be /forbidden");
  // It runs only once every key parsed: a missing path is the only problem.
  EXPECT_EQ(error_of("[[inputs]]\ntype = \"file\"\n"),
            "/etc/logpipe/agent.toml:1:1: missing required key 'path' in inputs[1] (type \"file\")");
}

} // namespace
