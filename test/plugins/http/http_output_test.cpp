// The http output under the deterministic scheduler, with a fake transport
// that records every request and answers as the test says, in front of a
// recording bus: bodies, batching, acks only after a 2xx, retries of the
// same body with their backoff, ndjson, headers, inflating and the config
// checks. The body helpers are tested alone first.

#include "plugins/http/http_body.hpp"
#include "plugins/http/http_output.hpp"

#include "test/support/actor_fixture.hpp"
#include "test/support/log_capture.hpp"
#include "test/support/output_config_errors.hpp"
#include "test/support/recording_bus.hpp"

#include "actors/core/component_registry.hpp"
#include "actors/shared/deflate.hpp"
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace logpipe::test {
namespace {

using namespace std::chrono_literals;
using http::body_format;

// ---- body helpers -----------------------------------------------------------

std::string json(std::string_view text) {
  std::string out;
  http::append_json_string(out, text);
  return out;
}

/// Every line of `bytes` from `offset`, at most `max` of them.
std::string lines_of(std::string_view bytes, body_format format, std::size_t offset = 0,
                     std::size_t max = 1000, std::size_t* end = nullptr) {
  std::string body;
  auto taken = http::append_lines(body, format, {"web-1", "app.log"}, bytes, offset, max);
  if (end != nullptr)
    *end = taken.end;
  return body;
}

TEST(http_body, raw_keeps_the_lines_as_they_are_and_counts_an_unterminated_end) {
  std::string body;
  auto taken = http::append_lines(body, body_format::raw, {"o", "f"}, "a\nbb\r\n\nc", 0, 10);
  EXPECT_EQ(body, "a\nbb\r\n\nc");
  EXPECT_EQ(taken.lines, 4u);
  EXPECT_EQ(taken.end, 8u);
}

TEST(http_body, takes_at_most_max_lines_from_the_offset) {
  std::size_t end = 0;
  EXPECT_EQ(lines_of("1\n2\n3\n4\n", body_format::raw, 2, 2, &end), "2\n3\n");
  EXPECT_EQ(end, 6u);
  EXPECT_EQ(lines_of("1\n2\n3\n4\n", body_format::raw, 6, 2, &end), "4\n");
  EXPECT_EQ(end, 8u);
  EXPECT_EQ(lines_of("1\n2\n", body_format::raw, 4, 2, &end), "");
  EXPECT_EQ(end, 4u);
}

TEST(http_body, ndjson_makes_one_object_per_line_without_its_newline) {
  EXPECT_EQ(lines_of("first\nsecond", body_format::ndjson),
            "{\"file\":\"app.log\",\"origin\":\"web-1\",\"line\":\"first\"}\n"
            "{\"file\":\"app.log\",\"origin\":\"web-1\",\"line\":\"second\"}\n");
  EXPECT_EQ(lines_of("\n", body_format::ndjson),
            "{\"file\":\"app.log\",\"origin\":\"web-1\",\"line\":\"\"}\n");
}

TEST(http_body, json_strings_escape_quotes_backslashes_and_control_characters) {
  EXPECT_EQ(json("say \"hi\" \\ now"), "\"say \\\"hi\\\" \\\\ now\"");
  EXPECT_EQ(json("\t\n\r\b\f"), "\"\\t\\n\\r\\b\\f\"");
  EXPECT_EQ(json(std::string("\x01\x1f\0", 3)), "\"\\u0001\\u001f\\u0000\"");
  EXPECT_EQ(json("\x7f/<>"), "\"\x7f/<>\"");
}

TEST(http_body, json_strings_keep_valid_utf8_and_replace_invalid_sequences) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(json("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  EXPECT_EQ(json("a\xFF" "b"), "\"a" + fffd + "b\"");
  // A truncated sequence is one replacement; the byte that broke it stays.
  EXPECT_EQ(json("\xE2\x82" "A"), "\"" + fffd + "A\"");
  EXPECT_EQ(json("end\xF0\x9F\x98"), "\"end" + fffd + "\"");
  // Overlong forms, surrogates and code points above U+10FFFF.
  EXPECT_EQ(json("\xC0\xAF"), "\"" + fffd + fffd + "\"");
  EXPECT_EQ(json("\xE0\x80\xAF"), "\"" + fffd + fffd + fffd + "\"");
  EXPECT_EQ(json("\xED\xA0\x80"), "\"" + fffd + fffd + fffd + "\"");
  EXPECT_EQ(json("\xF4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");
  EXPECT_EQ(json("\x80"), "\"" + fffd + "\"");
}

TEST(http_body, checks_urls_and_headers) {
  EXPECT_FALSE(http::url_problem("http://collector:8080/logs"));
  EXPECT_FALSE(http::url_problem("HTTPS://collector/logs?x=1"));
  EXPECT_TRUE(http::url_problem("ftp://collector/"));
  EXPECT_TRUE(http::url_problem("collector:8080"));
  EXPECT_TRUE(http::url_problem("http://"));
  EXPECT_TRUE(http::url_problem("http:///path"));
  EXPECT_TRUE(http::url_problem("http://a b/"));
  EXPECT_FALSE(http::header_problem("Authorization: Bearer x"));
  EXPECT_FALSE(http::header_problem("X-Empty:"));
  EXPECT_TRUE(http::header_problem("NoColon"));
  EXPECT_TRUE(http::header_problem(": value"));
  EXPECT_TRUE(http::header_problem("Bad Name: value"));
  EXPECT_TRUE(http::header_problem("X-A: 1\r\nX-B: 2"));
}

TEST(http_body, content_type_is_added_unless_a_header_sets_one) {
  EXPECT_EQ(http::request_headers({"X-A: 1"}, body_format::raw),
            (std::vector<std::string>{"X-A: 1", "Content-Type: text/plain; charset=utf-8"}));
  EXPECT_EQ(http::request_headers({}, body_format::ndjson),
            (std::vector<std::string>{"Content-Type: application/x-ndjson"}));
  EXPECT_EQ(http::request_headers({"content-TYPE: application/json"}, body_format::ndjson),
            (std::vector<std::string>{"content-TYPE: application/json"}));
}

// ---- the actor --------------------------------------------------------------

constexpr std::uint32_t output_index = 2;
constexpr std::uint32_t input_index = 1;
const std::string url = "http://collector.test:8080/logs";

/// More requests than any test makes.
constexpr std::size_t max_requests = 100;

/// The transport double: records requests, answers from `answers` in order
/// (200 once they are used up).
struct fake_endpoint {
  std::vector<http_request> requests;
  std::deque<http_response> answers;

  std::vector<std::string> bodies() const {
    std::vector<std::string> out;
    for (const auto& r : requests)
      out.push_back(r.body);
    return out;
  }
};

http_response status(long code, std::string excerpt = "") {
  http_response r;
  r.status = code;
  r.excerpt = std::move(excerpt);
  return r;
}

http_response transport_error(std::string text) {
  http_response r;
  r.error = std::move(text);
  return r;
}

component_registry http_kinds() {
  component_registry kinds;
  kinds.add_output(http_output_schema(), spawn_http_output);
  return kinds;
}

/// The problems the loader reports for an http output with `keys` (TOML).
std::vector<std::string> config_errors(const std::string& keys) {
  auto kinds = http_kinds();
  return output_config_errors(kinds, "http", keys);
}

class http_output_test : public actor_fixture {
protected:
  http_output_test() { bus = own(sys.spawn(recording_bus, rec)); }

  /// Spawns the output (not detached: the test scheduler runs it) with the
  /// fake transport and the extra keys (TOML), and runs.
  void start(const std::string& extra = "") {
    auto kinds = http_kinds();
    auto cfg = config::load_string("[[outputs]]\ntype = \"http\"\nname = \"web\"\nurl = \""
                                     + url + "\"\n" + extra,
                                   "/tmp/agent.toml", kinds);
    component_context ctx;
    ctx.config = cfg.outputs.at(0);
    ctx.index = output_index;
    ctx.bus = bus;
    ctx.agent_name = "test-agent";
    auto endpoint = server;
    auto transport = [endpoint](const http_request& request) {
      // A runaway output fails instead of looping forever: the retry waits
      // for a timer that only the test fires.
      if (endpoint->requests.size() >= max_requests)
        return transport_error("the fake endpoint takes no more requests");
      endpoint->requests.push_back(request);
      if (endpoint->answers.empty())
        return status(200);
      auto answer = endpoint->answers.front();
      endpoint->answers.pop_front();
      return answer;
    };
    output = own(sys.spawn(http_output, ctx, transport));
    run();
  }

  /// Sends a block to the output (it runs at the next run()).
  std::uint64_t publish(const std::string& bytes, std::uint32_t flags = 0,
                        const std::string& file = "app.log",
                        const std::string& origin = "web-1") {
    log_block blk;
    blk.origin = origin;
    blk.file_name = file;
    blk.flags = flags;
    blk.input = input_index;
    blk.seq = next_seq++;
    blk.bytes.assign(bytes.begin(), bytes.end());
    const auto seq = blk.seq;
    caf::anon_send(output, publish_atom_v, std::move(blk));
    return seq;
  }

  std::vector<std::uint64_t> acked() const {
    std::vector<std::uint64_t> result;
    for (auto [o, i, seq] : rec->acks) {
      EXPECT_EQ(o, output_index);
      EXPECT_EQ(i, input_index);
      result.push_back(seq);
    }
    return result;
  }

  static std::string zlib(const std::string& text) {
    std::vector<char> z;
    deflate_block(text.data(), text.size(), default_compress_level, z);
    return std::string(z.begin(), z.end());
  }

  std::shared_ptr<bus_record> rec = std::make_shared<bus_record>();
  std::shared_ptr<fake_endpoint> server = std::make_shared<fake_endpoint>();
  bus_actor bus;
  http_output_actor output;
  std::uint64_t next_seq = 100;
};

using strings = std::vector<std::string>;
using seqs = std::vector<std::uint64_t>;

TEST_F(http_output_test, attaches_to_the_bus_and_sends_nothing_unasked) {
  start();
  EXPECT_EQ(rec->outputs_attached, std::vector<std::uint32_t>{output_index});
  EXPECT_TRUE(server->requests.empty());
}

TEST_F(http_output_test, one_request_gathers_the_blocks_that_arrived_meanwhile_in_order) {
  start();
  auto a = publish("a1\na2\n");
  auto b = publish("b1\n", 0, "other.log");
  auto c = publish("c1\nc2\n");
  run();
  ASSERT_EQ(server->bodies(), strings{"a1\na2\nb1\nc1\nc2\n"});
  EXPECT_EQ(server->requests[0].url, url);
  EXPECT_EQ(acked(), (seqs{a, b, c}));
  auto d = publish("d1\n");
  run();
  EXPECT_EQ(server->bodies(), (strings{"a1\na2\nb1\nc1\nc2\n", "d1\n"}));
  EXPECT_EQ(acked(), (seqs{a, b, c, d}));
}

TEST_F(http_output_test, a_block_ends_without_newline_and_the_next_goes_on_after_it) {
  start();
  auto a = publish("part");
  auto b = publish("ial\nnext\n");
  run();
  EXPECT_EQ(server->bodies(), strings{"partial\nnext\n"});
  EXPECT_EQ(acked(), (seqs{a, b}));
}

TEST_F(http_output_test, batch_size_splits_a_block_which_is_acked_after_its_last_request) {
  start("batch_size = 2\n");
  server->answers = {status(200), status(201), status(500)};
  auto seq = publish("1\n2\n3\n4\n5");
  run();
  EXPECT_EQ(server->bodies(), (strings{"1\n2\n", "3\n4\n", "5"}));
  EXPECT_TRUE(acked().empty()) << "acked before its last line was answered 2xx";
  advance(100ms);
  EXPECT_EQ(server->bodies(), (strings{"1\n2\n", "3\n4\n", "5", "5"}));
  EXPECT_EQ(acked(), seqs{seq});
}

TEST_F(http_output_test, a_request_spanning_two_blocks_acks_the_first_only_when_answered) {
  start("batch_size = 2\n");
  server->answers = {status(200), status(503)};
  auto a = publish("a\nb\nc\n");
  auto b = publish("d\ne\n");
  run();
  EXPECT_EQ(server->bodies(), (strings{"a\nb\n", "c\nd\n"}));
  EXPECT_TRUE(acked().empty());
  advance(100ms);
  EXPECT_EQ(server->bodies(), (strings{"a\nb\n", "c\nd\n", "c\nd\n", "e\n"}));
  EXPECT_EQ(acked(), (seqs{a, b}));
}

TEST_F(http_output_test, acks_nothing_before_a_2xx_whatever_the_other_status) {
  start();
  server->answers = {status(301), status(404), status(100), status(500), status(204)};
  auto seq = publish("only\n");
  run();
  for (auto wait : {100ms, 200ms, 400ms, 800ms}) {
    EXPECT_TRUE(acked().empty()) << "after " << server->requests.size() << " requests";
    advance(wait);
  }
  EXPECT_EQ(server->bodies(), strings(5, "only\n"));
  EXPECT_EQ(acked(), seqs{seq});
}

TEST_F(http_output_test, a_failed_request_is_resent_the_same_after_a_doubling_capped_backoff) {
  log_capture logged;
  start("retry_backoff_max = \"1s\"\n");
  for (int i = 0; i < 7; ++i)
    server->answers.push_back(status(500, "database\nis down"));
  auto first = publish("x\ny\n");
  run();
  ASSERT_EQ(server->requests.size(), 1u);
  // 100, 200, 400, 800 ms, then capped at 1 s.
  for (auto delay : {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms, 1000ms}) {
    const auto before = server->requests.size();
    advance(delay - 1ms);
    EXPECT_EQ(server->requests.size(), before) << "retried before " << delay.count() << " ms";
    advance(1ms);
    EXPECT_EQ(server->requests.size(), before + 1) << "no retry after " << delay.count() << " ms";
  }
  EXPECT_EQ(server->bodies(), strings(8, "x\ny\n"));
  EXPECT_EQ(acked(), seqs{first});
  EXPECT_TRUE(logged.contains("output web: a request of 2 lines failed (HTTP 500, answer: "
                              "database?is down); sending it again in 100 ms"))
    << logged.text();
  EXPECT_TRUE(logged.contains("sending it again in 1000 ms"));
  EXPECT_TRUE(logged.contains("output web: requests succeed again after 7 failed attempts"))
    << logged.text();
  // A success starts the backoff over.
  server->answers = {status(500)};
  auto second = publish("z\n");
  run();
  advance(99ms);
  EXPECT_EQ(server->requests.size(), 9u);
  advance(1ms);
  EXPECT_EQ(server->bodies().back(), "z\n");
  EXPECT_EQ(server->requests.size(), 10u);
  EXPECT_EQ(acked(), (seqs{first, second}));
}

TEST_F(http_output_test, a_transport_error_is_retried_like_a_failed_status) {
  log_capture logged;
  start();
  server->answers = {transport_error("Failed to connect: Connection refused"),
                     transport_error("Operation timed out")};
  auto seq = publish("hello\n");
  run();
  EXPECT_TRUE(acked().empty());
  advance(100ms);
  EXPECT_TRUE(acked().empty());
  advance(199ms);
  EXPECT_EQ(server->requests.size(), 2u);
  advance(1ms);
  EXPECT_EQ(server->bodies(), strings(3, "hello\n"));
  EXPECT_EQ(acked(), seqs{seq});
  EXPECT_TRUE(logged.contains("(Failed to connect: Connection refused); sending it again in "
                              "100 ms"))
    << logged.text();
  EXPECT_TRUE(logged.contains("(Operation timed out); sending it again in 200 ms"));
}

TEST_F(http_output_test, blocks_published_during_a_retry_wait_follow_the_resent_body) {
  start();
  server->answers = {status(502)};
  auto a = publish("a\n");
  run();
  auto b = publish("b\n");
  auto c = publish("c\n");
  run();
  EXPECT_EQ(server->requests.size(), 1u) << "sent while waiting for the retry";
  advance(100ms);
  EXPECT_EQ(server->bodies(), (strings{"a\n", "a\n", "b\nc\n"}));
  EXPECT_EQ(acked(), (seqs{a, b, c}));
}

TEST_F(http_output_test, empty_blocks_are_acked_in_order_without_a_request_of_their_own) {
  start();
  auto a = publish("");
  run();
  EXPECT_TRUE(server->requests.empty());
  EXPECT_EQ(acked(), seqs{a});
  server->answers = {status(500)};
  auto b = publish("b\n");
  auto c = publish("");
  run();
  EXPECT_EQ(acked(), seqs{a}) << "an empty block acked before the one ahead of it";
  advance(100ms);
  EXPECT_EQ(server->bodies(), (strings{"b\n", "b\n"}));
  EXPECT_EQ(acked(), (seqs{a, b, c}));
}

TEST_F(http_output_test, ndjson_escapes_every_line_with_its_file_and_origin) {
  start("format = \"ndjson\"\n");
  auto seq = publish("say \"hi\"\\\tnow\x01\nbad \xFF utf-8 \xC3\xA9\r\nlast", 0,
                     "dir/a\"b.log", "web\\1");
  run();
  ASSERT_EQ(server->requests.size(), 1u);
  EXPECT_EQ(server->requests[0].body,
            "{\"file\":\"dir/a\\\"b.log\",\"origin\":\"web\\\\1\","
            "\"line\":\"say \\\"hi\\\"\\\\\\tnow\\u0001\"}\n"
            "{\"file\":\"dir/a\\\"b.log\",\"origin\":\"web\\\\1\","
            "\"line\":\"bad \xEF\xBF\xBD utf-8 \xC3\xA9\\r\"}\n"
            "{\"file\":\"dir/a\\\"b.log\",\"origin\":\"web\\\\1\",\"line\":\"last\"}\n");
  EXPECT_EQ(server->requests[0].headers, strings{"Content-Type: application/x-ndjson"});
  EXPECT_EQ(acked(), seqs{seq});
}

TEST_F(http_output_test, sends_text_plain_unless_the_headers_set_a_content_type) {
  start("headers = [\"Authorization: Bearer s3cret\"]\n");
  publish("x\n");
  run();
  ASSERT_EQ(server->requests.size(), 1u);
  EXPECT_EQ(server->requests[0].headers,
            (strings{"Authorization: Bearer s3cret", "Content-Type: text/plain; charset=utf-8"}));
}

TEST_F(http_output_test, a_content_type_header_replaces_the_default) {
  start("format = \"ndjson\"\nheaders = [\"content-type: application/json\", \"X-A: 1\"]\n");
  publish("x\n");
  run();
  ASSERT_EQ(server->requests.size(), 1u);
  EXPECT_EQ(server->requests[0].headers,
            (strings{"content-type: application/json", "X-A: 1"}));
}

TEST_F(http_output_test, inflates_deflated_blocks_and_sends_others_as_they_came) {
  log_capture logged;
  start();
  auto a = publish(zlib("one\ntwo\n"), deflated);
  auto b = publish("not zlib\n", deflated);
  auto c = publish(zlib("three\n"), 0);
  run();
  ASSERT_EQ(server->requests.size(), 1u);
  EXPECT_EQ(server->requests[0].body, "one\ntwo\nnot zlib\n" + zlib("three\n"));
  EXPECT_EQ(acked(), (seqs{a, b, c}));
  EXPECT_TRUE(logged.contains("output web: a block of app.log from web-1 is not a zlib stream"))
    << logged.text();
}

// ---- configuration ----------------------------------------------------------

TEST(http_output_config, has_the_documented_defaults) {
  auto kinds = http_kinds();
  auto cfg = config::load_string("[[outputs]]\ntype = \"http\"\nurl = \"http://h/\"\n",
                                 "/tmp/agent.toml", kinds);
  const auto& c = cfg.outputs.at(0);
  EXPECT_EQ(c.get_list("headers"), config::string_list{});
  EXPECT_EQ(c.get_string("format"), "raw");
  EXPECT_EQ(c.get_int("batch_size"), 1000);
  EXPECT_EQ(c.get_duration("timeout"), std::chrono::seconds(10));
  EXPECT_EQ(c.get_duration("retry_backoff_max"), std::chrono::seconds(30));
}

TEST(http_output_config, needs_an_http_url) {
  EXPECT_TRUE(mentions(config_errors(""), "url"));
  auto errors = config_errors("url = \"ftp://h/x\"\n");
  EXPECT_TRUE(mentions(errors, "must start with http:// or https://, got \"ftp://h/x\""))
    << ::testing::PrintToString(errors);
  EXPECT_TRUE(mentions(errors, "url"));
  EXPECT_TRUE(mentions(config_errors("url = \"localhost:8080\"\n"), "http://"));
  EXPECT_TRUE(mentions(config_errors("url = \"http://\"\n"), "names no host"));
  EXPECT_EQ(config_errors("url = \"https://logs.example.com/in\"\n"), strings{});
}

TEST(http_output_config, rejects_headers_without_colon_or_name_naming_each_entry) {
  auto errors = config_errors("url = \"http://h/\"\nheaders = [\"X-Ok: 1\", \"NoColon\", "
                              "\": v\", \"Bad Name: v\"]\n");
  EXPECT_EQ(errors.size(), 3u) << ::testing::PrintToString(errors);
  EXPECT_TRUE(mentions(errors, "entry 2 \"NoColon\": has no colon"))
    << ::testing::PrintToString(errors);
  EXPECT_TRUE(mentions(errors, "entry 3 \": v\": has no name"));
  EXPECT_TRUE(mentions(errors, "entry 4 \"Bad Name: v\": has an invalid header name"));
  EXPECT_FALSE(mentions(errors, "X-Ok"));
}

TEST(http_output_config, bounds_batch_size_and_durations) {
  EXPECT_TRUE(mentions(config_errors("url = \"http://h/\"\nbatch_size = 0\n"), "batch_size"));
  EXPECT_TRUE(
    mentions(config_errors("url = \"http://h/\"\nbatch_size = 100001\n"), "batch_size"));
  EXPECT_TRUE(mentions(config_errors("url = \"http://h/\"\nformat = \"json\"\n"), "format"));
  EXPECT_TRUE(mentions(config_errors("url = \"http://h/\"\nretry_backoff_max = \"10ms\"\n"),
                       "retry_backoff_max"));
  EXPECT_EQ(config_errors("url = \"http://h/\"\nbatch_size = 100000\ntimeout = \"250ms\"\n"),
            strings{});
}

} // namespace
} // namespace logpipe::test
