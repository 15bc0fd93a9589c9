// Agents linked with TLS (`tls` on caf inputs and outputs), as real
// processes on loopback, with certificates that scripts/make-tls-certs.sh
// makes for the test: blocks arrive byte-identical; a peer whose certificate
// another CA signed, or a peer without TLS, is refused, and the links of the
// other peers live on; `logpipe --check` refuses TLS files the agent could
// not use.

#include "test/support/agent_process.hpp"
#include "test/support/loopback.hpp"
#include "test/support/numbered_lines.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace logpipe::proc_test {
namespace {

namespace fs = std::filesystem;
using logpipe::test::free_port;
using logpipe::test::numbered_lines;
using logpipe::test::numbered_text;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr auto transfer_timeout = 60s; // sanitizer builds are slow
constexpr std::size_t mib = 1u << 20;

bool wait_for_size(const std::string& path, std::uint64_t size) {
  return wait_until([&] { return size_of(path) >= size; }, transfer_timeout);
}

/// Whether the file at `path` holds exactly `expected`; if not, where it
/// first differs.
::testing::AssertionResult holds_exactly(const std::string& path, const std::string& expected) {
  auto got = read_file(path);
  if (got == expected)
    return ::testing::AssertionSuccess();
  auto diff = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
  return ::testing::AssertionFailure()
         << path << " has " << got.size() << " bytes, the source " << expected.size()
         << "; first difference at byte " << (diff.first - got.begin());
}

/// The warnings and errors in `agent`'s log.
std::vector<std::string> complaints(const agent_process& agent) {
  auto out = agent.log_lines("warn");
  auto errors = agent.log_lines("error");
  out.insert(out.end(), errors.begin(), errors.end());
  return out;
}

/// What `agent` wrote on stderr: nothing, unless something went wrong
/// (such as a sanitizer's report).
std::string stderr_of(const agent_process& agent) {
  return read_file(agent.err_file());
}

/// Writes `agent`'s configuration with a debug log: links log each attempt
/// to connect there, so that a test can count them.
void configure_with_debug_log(const agent_process& agent, const std::string& components) {
  agent.configure(components);
  auto text = read_file(agent.config_file());
  const std::string info = "level = \"info\"\n";
  auto at = text.find(info);
  if (at == std::string::npos)
    throw std::runtime_error("no log level in " + agent.config_file());
  write_file(agent.config_file(), text.replace(at, info.size(), "level = \"debug\"\n"));
}

/// `value` as a TOML string: what --check points at.
std::string quoted(const std::string& value) {
  return "\"" + value + "\"";
}

/// What a link logs as each attempt to connect begins (at debug level).
const std::string attempt_line = "connecting to";

/// A folder of certificates from one CA, made by scripts/make-tls-certs.sh.
class test_pki {
public:
  test_pki(const temp_dir& dir, std::string folder, std::string ca)
    : dir_(dir), folder_(std::move(folder)), ca_(std::move(ca)) {}

  /// Makes the CA and a certificate and key for each of `agents`.
  ::testing::AssertionResult make(const std::vector<std::string>& agents) const {
    std::vector<std::string> args{"/bin/sh",
                                  std::string(LOGPIPE_SOURCE_DIR) + "/scripts/make-tls-certs.sh",
                                  folder_, ca_};
    args.insert(args.end(), agents.begin(), agents.end());
    auto r = run(args, dir_);
    if (!r.exited_with(0))
      return ::testing::AssertionFailure() << "make-tls-certs.sh " << r;
    return ::testing::AssertionSuccess();
  }

  std::string cert(const std::string& agent) const { return folder_ + "/" + agent + ".crt"; }
  std::string key(const std::string& agent) const { return folder_ + "/" + agent + ".key"; }
  std::string ca() const { return folder_ + "/" + ca_ + ".crt"; }

  /// The `tls` table of a caf component of `agent`, trusting `trusted`'s CA.
  std::string tls_of(const std::string& agent, const test_pki& trusted) const {
    return "tls = { cert = \"" + cert(agent) + "\", key = \"" + key(agent) + "\", ca = \""
           + trusted.ca() + "\" }\n";
  }
  std::string tls_of(const std::string& agent) const { return tls_of(agent, *this); }

private:
  const temp_dir& dir_;
  std::string folder_;
  std::string ca_;
};

std::string caf_input(std::uint16_t port, const std::string& tls) {
  return "[[inputs]]\ntype = \"caf\"\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n"
         + tls;
}

std::string caf_output(std::uint16_t port, const std::string& tls) {
  return "[[outputs]]\ntype = \"caf\"\nconnect = \"127.0.0.1:" + std::to_string(port) + "\"\n"
         + tls;
}

std::string file_input(const std::string& folder) {
  return "[[inputs]]\ntype = \"file\"\nname = \"logs\"\npath = \"" + folder
         + "\"\nfiles = [\"*.log\"]\nread_from_head = true\n";
}

class caf_tls_process : public ::testing::Test {
protected:
  temp_dir dir{"logpipe-tls"};
  test_pki pki{dir, dir.file("pki"), "test-ca"};
  const std::string received = dir.file("received");

  void SetUp() override {
    ASSERT_TRUE(pki.make({"aggregator", "collector"}));
  }

  /// A folder of logs for `agent` to read.
  std::string logs_of(const std::string& agent) const {
    auto folder = dir.file(agent + "-logs");
    fs::create_directories(folder);
    return folder;
  }

  std::string by_origin_output() const {
    return "[[outputs]]\ntype = \"file\"\npath = \"" + received + "\"\nlayout = \"by_origin\"\n";
  }

  /// Where the aggregator writes `file` of `origin`.
  std::string received_file(const std::string& origin, const std::string& file) const {
    return received + "/" + origin + "/" + file;
  }

  /// The origins the aggregator has written files for.
  std::vector<std::string> origins() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(received, ec))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  /// Starts an aggregator with TLS: caf input on `port`, files by origin.
  ::testing::AssertionResult start_aggregator(agent_process& aggregator, std::uint16_t port) {
    aggregator.configure(caf_input(port, pki.tls_of("aggregator")) + by_origin_output());
    return aggregator.start("listening on");
  }
};

TEST_F(caf_tls_process, moves_a_few_mib_byte_identical_with_no_plaintext_warning) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  ASSERT_TRUE(start_aggregator(aggregator, port));
  const auto logs = logs_of("collector");
  auto text = numbered_text("tls", 4 * mib);
  write_file(logs + "/app.log", text);
  agent_process collector(dir, "collector");
  collector.configure(file_input(logs) + caf_output(port, pki.tls_of("collector")));
  ASSERT_TRUE(collector.start("linked to"));
  auto out = received_file("collector", "app.log");
  ASSERT_TRUE(wait_for_size(out, text.size())) << collector.describe() << aggregator.describe();
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_TRUE(holds_exactly(out, text));
  EXPECT_EQ(aggregator.log_count("linked with"), 1u) << aggregator.describe();
  EXPECT_EQ(collector.log_count("plaintext"), 0u) << collector.describe();
  EXPECT_EQ(aggregator.log_count("plaintext"), 0u) << aggregator.describe();
  EXPECT_EQ(complaints(collector), std::vector<std::string>{});
  EXPECT_EQ(complaints(aggregator), std::vector<std::string>{});
  EXPECT_EQ(stderr_of(collector), "");
  EXPECT_EQ(stderr_of(aggregator), "");
}

// A refused handshake must leave nothing behind that breaks the other links
// of the aggregator's network thread (actors/caf_link/tls_error_queue.cpp): after each
// refusal, the legitimate collector sends more over its link.
TEST_F(caf_tls_process, a_peer_certified_by_another_ca_is_refused_and_others_keep_their_links) {
  test_pki other{dir, dir.file("other-pki"), "other-ca"};
  ASSERT_TRUE(other.make({"intruder"}));
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  ASSERT_TRUE(start_aggregator(aggregator, port));
  const auto logs = logs_of("collector");
  agent_process collector(dir, "collector");
  collector.configure(file_input(logs) + caf_output(port, pki.tls_of("collector")));
  ASSERT_TRUE(collector.start("linked to"));
  // The intruder trusts the aggregator's CA (a CA certificate is public): the
  // aggregator itself must refuse its certificate.
  const auto intruder_logs = logs_of("intruder");
  write_file(intruder_logs + "/app.log", numbered_text("intruder", 64 * 1024));
  agent_process intruder(dir, "intruder");
  configure_with_debug_log(intruder, file_input(intruder_logs)
                                       + caf_output(port, other.tls_of("intruder", pki)));
  ASSERT_TRUE(intruder.start("cannot link to 127.0.0.1:" + std::to_string(port)));
  constexpr std::size_t refusals = 4;
  constexpr std::size_t lines_per_round = 2000;
  std::string sent;
  auto out = received_file("collector", "app.log");
  for (std::size_t round = 1; round <= refusals; ++round) {
    // An attempt begins only once the one before has failed.
    ASSERT_TRUE(wait_until([&] { return intruder.log_count(attempt_line) > round; }, 30s))
      << intruder.describe();
    auto more = numbered_lines("collector", (round - 1) * lines_per_round, lines_per_round);
    append_file(logs + "/app.log", more);
    sent += more;
    ASSERT_TRUE(wait_for_size(out, sent.size())) << collector.describe() << aggregator.describe();
  }
  EXPECT_EQ(collector.log_count("lost the link"), 0u) << collector.describe();
  EXPECT_EQ(collector.log_count("linked to"), 1u) << collector.describe();
  EXPECT_EQ(aggregator.log_count("linked with"), 1u) << aggregator.describe();
  EXPECT_EQ(intruder.log_count("linked to"), 0u) << intruder.describe();
  // The refusal is the aggregator's, and it says so, with the peer's address.
  EXPECT_GE(aggregator.log_count("TLS handshake with 127.0.0.1:"), 1u) << aggregator.describe();
  EXPECT_GE(aggregator.log_count("(incoming) failed: "), 1u) << aggregator.describe();
  EXPECT_EQ(origins(), std::vector<std::string>{"collector"});
  EXPECT_EQ(stderr_of(intruder), "");
  intruder.kill();
  ASSERT_TRUE(collector.stop());
  ASSERT_TRUE(aggregator.stop());
  EXPECT_TRUE(holds_exactly(out, sent));
  EXPECT_EQ(stderr_of(collector), "");
  EXPECT_EQ(stderr_of(aggregator), "");
}

TEST_F(caf_tls_process, a_peer_without_tls_is_refused) {
  auto port = free_port();
  agent_process aggregator(dir, "aggregator");
  ASSERT_TRUE(start_aggregator(aggregator, port));
  const auto logs = logs_of("plain");
  write_file(logs + "/app.log", numbered_text("plain", 64 * 1024));
  agent_process plain(dir, "plain");
  configure_with_debug_log(plain, file_input(logs) + caf_output(port, ""));
  ASSERT_TRUE(plain.start("cannot link to 127.0.0.1:" + std::to_string(port)));
  constexpr std::size_t refusals = 3;
  ASSERT_TRUE(wait_until([&] { return plain.log_count(attempt_line) > refusals; }, 30s))
    << plain.describe();
  EXPECT_EQ(plain.log_count("linked to"), 0u) << plain.describe();
  EXPECT_EQ(aggregator.log_count("linked with"), 0u) << aggregator.describe();
  EXPECT_GE(aggregator.log_count("(incoming) failed: "), 1u) << aggregator.describe();
  EXPECT_EQ(origins(), std::vector<std::string>{});
  EXPECT_EQ(stderr_of(plain), "");
  plain.kill();
  ASSERT_TRUE(aggregator.stop());
  EXPECT_EQ(stderr_of(aggregator), "");
}

// --- logpipe --check on TLS files ----------------------------------------------

class caf_tls_check : public ::testing::Test {
protected:
  temp_dir dir{"logpipe-tlsc"};
  test_pki pki{dir, dir.file("pki"), "test-ca"};
  const std::string path = dir.file("agent.toml");
  std::string text; // of the last config checked

  void SetUp() override {
    ASSERT_TRUE(pki.make({"relay", "other"}));
  }

  /// Runs openssl with `args`; true if it succeeded.
  ::testing::AssertionResult openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    auto r = run(args, dir);
    if (!r.exited_with(0))
      return ::testing::AssertionFailure() << "openssl " << r;
    return ::testing::AssertionSuccess();
  }

  /// Runs `logpipe --check` on a relay with a caf input using `tls`, and
  /// `outputs`.
  run_result check(const std::string& tls, const std::string& outputs = "") {
    text = "[agent]\nname = \"relay\"\ndata_dir = \"" + dir.file("data") + "\"\n"
           + caf_input(5252, tls) + outputs;
    write_file(path, text);
    return run({LOGPIPE_BINARY, "--check", "-f", path}, dir);
  }

  /// The same with `tls` made of `cert`, `key` and the test CA.
  run_result check_files(const std::string& cert, const std::string& key) {
    return check("tls = { cert = \"" + cert + "\", key = \"" + key + "\", ca = \"" + pki.ca()
                 + "\" }\n");
  }

  /// "path:line:column: " of the first `part` of the config last checked.
  std::string where(const std::string& part) const {
    auto at = text.find(part);
    EXPECT_NE(at, std::string::npos) << part;
    auto line_start = text.rfind('\n', at) + 1;
    auto line = std::count(text.begin(), text.begin() + static_cast<long>(at), '\n') + 1;
    return path + ":" + std::to_string(line) + ":" + std::to_string(at - line_start + 1) + ": ";
  }

  /// The lines on stderr of a run refused as a configuration error.
  static std::vector<std::string> errors_of(const run_result& r) {
    EXPECT_TRUE(r.exited_with(2)) << r;
    EXPECT_EQ(r.out, "") << r;
    return complete_lines(r.err);
  }
};

TEST_F(caf_tls_check, accepts_the_certificates_of_make_tls_certs) {
  auto r = check(pki.tls_of("relay"), caf_output(5253, pki.tls_of("relay")));
  EXPECT_TRUE(r.exited_with(0)) << r;
  EXPECT_EQ(r.out, path + ": OK (1 inputs, 1 outputs)\n") << r;
  EXPECT_EQ(r.err, "");
}

TEST_F(caf_tls_check, rejects_a_cert_that_is_not_a_certificate) {
  const auto not_a_cert = pki.key("relay");
  auto errors = errors_of(check_files(not_a_cert, pki.key("relay")));
  EXPECT_THAT(errors, ElementsAre(AllOf(
                        StartsWith(where(quoted(not_a_cert)) + "key 'tls.cert' in inputs[1] "),
                        HasSubstr("is not a PEM certificate"))));
}

TEST_F(caf_tls_check, rejects_a_key_that_does_not_belong_to_the_cert) {
  auto errors = errors_of(check_files(pki.cert("relay"), pki.key("other")));
  EXPECT_THAT(errors, ElementsAre(AllOf(
                        StartsWith(where(quoted(pki.key("other"))) + "key 'tls.key' in inputs[1] "),
                        HasSubstr("does not belong to the certificate"))));
}

TEST_F(caf_tls_check, rejects_a_cert_without_client_auth) {
  const auto cert = dir.file("server-only.crt");
  const auto key = dir.file("server-only.key");
  ASSERT_TRUE(openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-subj",
                       "/CN=server-only", "-addext", "extendedKeyUsage=serverAuth", "-keyout",
                       key, "-out", cert}));
  auto errors = errors_of(check_files(cert, key));
  EXPECT_THAT(errors,
              ElementsAre(AllOf(StartsWith(where(quoted(cert)) + "key 'tls.cert' in inputs[1] "),
                                HasSubstr("clientAuth"))));
}

TEST_F(caf_tls_check, rejects_an_encrypted_key) {
  const auto key = dir.file("encrypted.key");
  ASSERT_TRUE(openssl({"ec", "-in", pki.key("relay"), "-aes256", "-passout", "pass:x", "-out",
                       key}));
  auto errors = errors_of(check_files(pki.cert("relay"), key));
  EXPECT_THAT(errors,
              ElementsAre(AllOf(StartsWith(where(quoted(key)) + "key 'tls.key' in inputs[1] "),
                                HasSubstr("not an unencrypted PEM private key"))));
}

TEST_F(caf_tls_check, rejects_a_tls_input_with_a_plain_output) {
  auto errors = errors_of(check(pki.tls_of("relay"), caf_output(5253, "")));
  // Reported where the plain output begins: it has no tls to point at.
  EXPECT_THAT(errors, ElementsAre(AllOf(
                        StartsWith(where("[[outputs]]") + "key 'tls' in outputs[1] (no tls) "),
                        HasSubstr("inputs[1] (tls with " + pki.cert("relay") + ")"),
                        HasSubstr("same TLS identity"))));
}

} // namespace
} // namespace logpipe::proc_test
