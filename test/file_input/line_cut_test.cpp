// cut_lines: where the file input cuts what it read in line mode.

#include "actors/file_input/line_cut.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using logpipe::cut_lines;

struct cut_case {
  std::string what;
  std::string data;
  std::size_t max_line;
  bool dead;
  std::size_t length;
  bool split;
};

TEST(line_cut, table) {
  const std::string long_line(100, 'x');
  const std::vector<cut_case> cases{
      {"nothing read", "", 10, false, 0, false},
      {"several lines: cut after the last newline", "one\ntwo\nthr", 100, false, 8, false},
      {"ends exactly with a newline", "one\ntwo\n", 100, false, 8, false},
      {"only a newline", "\n", 100, false, 1, false},
      {"empty lines", "\n\n\n", 2, false, 3, false},
      {"no newline, shorter than max_line: wait", "partial", 100, false, 0, false},
      {"no newline, one byte short of max_line: wait", std::string(9, 'x'), 10, false,
       0, false},
      {"no newline, exactly max_line: split", std::string(10, 'x'), 10, false, 10, true},
      {"no newline, more than max_line: split at max_line", long_line, 10, false, 10,
       true},
      // A line longer than max_line ends the block before it, so that it
      // starts the next block, where it is split into max_line pieces.
      {"long line before the last newline", "a\n" + long_line + "\nb", 10, false, 2, false},
      {"only a long line, then its newline", long_line + "\n", 10, false, 10, true},
      {"a line of exactly max_line is whole", std::string(10, 'x') + "\nb", 10, false, 11,
       false},
      // A long incomplete line after the last newline waits for the next
      // call, which then sees it alone and splits it.
      {"long incomplete line after the last newline", "a\n" + long_line, 10, false, 2,
       false},
      {"newline as the very first byte", "\n" + long_line, 10, false, 1, false},
      // Dead file (deleted or rotated away, fully read): everything goes.
      {"dead file: incomplete last line", "one\ntwo", 100, true, 7, false},
      {"dead file: no newline at all", "partial", 100, true, 7, false},
      {"dead file: longer than max_line", long_line, 10, true, 100, false},
      {"dead file: ends with a newline", "one\n", 100, true, 4, false},
      {"dead file: nothing", "", 100, true, 0, false},
      // max_line 0: no limit.
      {"max_line 0 never splits", long_line, 0, false, 0, false},
      {"max_line 0 still cuts at newlines", "a\nb", 0, false, 2, false},
      // Bytes that are not text.
      {"NUL bytes", std::string("a\0b\nc\0", 6), 100, false, 4, false},
  };
  for (const auto& c : cases) {
    const auto cut = cut_lines(c.data.data(), c.data.size(), c.max_line, c.dead);
    EXPECT_EQ(cut.length, c.length) << c.what;
    EXPECT_EQ(cut.split, c.split) << c.what;
  }
}

TEST(line_cut, default_is_a_live_file) {
  const std::string data = "one\ntwo";
  EXPECT_EQ(cut_lines(data.data(), data.size(), 100).length, 4u);
}

TEST(line_cut, only_the_given_size_is_looked_at) {
  const std::string data = "abc\ndef\n";
  const auto cut = cut_lines(data.data(), 6, 100); // "abc\nde"
  EXPECT_EQ(cut.length, 4u);
  EXPECT_FALSE(cut.split);
}

TEST(line_cut, repeated_cuts_ship_every_byte_once) {
  // Feeding the rest back, as the file input does, ships the whole data in
  // blocks that each end at a newline or are max_line bytes of a long line.
  const std::string data = "short\n" + std::string(25, 'L') + "\nmid line\n" +
                           std::string(10, 'M') + "\nend";
  std::vector<std::string> blocks;
  std::size_t pos = 0;
  for (int guard = 0; guard < 100 && pos < data.size(); ++guard) {
    // The reader sees at most 12 bytes at a time.
    const std::size_t avail = std::min<std::size_t>(12, data.size() - pos);
    const bool dead = pos + avail == data.size() && avail < 12;
    auto cut = cut_lines(data.data() + pos, avail, 10, dead);
    if (cut.length == 0)
      break;
    blocks.push_back(data.substr(pos, cut.length));
    pos += cut.length;
  }
  const std::vector<std::string> expected{
      "short\n", "LLLLLLLLLL", "LLLLLLLLLL", "LLLLL\n", "mid line\n",
      "MMMMMMMMMM\n", "end"};
  EXPECT_EQ(blocks, expected);
}

} // namespace
