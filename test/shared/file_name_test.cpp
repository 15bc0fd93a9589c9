// file_name_problem / printable_name: which names from elsewhere may become a
// file in a folder, and how a hostile one is shown in a log line.

#include "actors/shared/file_name.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace logpipe;

TEST(file_name, accepts_plain_names) {
  for (const std::string name :
       {"app.log", "a", "...", ".hidden", "a..b", "..x", "x..", "with space.log",
        "journal-\xc3\xa9.log", "back\\slash", "~"}) {
    EXPECT_EQ(file_name_problem(name), "") << name;
  }
}

TEST(file_name, rejects_empty_and_folder_references) {
  EXPECT_EQ(file_name_problem(""), "is empty");
  EXPECT_EQ(file_name_problem("."), "is a reference to a folder");
  EXPECT_EQ(file_name_problem(".."), "is a reference to a folder");
}

TEST(file_name, rejects_slashes) {
  for (const std::string name : {"a/b", "/etc/passwd", "../x", "x/..", "/", "dir/"})
    EXPECT_EQ(file_name_problem(name), "contains '/'") << name;
}

TEST(file_name, rejects_nul_and_control_characters) {
  EXPECT_EQ(file_name_problem(std::string("a\0b", 3)), "contains a NUL byte");
  EXPECT_EQ(file_name_problem(std::string(1, '\0')), "contains a NUL byte");
  for (const std::string name : {"\n", "a\tb", "x\r", "\x1b[31m", "del\x7f", "\x01"})
    EXPECT_EQ(file_name_problem(name), "contains a control character") << printable_name(name);
}

TEST(file_name, rejects_names_over_the_maximum_length) {
  EXPECT_EQ(file_name_problem(std::string(max_file_name, 'a')), "");
  EXPECT_EQ(file_name_problem(std::string(max_file_name + 1, 'a')), "is longer than 255 bytes");
  EXPECT_EQ(file_name_problem("abcd", 4), "");
  EXPECT_EQ(file_name_problem("abcde", 4), "is longer than 4 bytes");
}

TEST(file_name, printable_name_escapes_what_a_log_line_cannot_hold) {
  EXPECT_EQ(printable_name("app.log"), "app.log");
  EXPECT_EQ(printable_name("a\nb"), "a\\x0ab");
  EXPECT_EQ(printable_name(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable_name("\x7f"), "\\x7f");
  EXPECT_EQ(printable_name("back\\slash"), "back\\x5cslash");
  EXPECT_EQ(printable_name("\xc3\xa9"), "\\xc3\\xa9");
  EXPECT_EQ(printable_name(""), "");
}

TEST(file_name, printable_name_cuts_long_names) {
  const std::string eighty(80, 'a');
  EXPECT_EQ(printable_name(eighty), eighty);
  EXPECT_EQ(printable_name(eighty + "b"), eighty + "...");
  EXPECT_EQ(printable_name(std::string(70000, 'z')), std::string(80, 'z') + "...");
  // Escapes count towards the limit.
  const std::string shown = printable_name(std::string(100, '\n'));
  EXPECT_EQ(shown, [] {
    std::string s;
    for (int i = 0; i < 20; ++i)
      s += "\\x0a";
    return s + "...";
  }());
}

} // namespace
