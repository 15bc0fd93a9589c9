// The file output's folder, without CAF: hostile names and planted symbolic
// links never lead outside the folder, by_origin subfolders, the descriptor
// cache, rotation by size, file modes.

#include "actors/file_output/output_folder.hpp"

#include "actors/shared/rotation.hpp"

#include "test/file_output/folder_tree.hpp"
#include "test/support/proc_scan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace logpipe::test {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> result;
  for (const auto& e : fs::directory_iterator(folder))
    result.push_back(e.path().filename().string());
  std::sort(result.begin(), result.end());
  return result;
}

/// Whether this process has a descriptor open on `p`.
bool is_open(const fs::path& p) {
  const auto wanted = fs::canonical(p);
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(e.path(), ec);
    if (!ec && target == wanted)
      return true;
  }
  return false;
}

mode_t mode_of(const fs::path& p) {
  struct stat info {};
  if (::lstat(p.c_str(), &info) != 0)
    throw std::runtime_error("lstat " + p.string());
  return info.st_mode & 07777;
}

class output_folder_test : public ::testing::Test {
protected:
  output_folder_test() {
    std::string tmpl = (fs::temp_directory_path() / "logpipe-output-folder-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed");
    base = tmpl;
    out = base / "out";
    old_umask = ::umask(022);
  }

  ~output_folder_test() override {
    ::umask(old_umask);
    std::error_code ec;
    fs::remove_all(base, ec);
  }

  output_folder_settings settings(folder_layout layout = folder_layout::flat) {
    output_folder_settings s;
    s.path = out.string();
    s.layout = layout;
    return s;
  }

  static append_result append(output_folder& f, std::string_view origin,
                              std::string_view name, const std::string& text) {
    return f.append(origin, name, text.data(), text.size());
  }

  fs::path base;
  fs::path out;
  mode_t old_umask;
};

std::vector<std::string> hostile_names() {
  return {"../x",   "/etc/passwd", "a/b", "..", ".", std::string("a\0b", 3),
          "\n",     "line\nfeed",  "",    std::string(300, 'x'), "../../../tmp/x",
          "tab\there", std::string("\x7f", 1)};
}

TEST_F(output_folder_test, creates_its_folder_with_parents) {
  out = base / "a" / "b" / "out";
  output_folder folder(settings());
  EXPECT_TRUE(fs::is_directory(out));
  EXPECT_EQ(mode_of(out), 0750u);
  EXPECT_EQ(append(folder, "host", "app.log", "x\n").outcome, append_result::written);
  EXPECT_EQ(read_file(out / "app.log"), "x\n");
}

TEST_F(output_folder_test, a_path_that_is_a_file_cannot_be_opened) {
  write_file(out, "not a folder");
  EXPECT_THROW(output_folder folder(settings()), std::system_error);
}

TEST_F(output_folder_test, refuses_hostile_names_and_creates_nothing_outside) {
  for (auto layout : {folder_layout::flat, folder_layout::by_origin}) {
    output_folder folder(settings(layout));
    const auto before = tree(base);
    for (const auto& name : hostile_names()) {
      auto r = append(folder, "host", name, "data\n");
      EXPECT_EQ(r.outcome, append_result::refused) << "name: " << name;
      EXPECT_NE(r.problem.find("file name"), std::string::npos) << r.problem;
      EXPECT_FALSE(folder.name_problem("host", name).empty()) << "name: " << name;
    }
    EXPECT_EQ(tree(base), before);
    EXPECT_TRUE(names_in(out).empty());
    EXPECT_EQ(folder.open_files(), 0u);
  }
}

TEST_F(output_folder_test, refuses_hostile_origins_in_by_origin_layout) {
  output_folder folder(settings(folder_layout::by_origin));
  const auto before = tree(base);
  for (const auto& origin : hostile_names()) {
    auto r = append(folder, origin, "app.log", "data\n");
    EXPECT_EQ(r.outcome, append_result::refused) << "origin: " << origin;
    EXPECT_NE(r.problem.find("origin"), std::string::npos) << r.problem;
  }
  EXPECT_EQ(tree(base), before);
  EXPECT_TRUE(names_in(out).empty());
}

TEST_F(output_folder_test, the_origin_does_not_matter_in_the_flat_layout) {
  output_folder folder(settings(folder_layout::flat));
  EXPECT_EQ(append(folder, "../anything", "app.log", "a").outcome, append_result::written);
  EXPECT_EQ(append(folder, "other", "app.log", "b").outcome, append_result::written);
  EXPECT_EQ(names_in(out), std::vector<std::string>{"app.log"});
  EXPECT_EQ(read_file(out / "app.log"), "ab");
}

TEST_F(output_folder_test, a_planted_symlink_is_refused_and_its_target_untouched) {
  write_file(base / "target", "secret\n");
  fs::create_directories(out);
  fs::create_symlink("../target", out / "relative.log");
  fs::create_symlink(base / "target", out / "absolute.log");
  fs::create_symlink(base / "missing", out / "dangling.log");
  output_folder folder(settings());
  for (const char* name : {"relative.log", "absolute.log", "dangling.log"}) {
    auto r = append(folder, "host", name, "overwrite\n");
    EXPECT_EQ(r.outcome, append_result::refused) << name;
    EXPECT_EQ(r.error, ELOOP) << name;
    EXPECT_TRUE(fs::is_symlink(out / name)) << name;
  }
  EXPECT_EQ(read_file(base / "target"), "secret\n");
  EXPECT_FALSE(fs::exists(base / "missing"));
  EXPECT_EQ(folder.open_files(), 0u);
}

TEST_F(output_folder_test, by_origin_writes_each_origin_in_its_own_folder) {
  output_folder folder(settings(folder_layout::by_origin));
  EXPECT_EQ(append(folder, "127.0.0.1", "app.log", "v4 ").outcome, append_result::written);
  EXPECT_EQ(append(folder, "::1", "app.log", "v6 ").outcome, append_result::written);
  EXPECT_EQ(append(folder, "127.0.0.1", "app.log", "again").outcome, append_result::written);
  EXPECT_EQ(append(folder, "127.0.0.1", "other.log", "o").outcome, append_result::written);
  EXPECT_EQ(tree(out), (std::vector<std::string>{"127.0.0.1", "127.0.0.1/app.log",
                                                 "127.0.0.1/other.log", "::1",
                                                 "::1/app.log"}));
  EXPECT_EQ(read_file(out / "127.0.0.1" / "app.log"), "v4 again");
  EXPECT_EQ(read_file(out / "::1" / "app.log"), "v6 ");
  EXPECT_EQ(folder.folder_of("::1"), (out / "::1").string());
}

TEST_F(output_folder_test, a_planted_symlink_as_origin_folder_is_refused) {
  fs::create_directories(base / "elsewhere");
  fs::create_directories(out);
  fs::create_symlink(base / "elsewhere", out / "evil");
  fs::create_symlink("../elsewhere", out / "evil2");
  output_folder folder(settings(folder_layout::by_origin));
  for (const char* origin : {"evil", "evil2"}) {
    auto r = append(folder, origin, "app.log", "data\n");
    EXPECT_EQ(r.outcome, append_result::refused) << origin;
    EXPECT_EQ(r.error, ELOOP) << origin;
  }
  EXPECT_TRUE(names_in(base / "elsewhere").empty());
}

TEST_F(output_folder_test, a_folder_under_the_name_is_refused) {
  fs::create_directories(out / "app.log");
  output_folder folder(settings());
  auto r = append(folder, "host", "app.log", "data\n");
  EXPECT_EQ(r.outcome, append_result::refused);
  EXPECT_EQ(r.error, EISDIR);
  EXPECT_EQ(r.problem, "is a folder");
  EXPECT_EQ(folder.open_files(), 0u);
}

TEST_F(output_folder_test, a_fifo_under_the_name_is_refused_at_once_instead_of_blocking) {
  fs::create_directories(out);
  ASSERT_EQ(::mkfifo((out / "pipe.log").c_str(), 0600), 0);
  output_folder folder(settings());
  auto r = append(folder, "host", "pipe.log", "data\n");
  EXPECT_EQ(r.outcome, append_result::refused);
  EXPECT_EQ(r.error, ENXIO);
}

TEST_F(output_folder_test, a_fifo_with_a_reader_is_refused_too) {
  fs::create_directories(out);
  ASSERT_EQ(::mkfifo((out / "pipe.log").c_str(), 0600), 0);
  int reader = ::open((out / "pipe.log").c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  output_folder folder(settings());
  auto r = append(folder, "host", "pipe.log", "data\n");
  ::close(reader);
  EXPECT_EQ(r.outcome, append_result::refused);
  EXPECT_EQ(folder.open_files(), 0u);
}

TEST_F(output_folder_test, an_origin_taken_by_a_file_is_refused) {
  auto s = settings();
  s.layout = folder_layout::by_origin;
  fs::create_directories(out);
  write_file(out / "web-1", "not a folder\n");
  output_folder folder(s);
  auto r = append(folder, "web-1", "app.log", "data\n");
  EXPECT_EQ(r.outcome, append_result::refused);
  EXPECT_EQ(append(folder, "web-2", "app.log", "data\n").outcome, append_result::written);
}

TEST_F(output_folder_test, appends_to_a_file_that_is_already_there) {
  fs::create_directories(out);
  write_file(out / "app.log", "before\n");
  output_folder folder(settings());
  EXPECT_EQ(append(folder, "host", "app.log", "after\n").outcome, append_result::written);
  EXPECT_EQ(read_file(out / "app.log"), "before\nafter\n");
}

TEST_F(output_folder_test, the_cache_closes_the_least_recently_used_and_reopening_appends) {
  auto s = settings();
  s.max_open_files = 2;
  output_folder folder(s);
  append(folder, "h", "a", "a1");
  append(folder, "h", "b", "b1");
  append(folder, "h", "a", "a2"); // a is now the most recently used
  EXPECT_EQ(folder.open_files(), 2u);
  EXPECT_TRUE(is_open(out / "a"));
  EXPECT_TRUE(is_open(out / "b"));
  append(folder, "h", "c", "c1");
  EXPECT_EQ(folder.open_files(), 2u);
  EXPECT_TRUE(is_open(out / "a"));
  EXPECT_FALSE(is_open(out / "b")) << "b was the least recently used";
  EXPECT_TRUE(is_open(out / "c"));
  append(folder, "h", "b", "b2");
  EXPECT_FALSE(is_open(out / "a"));
  EXPECT_EQ(folder.open_files(), 2u);
  EXPECT_EQ(read_file(out / "a"), "a1a2");
  EXPECT_EQ(read_file(out / "b"), "b1b2");
  EXPECT_EQ(read_file(out / "c"), "c1");
  folder.close_all();
  EXPECT_EQ(folder.open_files(), 0u);
  EXPECT_FALSE(is_open(out / "b"));
}

TEST_F(output_folder_test, rotates_before_a_write_that_would_start_at_or_beyond_the_size) {
  auto s = settings();
  s.rotate_size = 12;
  output_folder folder(s);
  auto r1 = append(folder, "h", "app.log", "aaaaaa");
  auto r2 = append(folder, "h", "app.log", "bbbbbb"); // starts at 6: no rotation
  EXPECT_FALSE(r1.rotated);
  EXPECT_FALSE(r2.rotated);
  EXPECT_EQ(names_in(out), std::vector<std::string>{"app.log"});
  auto r3 = append(folder, "h", "app.log", "cccccc"); // would start at 12: rotate first
  EXPECT_EQ(r3.outcome, append_result::written);
  ASSERT_TRUE(r3.rotated);
  EXPECT_EQ(r3.rotated->folder, out.string());
  EXPECT_EQ(r3.rotated->old_name, "app.log");
  EXPECT_TRUE(is_rotated_name(r3.rotated->new_name)) << r3.rotated->new_name;
  EXPECT_EQ(r3.rotated->new_name.rfind("_app.log-", 0), 0u) << r3.rotated->new_name;
  EXPECT_EQ(names_in(out), (std::vector<std::string>{r3.rotated->new_name, "app.log"}));
  EXPECT_EQ(read_file(out / r3.rotated->new_name), "aaaaaabbbbbb");
  EXPECT_EQ(read_file(out / "app.log"), "cccccc") << "the new file starts empty";
  EXPECT_TRUE(r3.rotation_problem.empty());
}

TEST_F(output_folder_test, a_block_is_never_split_and_a_file_holds_at_least_one_block) {
  auto s = settings();
  s.rotate_size = 4;
  output_folder folder(s);
  const std::string big(100, 'x');
  EXPECT_FALSE(append(folder, "h", "app.log", big).rotated) << "an empty file is not rotated";
  auto r = append(folder, "h", "app.log", big);
  ASSERT_TRUE(r.rotated);
  EXPECT_EQ(read_file(out / r.rotated->new_name), big);
  EXPECT_EQ(read_file(out / "app.log"), big);
}

TEST_F(output_folder_test, the_size_of_a_file_already_there_counts) {
  fs::create_directories(out);
  write_file(out / "app.log", std::string(20, 'o'));
  auto s = settings();
  s.rotate_size = 10;
  output_folder folder(s);
  auto r = append(folder, "h", "app.log", "new");
  ASSERT_TRUE(r.rotated);
  EXPECT_EQ(read_file(out / r.rotated->new_name), std::string(20, 'o'));
  EXPECT_EQ(read_file(out / "app.log"), "new");
}

TEST_F(output_folder_test, two_rotations_in_a_row_keep_both_files) {
  auto s = settings();
  s.rotate_size = 1;
  output_folder folder(s);
  append(folder, "h", "app.log", "1");
  auto r2 = append(folder, "h", "app.log", "2");
  auto r3 = append(folder, "h", "app.log", "3");
  ASSERT_TRUE(r2.rotated);
  ASSERT_TRUE(r3.rotated);
  EXPECT_NE(r2.rotated->new_name, r3.rotated->new_name);
  EXPECT_EQ(read_file(out / r2.rotated->new_name), "1");
  EXPECT_EQ(read_file(out / r3.rotated->new_name), "2");
  EXPECT_EQ(read_file(out / "app.log"), "3");
  EXPECT_EQ(names_in(out).size(), 3u);
}

TEST_F(output_folder_test, by_origin_rotates_inside_the_origin_folder) {
  auto s = settings(folder_layout::by_origin);
  s.rotate_size = 3;
  output_folder folder(s);
  append(folder, "10.0.0.7", "app.log", "old");
  auto r = append(folder, "10.0.0.7", "app.log", "new");
  ASSERT_TRUE(r.rotated);
  EXPECT_EQ(r.rotated->folder, (out / "10.0.0.7").string());
  EXPECT_EQ(read_file(out / "10.0.0.7" / r.rotated->new_name), "old");
  EXPECT_EQ(read_file(out / "10.0.0.7" / "app.log"), "new");
  EXPECT_EQ(names_in(out), std::vector<std::string>{"10.0.0.7"});
}

TEST_F(output_folder_test, a_file_moved_away_by_someone_else_is_not_renamed_again) {
  auto s = settings();
  s.rotate_size = 3;
  output_folder folder(s);
  append(folder, "h", "app.log", "abc");
  fs::rename(out / "app.log", out / "moved.log");
  auto r = append(folder, "h", "app.log", "def");
  EXPECT_EQ(r.outcome, append_result::written);
  EXPECT_FALSE(r.rotated);
  EXPECT_EQ(read_file(out / "moved.log"), "abc");
  EXPECT_EQ(read_file(out / "app.log"), "def");
}

TEST_F(output_folder_test, new_files_and_folders_get_the_configured_mode) {
  for (mode_t mode : {mode_t{0640}, mode_t{0600}, mode_t{0644}}) {
    std::error_code ec;
    fs::remove_all(out, ec);
    auto s = settings(folder_layout::by_origin);
    s.file_mode = mode;
    output_folder folder(s);
    ASSERT_EQ(append(folder, "host", "app.log", "x").outcome, append_result::written);
    EXPECT_EQ(mode_of(out / "host" / "app.log"), mode);
    EXPECT_EQ(mode_of(out / "host"), mode | ((mode & 0444) >> 2));
  }
}

TEST(parse_file_mode, takes_three_or_four_octal_digits_only) {
  EXPECT_EQ(parse_file_mode("0640"), mode_t{0640});
  EXPECT_EQ(parse_file_mode("640"), mode_t{0640});
  EXPECT_EQ(parse_file_mode("0600"), mode_t{0600});
  EXPECT_EQ(parse_file_mode("1777"), mode_t{01777});
  for (const char* bad : {"", "64", "06400", "0649", "rw-r-----", "0x1a", "-640", " 640"})
    EXPECT_FALSE(parse_file_mode(bad)) << bad;
}


TEST_F(output_folder_test, open_then_write_tells_the_size_before_writing) {
  auto s = settings(folder_layout::by_origin);
  s.rotate_size = 10;
  output_folder folder(s);
  std::uint64_t size = 99;
  EXPECT_EQ(folder.write_opened("x", 1).outcome, append_result::failed) << "nothing opened";
  ASSERT_EQ(folder.open_for_append("h", "app.log", false, size).outcome, append_result::written);
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(folder.write_opened("aaaa", 4).outcome, append_result::written);
  ASSERT_EQ(folder.open_for_append("h", "app.log", false, size).outcome, append_result::written);
  EXPECT_EQ(size, 4u);
  EXPECT_EQ(folder.write_opened("aaaaaaaa", 8).outcome, append_result::written);
  auto r = folder.open_for_append("h", "app.log", false, size);
  ASSERT_EQ(r.outcome, append_result::written);
  ASSERT_TRUE(r.rotated) << "rotated at open, before any write";
  EXPECT_EQ(r.rotated->old_size, 12u);
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(folder.write_opened("bb", 2).outcome, append_result::written);
  EXPECT_EQ(read_file(out / "h" / "app.log"), "bb");
}

TEST_F(output_folder_test, a_fresh_size_sees_a_truncation_by_someone_else) {
  output_folder folder(settings());
  EXPECT_EQ(append(folder, "h", "app.log", "0123456789").outcome, append_result::written);
  fs::resize_file(out / "app.log", 3); // the descriptor stays cached
  std::uint64_t size = 0;
  ASSERT_EQ(folder.open_for_append("h", "app.log", false, size).outcome, append_result::written);
  EXPECT_EQ(size, 10u) << "the cached size, as rotation has always used it";
  ASSERT_EQ(folder.open_for_append("h", "app.log", true, size).outcome, append_result::written);
  EXPECT_EQ(size, 3u);
}

} // namespace
} // namespace logpipe::test
