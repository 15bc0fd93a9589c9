// Loading plugins: a component table names its library with `plugin`; the
// library is loaded once, its kinds' keys are checked like built-in ones, and
// a library that is missing, is no plugin, or was built for another plugin
// API or another CAF is refused with an error that says so, at the `plugin`
// key. `--check` loads plugins too.

#include "actors/builtin/builtin_kinds.hpp"
#include "actors/core/component_registry.hpp"
#include "actors/core/plugin_library.hpp"
#include "config/config.hpp"
#include "test/support/process_helpers.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace logpipe {
namespace {

using ::testing::HasSubstr;

std::string test_plugin(const std::string& name) {
  return std::string(LOGPIPE_TEST_PLUGIN_DIR) + "/libtest_plugin_" + name + ".so";
}

// An agent config next to the test plugins, so that relative paths resolve there.
const std::string config_path = std::string(LOGPIPE_TEST_PLUGIN_DIR) + "/agent.toml";

const std::string exec_input = "[[inputs]]\n"
                               "type = \"exec\"\n"
                               "cmd = \"true\"\n";

class plugin_loading : public ::testing::Test {
protected:
  plugin_loading() { register_builtin_kinds(registry); }

  config::agent_config load(const std::string& text) {
    return config::load_string(text, config_path, registry);
  }

  // The one error line loading `text` gives.
  std::string error_of(const std::string& text) {
    try {
      load(text);
    } catch (const config::config_error& e) {
      EXPECT_EQ(e.lines().size(), 1u) << e.what();
      return e.lines().front();
    }
    ADD_FAILURE() << "loaded without an error:\n" << text;
    return {};
  }

  component_registry registry;
};

TEST_F(plugin_loading, a_valid_plugin_adds_its_kinds_with_checked_keys) {
  auto config = load("[[inputs]]\n"
                     "plugin = \"" + test_plugin("valid") + "\"\n"
                     "type = \"test_source\"\n"
                     "level = 3\n"
                     "[[outputs]]\n"
                     "plugin = \"" + test_plugin("valid") + "\"\n"
                     "type = \"test_sink\"\n");
  ASSERT_EQ(config.inputs.size(), 1u);
  EXPECT_EQ(config.inputs[0].get_int("level"), 3);
  EXPECT_EQ(config.inputs[0].get_string("plugin"), test_plugin("valid"));
  EXPECT_EQ(config.outputs[0].get_int("level"), 1); // the plugin's default
  EXPECT_EQ(registry.find(config::role::output, "test_sink")->plugin, test_plugin("valid"));
}

TEST_F(plugin_loading, a_library_named_by_several_tables_is_loaded_once) {
  // A second load would register its types again, which the registry refuses.
  std::string text = exec_input;
  for (int i = 0; i < 3; ++i)
    text += "[[outputs]]\n"
            "name = \"sink" + std::to_string(i) + "\"\n"
            "plugin = \"libtest_plugin_valid.so\"\n" // relative to the config's folder
            "type = \"test_sink\"\n";
  auto config = load(text);
  EXPECT_EQ(config.outputs.size(), 3u);
  EXPECT_EQ(registry.load_plugin(test_plugin("valid")), "");
}

TEST_F(plugin_loading, a_plugin_kinds_keys_are_validated_like_built_in_ones) {
  EXPECT_EQ(error_of(exec_input + "[[outputs]]\n"
                                  "plugin = \"" + test_plugin("valid") + "\"\n"
                                  "type = \"test_sink\"\n"
                                  "colour = \"red\"\n"),
            config_path + ":7:1: unknown key 'colour' in outputs[1] (type \"test_sink\")");
  EXPECT_EQ(error_of(exec_input + "[[outputs]]\n"
                                  "plugin = \"" + test_plugin("valid") + "\"\n"
                                  "type = \"test_sink\"\n"
                                  "level = 12\n"),
            config_path + ":7:9: key 'level' in outputs[1] is out of range: 12 (expected 1 to 9)");
}

TEST_F(plugin_loading, a_missing_library_is_refused_at_its_plugin_key) {
  auto missing = std::string(LOGPIPE_TEST_PLUGIN_DIR) + "/libnot_there.so";
  EXPECT_EQ(error_of(exec_input + "[[outputs]]\n"
                                  "type = \"test_sink\"\n"
                                  "plugin = \"libnot_there.so\"\n"),
            config_path + ":6:10: key 'plugin' in outputs[1]: cannot load plugin: " + missing
              + ": cannot open shared object file: No such file or directory");
}

TEST_F(plugin_loading, a_library_without_the_entry_point_is_refused) {
  EXPECT_EQ(error_of(exec_input + "[[outputs]]\n"
                                  "plugin = \"" + test_plugin("no_entry") + "\"\n"
                                  "type = \"test_sink\"\n"),
            config_path + ":5:10: key 'plugin' in outputs[1]: " + test_plugin("no_entry")
              + " is not a logpipe plugin: it has no entry point logpipe_plugin() "
                "(define it with LOGPIPE_PLUGIN)");
}

TEST_F(plugin_loading, a_plugin_for_another_api_version_is_refused) {
  EXPECT_EQ(error_of(exec_input + "[[outputs]]\n"
                                  "plugin = \"" + test_plugin("wrong_api") + "\"\n"
                                  "type = \"test_sink\"\n"),
            config_path + ":5:10: key 'plugin' in outputs[1]: " + test_plugin("wrong_api")
              + " was built for plugin API version "
              + std::to_string(LOGPIPE_PLUGIN_API_VERSION + 1)
              + ", but this logpipe has version " + std::to_string(LOGPIPE_PLUGIN_API_VERSION)
              + ": rebuild it against this logpipe's headers");
}

TEST_F(plugin_loading, a_plugin_built_with_another_caf_is_refused) {
  EXPECT_THAT(error_of(exec_input + "[[outputs]]\n"
                                    "plugin = \"" + test_plugin("wrong_caf") + "\"\n"
                                    "type = \"test_sink\"\n"),
              HasSubstr(test_plugin("wrong_caf") + " was built with CAF 0.18.0, but this "
                        "logpipe uses CAF 0.17.6: rebuild it against the same CAF"));
}

TEST_F(plugin_loading, a_plugin_cannot_replace_a_known_type) {
  EXPECT_THAT(error_of(exec_input + "[[outputs]]\n"
                                    "plugin = \"" + test_plugin("clashing") + "\"\n"
                                    "type = \"stdout\"\n"),
              HasSubstr("(plugin clashing): output type 'stdout' is already provided by "
                        "logpipe itself"));
}

TEST_F(plugin_loading, a_refusal_is_repeated_for_every_table_that_names_the_library) {
  try {
    load(exec_input + "[[outputs]]\n"
                      "plugin = \"" + test_plugin("wrong_api") + "\"\n"
                      "type = \"a\"\n"
                      "[[outputs]]\n"
                      "plugin = \"" + test_plugin("wrong_api") + "\"\n"
                      "type = \"b\"\n");
    FAIL() << "loaded";
  } catch (const config::config_error& e) {
    ASSERT_EQ(e.lines().size(), 2u) << e.what();
    EXPECT_THAT(e.lines()[1], HasSubstr(":8:10: key 'plugin' in outputs[2]: "));
    EXPECT_THAT(e.lines()[1], HasSubstr("was built for plugin API version"));
  }
}

TEST_F(plugin_loading, the_type_must_come_from_the_named_plugin) {
  EXPECT_EQ(error_of(exec_input + "[[outputs]]\n"
                                  "plugin = \"" + test_plugin("valid") + "\"\n"
                                  "type = \"stdout\"\n"),
            config_path + ":4:1: plugin " + test_plugin("valid")
              + " provides no output type 'stdout' (it provides: \"test_sink\")");
  // A later table that uses the plugin's type must name the library too.
  EXPECT_EQ(error_of(exec_input + "[[outputs]]\n"
                                  "plugin = \"" + test_plugin("valid") + "\"\n"
                                  "type = \"test_sink\"\n"
                                  "[[outputs]]\n"
                                  "type = \"test_sink\"\n"),
            config_path + ":7:1: type 'test_sink' in outputs[2] comes from a plugin: add "
                          "plugin = \"" + test_plugin("valid") + "\" to this table");
}

TEST(plugin_check, check_loads_plugins_to_validate_their_tables) {
  proc_test::temp_dir dir("logpipe-plugin-check");
  auto config = dir.file("agent.toml");
  proc_test::write_file(config, exec_input + "[[outputs]]\n"
                                             "plugin = \"" + test_plugin("valid") + "\"\n"
                                             "type = \"test_sink\"\n");
  auto ok = proc_test::run({LOGPIPE_BINARY, "--check", "-f", config}, dir);
  EXPECT_TRUE(ok.exited_with(0)) << ok;
  EXPECT_EQ(ok.out, config + ": OK (1 inputs, 1 outputs)\n");

  proc_test::write_file(config, exec_input + "[[outputs]]\n"
                                             "plugin = \"" + test_plugin("wrong_api") + "\"\n"
                                             "type = \"test_sink\"\n");
  auto refused = proc_test::run({LOGPIPE_BINARY, "--check", "-f", config}, dir);
  EXPECT_TRUE(refused.exited_with(2)) << refused;
  EXPECT_THAT(refused.err, HasSubstr(config + ":5:10: key 'plugin' in outputs[1]: "
                                     + test_plugin("wrong_api") + " was built for plugin API"));
}

} // namespace
} // namespace logpipe
