// glob_match and name_filter: `*`, `?`, literals (dots included), empty
// patterns and names, bytes that are not ASCII, patterns that would make a
// recursive matcher explode, and include/exclude lists.

#include "actors/file_input/glob.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

using logpipe::glob_match;
using logpipe::name_filter;

struct glob_case {
  std::string pattern;
  std::string name;
  bool matches;
};

TEST(glob, match_table) {
  const std::vector<glob_case> cases{
      // Empty pattern: only the empty name.
      {"", "", true},
      {"", "a", false},
      {"a", "", false},
      // `*` alone and around literals.
      {"*", "", true},
      {"*", "app.log", true},
      {"**", "app.log", true},
      {"*.log", "app.log", true},
      {"*.log", ".log", true},
      {"*.log", "app.log.1", false},
      {"*.log", "app.txt", false},
      {"*.log*", "app.log.1", true},
      {"app*", "app", true},
      {"app*", "ap", false},
      {"a*b*c", "abc", true},
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "aXbYcZ", false},
      {"a*b*c", "acb", false},
      {"*b", "bbb", true},
      {"*ab", "aab", true},
      {"*ab", "aba", false},
      // `?`: exactly one character.
      {"?", "", false},
      {"?", "a", true},
      {"?", "ab", false},
      {"app.log.?", "app.log.1", true},
      {"app.log.?", "app.log.12", false},
      {"app.log.?", "app.log.", false},
      {"??.log", "ab.log", true},
      {"?*", "", false},
      {"?*", "x", true},
      {"*?", "xyz", true},
      // Dots are literals, not "any character".
      {"app.log", "app.log", true},
      {"app.log", "appxlog", false},
      {"*.*", "nodot", false},
      {"*.*", "a.b", true},
      // Other pattern characters are literals too (no classes, no escapes).
      {"[ab].log", "a.log", false},
      {"[ab].log", "[ab].log", true},
      {"\\*.log", "\\x.log", true},
      {"\\*.log", "*.log", false},
      // Matching is case sensitive.
      {"*.LOG", "app.log", false},
      // Spaces.
      {"my app*.log", "my app 2.log", true},
      {"* *", "nospace", false},
      {"* *", "a b", true},
      // UTF-8: literals byte for byte, `?` one whole character.
      {"caf\xc3\xa9.log", "caf\xc3\xa9.log", true},
      {"caf?.log", "caf\xc3\xa9.log", true},         // é is 2 bytes
      {"caf??.log", "caf\xc3\xa9.log", false},
      {"?.log", "\xe2\x82\xac.log", true},            // € is 3 bytes
      {"?.log", "\xf0\x9f\x98\x80.log", true},        // 😀 is 4 bytes
      {"x*??", "x\xe2\x82\xac", false},               // one character after x
      {"x*?", "x\xe2\x82\xac", true},
      {"*\xc3\xa9*", "r\xc3\xa9sum\xc3\xa9", true},
      // Bytes that are not UTF-8 count one each.
      {"?", "\xff", true},
      {"??", "\xc3(", true},                          // bad sequence: 2 bytes
      {"?", "\xc3", true},                            // cut sequence
      {"a?b", "a\x01" "b", true},
  };
  for (const auto& c : cases)
    EXPECT_EQ(glob_match(c.pattern, c.name), c.matches)
        << "pattern '" << c.pattern << "' name '" << c.name << "'";
}

TEST(glob, many_stars_do_not_explode) {
  // A recursive matcher needs exponential time here; the iterative one takes
  // at most pattern length x name length steps.
  std::string pattern;
  for (int i = 0; i < 40; ++i)
    pattern += "*a";
  pattern += "*b";
  const std::string name(5000, 'a');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(glob_match(pattern, name));
  EXPECT_TRUE(glob_match(pattern, name + "b"));
  EXPECT_TRUE(glob_match(pattern, std::string(40, 'a') + "b"));
  EXPECT_FALSE(glob_match(pattern, std::string(39, 'a') + "b")); // one `a` short
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST(glob, filter_empty_include_takes_everything) {
  const name_filter all({}, {});
  EXPECT_TRUE(all.accepts("app.log"));
  EXPECT_TRUE(all.accepts(""));
  EXPECT_TRUE(all.accepts("x y"));
}

TEST(glob, filter_include_any_of) {
  const name_filter f({"*.log", "*.txt"}, {});
  EXPECT_TRUE(f.accepts("a.log"));
  EXPECT_TRUE(f.accepts("a.txt"));
  EXPECT_FALSE(f.accepts("a.csv"));
  EXPECT_FALSE(f.accepts(""));
}

TEST(glob, filter_exclude_after_include) {
  const name_filter f({"*.log"}, {"debug*", "*.tmp.log"});
  EXPECT_TRUE(f.accepts("app.log"));
  EXPECT_FALSE(f.accepts("debug.log"));     // included, then excluded
  EXPECT_FALSE(f.accepts("app.tmp.log"));
  EXPECT_FALSE(f.accepts("debug.txt"));     // never included
  EXPECT_TRUE(f.accepts("my debug.log"));   // exclude is anchored at the start
}

TEST(glob, filter_exclude_only) {
  const name_filter f({}, {"*.gz"});
  EXPECT_TRUE(f.accepts("app.log"));
  EXPECT_FALSE(f.accepts("app.log.gz"));
}

TEST(glob, filter_empty_pattern_matches_only_empty_name) {
  const name_filter f({""}, {});
  EXPECT_FALSE(f.accepts("app.log"));
  EXPECT_TRUE(f.accepts(""));
}

} // namespace
