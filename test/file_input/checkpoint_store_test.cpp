// checkpoint_store: file identities (device, inode and a hash of the first
// bytes), find() refusing a reused inode or a shrunk file, the text format
// (exact bytes, hostile names, source ids, the previous format, corrupt files
// with line numbers) and atomic saves.

#include "actors/file_input/checkpoint_store.hpp"
#include "actors/shared/source_id.hpp"
#include "test/support/process_helpers.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fcntl.h>
#include <set>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace logpipe;
using logpipe::proc_test::read_file;
using logpipe::proc_test::temp_dir;
using logpipe::proc_test::write_file;

/// An open file descriptor, closed at the end of the scope.
class open_file {
public:
  explicit open_file(const std::string& path, int flags = O_RDONLY) {
    fd_ = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw std::system_error(errno, std::generic_category(), "open " + path);
  }
  open_file(const open_file&) = delete;
  open_file& operator=(const open_file&) = delete;
  ~open_file() {
    ::close(fd_);
  }
  int fd() const {
    return fd_;
  }

private:
  int fd_ = -1;
};

std::string all_bytes() {
  std::string s;
  for (int c = 0; c < 256; ++c)
    s += static_cast<char>(c);
  return s;
}

checkpoint make_checkpoint(std::uint64_t dev, std::uint64_t ino, std::string name,
                           std::uint64_t offset) {
  checkpoint cp;
  cp.id.device = dev;
  cp.id.inode = ino;
  cp.id.prefix_length = 1024;
  cp.id.prefix_hash = 0x0123456789abcdefull ^ ino;
  cp.name = std::move(name);
  cp.offset = offset;
  cp.source_id = 0xfedcba9876543210ull ^ (ino << 8) ^ offset;
  return cp;
}

void expect_equal(const checkpoint& a, const checkpoint& b) {
  EXPECT_EQ(a.id.device, b.id.device);
  EXPECT_EQ(a.id.inode, b.id.inode);
  EXPECT_EQ(a.id.prefix_length, b.id.prefix_length);
  EXPECT_EQ(a.id.prefix_hash, b.id.prefix_hash);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.offset, b.offset);
  EXPECT_EQ(a.source_id, b.source_id);
}

TEST(checkpoint_store, prefix_hash_is_fnv1a_64) {
  EXPECT_EQ(prefix_hash("", 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(prefix_hash("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(prefix_hash("foobar", 6), 0x85944171f73967e8ull);
}

TEST(checkpoint_store, identity_of_short_long_and_empty_files) {
  temp_dir dir("logpipe-checkpoint");
  const std::string small = "0123456789";
  std::string big(3000, 'x');
  big[1023] = 'A';
  big[1024] = 'B'; // just past the prefix
  write_file(dir.file("small"), small);
  write_file(dir.file("big"), big);
  write_file(dir.file("empty"), "");

  open_file f_small(dir.file("small"));
  struct stat st {};
  ASSERT_EQ(::fstat(f_small.fd(), &st), 0);
  auto id = identity_of(f_small.fd());
  ASSERT_TRUE(id);
  EXPECT_EQ(id->device, static_cast<std::uint64_t>(st.st_dev));
  EXPECT_EQ(id->inode, static_cast<std::uint64_t>(st.st_ino));
  EXPECT_EQ(id->prefix_length, 10u);
  EXPECT_EQ(id->prefix_hash, prefix_hash(small.data(), 10));

  open_file f_big(dir.file("big"));
  id = identity_of(f_big.fd());
  ASSERT_TRUE(id);
  EXPECT_EQ(id->prefix_length, 1024u);
  EXPECT_EQ(id->prefix_hash, prefix_hash(big.data(), 1024));

  open_file f_empty(dir.file("empty"));
  id = identity_of(f_empty.fd());
  ASSERT_TRUE(id);
  EXPECT_EQ(id->prefix_length, 0u);
  EXPECT_EQ(id->prefix_hash, 0xcbf29ce484222325ull);

  EXPECT_FALSE(identity_of(-1));
}

TEST(checkpoint_store, same_inode) {
  file_identity a, b;
  a.device = b.device = 1;
  a.inode = b.inode = 2;
  a.prefix_hash = 3;
  b.prefix_hash = 4;
  EXPECT_TRUE(a.same_inode(b));
  b.inode = 5;
  EXPECT_FALSE(a.same_inode(b));
  b.inode = 2;
  b.device = 9;
  EXPECT_FALSE(a.same_inode(b));
}

TEST(checkpoint_store, find_follows_a_growing_file) {
  temp_dir dir("logpipe-checkpoint");
  const auto path = dir.file("app.log");
  write_file(path, "first line\n");
  open_file f(path);
  auto id = identity_of(f.fd());
  ASSERT_TRUE(id);
  checkpoint_store store(dir.file("checkpoints"));
  store.put({*id, "app.log", 11});

  {
    open_file append(path, O_WRONLY | O_APPEND);
    ASSERT_EQ(::write(append.fd(), "second line\n", 12), 12);
  }
  const auto* cp = store.find(f.fd(), *identity_of(f.fd()));
  ASSERT_NE(cp, nullptr);
  EXPECT_EQ(cp->name, "app.log");
  EXPECT_EQ(cp->offset, 11u);
  EXPECT_EQ(cp->id.prefix_length, 11u);
  EXPECT_TRUE(is_same_file(f.fd(), *id));
}

TEST(checkpoint_store, find_refuses_a_reused_inode) {
  // Same device and inode, different first bytes: as if the file had been
  // deleted and its inode given to a new one.
  temp_dir dir("logpipe-checkpoint");
  const auto path = dir.file("app.log");
  write_file(path, "first content\n");
  open_file f(path);
  auto id = identity_of(f.fd());
  ASSERT_TRUE(id);
  checkpoint_store store(dir.file("checkpoints"));
  store.put({*id, "app.log", 14});
  ASSERT_NE(store.find(f.fd(), *id), nullptr);

  write_file(path, "other content, longer\n"); // truncate and rewrite, same inode
  auto now = identity_of(f.fd());
  ASSERT_TRUE(now);
  ASSERT_TRUE(now->same_inode(*id));
  EXPECT_EQ(store.find(f.fd(), *now), nullptr);
  EXPECT_FALSE(is_same_file(f.fd(), *id));
}

TEST(checkpoint_store, a_file_shorter_than_its_prefix_is_not_the_same) {
  temp_dir dir("logpipe-checkpoint");
  const auto path = dir.file("app.log");
  write_file(path, "0123456789\n");
  open_file f(path);
  auto id = identity_of(f.fd());
  ASSERT_TRUE(id);
  ASSERT_EQ(id->prefix_length, 11u);
  checkpoint_store store(dir.file("checkpoints"));
  store.put({*id, "app.log", 11});

  ASSERT_EQ(::truncate(path.c_str(), 5), 0); // "01234": a prefix of the old bytes
  EXPECT_FALSE(is_same_file(f.fd(), *id));
  EXPECT_EQ(store.find(f.fd(), *identity_of(f.fd())), nullptr);
}

TEST(checkpoint_store, find_needs_the_same_inode) {
  temp_dir dir("logpipe-checkpoint");
  write_file(dir.file("a"), "same bytes\n");
  write_file(dir.file("b"), "same bytes\n");
  open_file a(dir.file("a"));
  open_file b(dir.file("b"));
  auto id_a = identity_of(a.fd());
  auto id_b = identity_of(b.fd());
  ASSERT_TRUE(id_a && id_b);
  EXPECT_EQ(id_a->prefix_hash, id_b->prefix_hash);
  checkpoint_store store(dir.file("checkpoints"));
  store.put({*id_a, "a", 3});
  EXPECT_EQ(store.find(b.fd(), *id_b), nullptr);
  // Asking with a's identity but b's descriptor: the descriptor decides.
  EXPECT_EQ(store.find(b.fd(), *id_a), nullptr);
  EXPECT_FALSE(is_same_file(b.fd(), *id_a));
  EXPECT_NE(store.find(a.fd(), *id_a), nullptr);
}

TEST(checkpoint_store, put_replaces_and_erase_forgets) {
  checkpoint_store store("/nonexistent/checkpoints");
  store.put(make_checkpoint(1, 2, "a", 10));
  store.put(make_checkpoint(1, 3, "b", 20));
  store.put(make_checkpoint(1, 2, "a2", 30)); // same device+inode: replaces
  ASSERT_EQ(store.size(), 2u);
  auto all = store.all();
  EXPECT_EQ(all[0].name, "a2");
  EXPECT_EQ(all[0].offset, 30u);
  EXPECT_EQ(all[1].name, "b");
  file_identity gone;
  gone.device = 1;
  gone.inode = 2;
  gone.prefix_hash = 12345; // the prefix does not matter to erase()
  store.erase(gone);
  ASSERT_EQ(store.size(), 1u);
  EXPECT_EQ(store.all()[0].name, "b");
  EXPECT_EQ(store.path(), "/nonexistent/checkpoints");
}

TEST(checkpoint_store, file_format_is_exact) {
  temp_dir dir("logpipe-checkpoint");
  const auto path = dir.file("checkpoints");
  checkpoint_store store(path);
  checkpoint a;
  a.id = {2049, 131, 12, 0xab};
  a.name = "my app.log";
  a.offset = 12345;
  a.source_id = 0x0123456789abcdefull;
  checkpoint b;
  b.id = {2049, 7, 0, 0xcbf29ce484222325ull};
  b.name = "-";
  b.offset = 0;
  b.source_id = 0xfedcba9876543210ull;
  checkpoint c;
  c.id = {1, 18446744073709551615ull, 1024, 0xffffffffffffffffull};
  c.name = "a\nb%c/\xc3\xa9";
  c.offset = 18446744073709551615ull;
  c.source_id = 0xffffffffffffffffull;
  checkpoint d;
  d.id = {1, 1, 1, 1};
  d.name = "";
  d.offset = 1;
  d.source_id = 1;
  for (const auto& cp : {a, b, c, d})
    store.put(cp);
  std::string error;
  ASSERT_TRUE(store.save(error)) << error;
  EXPECT_EQ(read_file(path),
            "logpipe-checkpoints 2\n"
            "1 1 1 0000000000000001 0000000000000001 1 -\n"
            "1 18446744073709551615 1024 ffffffffffffffff ffffffffffffffff "
            "18446744073709551615 a%0Ab%25c%2F%C3%A9\n"
            "2049 7 0 cbf29ce484222325 fedcba9876543210 0 %2D\n"
            "2049 131 12 00000000000000ab 0123456789abcdef 12345 my%20app.log\n");
  // And back.
  checkpoint_store loaded(path);
  ASSERT_TRUE(loaded.load(error)) << error;
  ASSERT_EQ(loaded.size(), 4u);
  const auto all = loaded.all();
  expect_equal(all[0], d);
  expect_equal(all[1], c);
  expect_equal(all[2], b);
  expect_equal(all[3], a);
}

TEST(checkpoint_store, the_previous_format_loads_with_new_source_ids) {
  temp_dir dir("logpipe-checkpoint");
  const auto path = dir.file("checkpoints");
  write_file(path, "logpipe-checkpoints 1\n"
                   "1 2 3 00000000000000ff 4 a.log\n"
                   "2049 131 12 00000000000000ab 12345 my%20app.log\n");
  checkpoint_store store(path);
  std::string error;
  ASSERT_TRUE(store.load(error)) << error;
  ASSERT_EQ(store.size(), 2u);
  auto all = store.all();
  EXPECT_EQ(all[0].id.device, 1u);
  EXPECT_EQ(all[0].id.inode, 2u);
  EXPECT_EQ(all[0].id.prefix_length, 3u);
  EXPECT_EQ(all[0].id.prefix_hash, 0xffu);
  EXPECT_EQ(all[0].offset, 4u);
  EXPECT_EQ(all[0].name, "a.log");
  EXPECT_EQ(all[1].offset, 12345u);
  EXPECT_EQ(all[1].name, "my app.log");
  EXPECT_NE(all[0].source_id, 0u);
  EXPECT_NE(all[1].source_id, 0u);
  EXPECT_NE(all[0].source_id, all[1].source_id);

  // Saved in the current format, the ids it was given stay.
  ASSERT_TRUE(store.save(error)) << error;
  EXPECT_EQ(read_file(path).rfind("logpipe-checkpoints 2\n", 0), 0u) << read_file(path);
  checkpoint_store again(path);
  ASSERT_TRUE(again.load(error)) << error;
  ASSERT_EQ(again.size(), 2u);
  expect_equal(again.all()[0], all[0]);
  expect_equal(again.all()[1], all[1]);
}

TEST(checkpoint_store, new_source_ids_are_non_zero_and_differ) {
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    auto id = new_source_id();
    ASSERT_NE(id, 0u);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10000u);
  // Not confined to a few bits.
  std::uint64_t ored = 0;
  for (auto id : seen)
    ored |= id;
  EXPECT_EQ(ored, ~std::uint64_t{0});
}

TEST(checkpoint_store, round_trip_with_hostile_names) {
  temp_dir dir("logpipe-checkpoint");
  const auto path = dir.file("checkpoints");
  const std::vector<std::string> names{
      "app.log", "my app.log", "line\nbreak", "cr\rlf", "tab\there", "%41%", "-",
      "--", "", " ", "\n", std::string("nul\0byte", 8), all_bytes(),
      "r\xc3\xa9sum\xc3\xa9.log", "\xff\xfe", "../../etc/passwd",
      "logpipe-checkpoints 1"};
  checkpoint_store store(path);
  std::vector<checkpoint> expected;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto cp = make_checkpoint(100 + i % 3, 1000 + i, names[i], i * 1000003);
    cp.id.prefix_length = static_cast<std::uint32_t>(i * 50);
    expected.push_back(cp);
    store.put(cp);
  }
  std::string error;
  ASSERT_TRUE(store.save(error)) << error;

  // Every entry is one line: header + one line per name.
  const auto text = read_file(path);
  std::size_t lines = 0;
  for (char ch : text)
    lines += ch == '\n';
  EXPECT_EQ(lines, names.size() + 1);

  checkpoint_store loaded(path);
  ASSERT_TRUE(loaded.load(error)) << error;
  ASSERT_EQ(loaded.size(), names.size());
  const auto got = loaded.all();
  const auto want = store.all();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i));
    expect_equal(got[i], want[i]);
  }
  // Saving what was loaded writes the same bytes.
  ASSERT_TRUE(loaded.save(error)) << error;
  EXPECT_EQ(read_file(path), text);
}

TEST(checkpoint_store, missing_file_is_an_empty_store) {
  temp_dir dir("logpipe-checkpoint");
  checkpoint_store store(dir.file("none"));
  store.put(make_checkpoint(1, 2, "x", 3));
  std::string error;
  EXPECT_TRUE(store.load(error)) << error;
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(error, "");
}

TEST(checkpoint_store, an_unreadable_store_is_an_error) {
  temp_dir dir("logpipe-checkpoint");
  checkpoint_store store(dir.path()); // a folder, not a file
  std::string error;
  EXPECT_FALSE(store.load(error));
  EXPECT_NE(error.find(dir.path()), std::string::npos) << error;
  EXPECT_EQ(store.size(), 0u);
}

struct corrupt_case {
  std::string text;
  std::string message; // expected in the error, with the line number
};

TEST(checkpoint_store, corrupt_files_are_rejected_with_their_line) {
  const std::string header = "logpipe-checkpoints 2\n";
  const std::string good = "1 2 3 00000000000000ff 000000000000abcd 4 a.log\n";
  // The previous format: no source_id field.
  const std::string header_v1 = "logpipe-checkpoints 1\n";
  const std::string good_v1 = "1 2 3 00000000000000ff 4 a.log\n";
  const std::string id = " 000000000000abcd";
  const std::vector<corrupt_case> cases{
      {"", "line 1: the file is empty"},
      {"logpipe-checkpoints 3\n", "line 1: expected the header 'logpipe-checkpoints 2' "
                                  "(or 'logpipe-checkpoints 1'), found "
                                  "'logpipe-checkpoints 3'"},
      {good, "line 1: expected the header"},
      {"logpipe-checkpoints 2", "line 1: incomplete last line"},
      {header + good + "1 2 3 00000000000000ff" + id + " 4 a.log",
       "line 3: incomplete last line"},
      {header + good + "\n", "line 3: expected 7 fields separated by single spaces "
                             "(device inode prefix_length prefix_hash source_id offset "
                             "name), found 1"},
      {header + good_v1, "line 2: expected 7 fields"},
      {header + "1 2 3 00000000000000ff" + id + " 4 a b\n", "line 2: expected 7 fields"},
      {header + "1  2 3 00000000000000ff" + id + " 4 a\n", "line 2: expected 7 fields"},
      {header + "1 2 3 00000000000000ff" + id + " 4 a \n", "line 2: expected 7 fields"},
      {header + "x 2 3 00000000000000ff" + id + " 4 a\n",
       "line 2: bad device 'x' (expected an unsigned decimal number)"},
      {header + "1 -2 3 00000000000000ff" + id + " 4 a\n", "line 2: bad inode '-2'"},
      {header + "1 2 4294967296 00000000000000ff" + id + " 4 a\n",
       "line 2: prefix_length 4294967296 is too large"},
      {header + "1 2 3 ff" + id + " 4 a\n",
       "line 2: bad prefix_hash 'ff' (expected 16 lowercase hex digits)"},
      {header + "1 2 3 00000000000000FF" + id + " 4 a\n", "line 2: bad prefix_hash"},
      {header + "1 2 3 00000000000000ff abcd 4 a\n",
       "line 2: bad source_id 'abcd' (expected 16 lowercase hex digits, not all 0)"},
      {header + "1 2 3 00000000000000ff 000000000000ABCD 4 a\n",
       "line 2: bad source_id '000000000000ABCD'"},
      {header + "1 2 3 00000000000000ff 0000000000000000 4 a\n",
       "line 2: bad source_id '0000000000000000'"},
      {header + "1 2 3 00000000000000ff" + id + " 18446744073709551616 a\n",
       "line 2: bad offset '18446744073709551616'"},
      {header + "1 2 3 00000000000000ff" + id + " 04 a\n", "line 2: bad offset '04'"},
      {header + "1 2 3 00000000000000ff" + id + " 4 a%2\n",
       "line 2: bad %-escape in the file name at column 2"},
      {header + "1 2 3 00000000000000ff" + id + " 4 a%zz\n", "line 2: bad %-escape"},
      {header + "1 2 3 00000000000000ff" + id + " 4 a/b\n",
       "line 2: unexpected character in the file name (byte 47)"},
      {header + "1 2 3 00000000000000ff" + id + " 4 a\r\n", "line 2: unexpected character"},
      {header + good + "1 2 9 0000000000000001" + id + " 7 b.log\n",
       "line 3: a second entry for device 1 inode 2"},
      // The previous format is parsed as strictly.
      {header_v1 + good, "line 2: expected 6 fields separated by single spaces "
                         "(device inode prefix_length prefix_hash offset name), found 7"},
      {header_v1 + "1 2 3 00000000000000ff 04 a\n", "line 2: bad offset '04'"},
      {header_v1 + "1 2 3 00000000000000ff 4 a%2\n", "line 2: bad %-escape"},
      {header_v1 + good_v1 + "1 2 9 0000000000000001 7 b.log\n",
       "line 3: a second entry for device 1 inode 2"},
  };
  temp_dir dir("logpipe-checkpoint");
  const auto path = dir.file("checkpoints");
  for (const auto& c : cases) {
    SCOPED_TRACE("file text: '" + c.text + "'");
    write_file(path, c.text);
    checkpoint_store store(path);
    store.put(make_checkpoint(5, 6, "before", 7));
    std::string error;
    EXPECT_FALSE(store.load(error));
    EXPECT_NE(error.find("corrupt checkpoint file " + path + ", " + c.message),
              std::string::npos)
        << error;
    EXPECT_EQ(store.size(), 0u);
  }
}

TEST(checkpoint_store, a_leftover_temporary_file_does_not_matter) {
  temp_dir dir("logpipe-checkpoint");
  const auto path = dir.file("checkpoints");
  checkpoint_store store(path);
  store.put(make_checkpoint(1, 2, "a.log", 100));
  std::string error;
  ASSERT_TRUE(store.save(error)) << error;
  const auto saved = read_file(path);

  // A crash in the middle of a save leaves a partial temporary file.
  write_file(path + ".tmp", "logpipe-checkpoints 2\n1 2 3 00");
  checkpoint_store after_crash(path);
  ASSERT_TRUE(after_crash.load(error)) << error;
  ASSERT_EQ(after_crash.size(), 1u);
  EXPECT_EQ(after_crash.all()[0].offset, 100u);

  // The next save replaces both.
  after_crash.put(make_checkpoint(1, 2, "a.log", 200));
  ASSERT_TRUE(after_crash.save(error)) << error;
  EXPECT_NE(read_file(path), saved);
  EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);
  checkpoint_store again(path);
  ASSERT_TRUE(again.load(error)) << error;
  EXPECT_EQ(again.all()[0].offset, 200u);
}

TEST(checkpoint_store, save_replaces_an_existing_file) {
  temp_dir dir("logpipe-checkpoint");
  const auto path = dir.file("checkpoints");
  std::string error;
  {
    checkpoint_store store(path);
    store.put(make_checkpoint(1, 2, "a.log", 1));
    store.put(make_checkpoint(1, 3, "b.log", 2));
    ASSERT_TRUE(store.save(error)) << error;
  }
  checkpoint_store store(path);
  ASSERT_TRUE(store.load(error)) << error;
  ASSERT_EQ(store.size(), 2u);
  store.erase(store.all()[0].id);
  store.put(make_checkpoint(1, 3, "b.log", 99));
  ASSERT_TRUE(store.save(error)) << error;

  checkpoint_store loaded(path);
  ASSERT_TRUE(loaded.load(error)) << error;
  ASSERT_EQ(loaded.size(), 1u);
  expect_equal(loaded.all()[0], make_checkpoint(1, 3, "b.log", 99));
  EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);

  // An empty store saves as just the header, and loads as empty.
  checkpoint_store empty(path);
  ASSERT_TRUE(empty.save(error)) << error;
  EXPECT_EQ(read_file(path), "logpipe-checkpoints 2\n");
  ASSERT_TRUE(loaded.load(error)) << error;
  EXPECT_EQ(loaded.size(), 0u);
}

TEST(checkpoint_store, a_failed_save_leaves_the_old_file) {
  temp_dir dir("logpipe-checkpoint");
  const auto path = dir.file("checkpoints");
  checkpoint_store store(path);
  store.put(make_checkpoint(1, 2, "a.log", 1));
  std::string error;
  ASSERT_TRUE(store.save(error)) << error;
  const auto before = read_file(path);

  // The temporary file cannot be created (its name is taken by a folder).
  ASSERT_EQ(::mkdir((path + ".tmp").c_str(), 0755), 0);
  store.put(make_checkpoint(1, 2, "a.log", 2));
  error.clear();
  EXPECT_FALSE(store.save(error));
  EXPECT_NE(error.find("cannot create " + path + ".tmp"), std::string::npos) << error;
  EXPECT_EQ(read_file(path), before);

  // A folder that does not exist.
  checkpoint_store nowhere(dir.file("missing/checkpoints"));
  error.clear();
  EXPECT_FALSE(nowhere.save(error));
  EXPECT_FALSE(error.empty());
}

} // namespace
