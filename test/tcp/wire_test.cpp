// The logpipe 1.x wire codec: the exact bytes of /work/shared/WIRE.md's
// example, blocks cut at 102,399 bytes, deflate blocks (complete and 1.x's
// truncated streams), input split at every byte and at random, and each
// protocol error the decoder must catch (with the blocks before it kept).

#include "actors/tcp/wire.hpp"

#include "actors/shared/deflate.hpp"
#include "actors/shared/file_name.hpp"

#include "test/support/log_text.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace logpipe;
using logpipe::test::log_text;
using wire::block;
using wire::decoder;
using wire::decoder_limits;

std::vector<char> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

std::string as_string(const std::vector<char>& v) {
  return {v.begin(), v.end()};
}

std::string pattern(std::size_t size, std::uint32_t seed = 1) {
  std::mt19937 gen(seed);
  std::string s(size, '\0');
  for (auto& c : s)
    c = static_cast<char>(gen() & 0xFF);
  return s;
}

std::vector<char> encode(const std::string& name, const std::string& data,
                         std::size_t max_block = wire::max_block_1x) {
  std::vector<char> out;
  wire::encode_message(name, data.data(), data.size(), out, max_block);
  return out;
}

// The header of a message as raw bytes: '@', big-endian length, name.
std::string header(const std::string& name) {
  std::string h = "@";
  h += static_cast<char>(name.size() >> 8);
  h += static_cast<char>(name.size() & 0xFF);
  return h + name;
}

std::string length_field(std::uint32_t length, std::uint32_t padding = 0) {
  std::string f;
  for (int shift = 24; shift >= 0; shift -= 8)
    f += static_cast<char>((length >> shift) & 0xFF);
  for (int shift = 24; shift >= 0; shift -= 8)
    f += static_cast<char>((padding >> shift) & 0xFF);
  return f;
}

const std::string terminator(8, '\0');

struct decoded {
  bool ok = true;
  std::vector<block> blocks;
  std::string error;
  bool between_messages = false;
  bool inside_block = false;
};

decoded decode_in_pieces(const std::vector<char>& stream, const std::vector<std::size_t>& cuts,
                         decoder_limits limits = {}) {
  decoder d(limits);
  decoded r;
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    r.ok = d.feed(stream.data() + at, cut - at, r.blocks) && r.ok;
    at = cut;
  }
  r.ok = d.feed(stream.data() + at, stream.size() - at, r.blocks) && r.ok;
  r.error = d.error();
  r.between_messages = d.between_messages();
  r.inside_block = d.inside_block();
  return r;
}

decoded decode(const std::vector<char>& stream, decoder_limits limits = {}) {
  return decode_in_pieces(stream, {}, limits);
}

decoded decode(const std::string& stream, decoder_limits limits = {}) {
  return decode(bytes_of(stream), limits);
}

// ---- encoding

TEST(wire, encodes_the_small_log_example_byte_for_byte) {
  const std::string data = pattern(102399);
  const auto out = encode("small.log", data);
  const std::vector<unsigned char> head = {0x40, 0x00, 0x09, 's',  'm',  'a',  'l',  'l',
                                           '.',  'l',  'o',  'g',  0x00, 0x01, 0x8f, 0xff,
                                           0x00, 0x00, 0x00, 0x00};
  ASSERT_EQ(out.size(), head.size() + 102399 + 8);
  for (std::size_t i = 0; i < head.size(); ++i)
    EXPECT_EQ(static_cast<unsigned char>(out[i]), head[i]) << "at byte " << i;
  EXPECT_EQ(std::string(out.begin() + head.size(), out.begin() + head.size() + 102399), data);
  EXPECT_EQ(std::string(out.end() - 8, out.end()), terminator);
}

TEST(wire, encodes_an_empty_message_as_header_and_terminator) {
  const auto out = encode("a", "");
  EXPECT_EQ(as_string(out), std::string("@\x00\x01" "a", 4) + terminator);
}

TEST(wire, cuts_250000_bytes_into_blocks_of_at_most_102399) {
  const std::string data = pattern(250000);
  const auto out = encode("big.log", data);
  EXPECT_EQ(out.size(), wire::message_overhead + 7 + data.size() + 3 * wire::block_overhead);
  const std::string expected = header("big.log") + length_field(102399) + data.substr(0, 102399)
                               + length_field(102399) + data.substr(102399, 102399)
                               + length_field(45202) + data.substr(204798) + terminator;
  EXPECT_EQ(as_string(out), expected);

  const auto r = decode(out);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.blocks.size(), 3u);
  EXPECT_EQ(r.blocks[0].bytes.size(), 102399u);
  EXPECT_EQ(r.blocks[1].bytes.size(), 102399u);
  EXPECT_EQ(r.blocks[2].bytes.size(), 45202u);
}

TEST(wire, cuts_at_the_given_block_size) {
  const auto out = encode("f", "abcdefg", 3);
  EXPECT_EQ(as_string(out), header("f") + length_field(3) + "abc" + length_field(3) + "def"
                              + length_field(1) + "g" + terminator);
}

TEST(wire, appends_to_what_the_buffer_holds) {
  std::vector<char> out = {'x'};
  wire::encode_message("f", "ab", 2, out);
  EXPECT_EQ(as_string(out), "x" + header("f") + length_field(2) + "ab" + terminator);
}

TEST(wire, encode_rejects_a_name_the_length_field_cannot_carry) {
  std::vector<char> out;
  const std::string longest(65535, 'n');
  EXPECT_NO_THROW(wire::encode_message(longest, "x", 1, out));
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 0xffu);
  EXPECT_EQ(static_cast<unsigned char>(out[2]), 0xffu);
  const std::string too_long(65536, 'n');
  EXPECT_THROW(wire::encode_message(too_long, "x", 1, out), std::invalid_argument);
}

TEST(wire, encode_rejects_a_block_size_of_zero) {
  std::vector<char> out;
  EXPECT_THROW(wire::encode_message("f", "x", 1, out, 0), std::invalid_argument);
  EXPECT_TRUE(out.empty());
}

// ---- decoding

TEST(wire, decodes_the_small_log_example) {
  const std::string data = pattern(102399, 7);
  const auto r = decode(header("small.log") + length_field(102399) + data + terminator);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.blocks.size(), 1u);
  EXPECT_EQ(r.blocks[0].file_name, "small.log");
  EXPECT_EQ(as_string(r.blocks[0].bytes), data);
  EXPECT_TRUE(r.between_messages);
  EXPECT_FALSE(r.inside_block);
  EXPECT_TRUE(r.error.empty());
}

TEST(wire, a_terminator_only_message_gives_no_block) {
  const auto r = decode(header("empty.log") + terminator);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.blocks.empty());
  EXPECT_TRUE(r.between_messages);
}

TEST(wire, decodes_several_messages_of_different_files_on_one_stream) {
  std::vector<char> stream;
  const std::string a1 = log_text(300), b1 = log_text(150000), a2 = "tail\n";
  wire::encode_message("a.log", a1.data(), a1.size(), stream);
  wire::encode_message("b.log", b1.data(), b1.size(), stream);
  wire::encode_message("c.log", nullptr, 0, stream);
  wire::encode_message("a.log", a2.data(), a2.size(), stream);

  const auto r = decode(stream);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.blocks.size(), 4u);
  EXPECT_EQ(r.blocks[0].file_name, "a.log");
  EXPECT_EQ(as_string(r.blocks[0].bytes), a1);
  EXPECT_EQ(r.blocks[1].file_name, "b.log");
  EXPECT_EQ(r.blocks[2].file_name, "b.log");
  EXPECT_EQ(as_string(r.blocks[1].bytes) + as_string(r.blocks[2].bytes), b1);
  EXPECT_EQ(r.blocks[3].file_name, "a.log");
  EXPECT_EQ(as_string(r.blocks[3].bytes), a2);
  EXPECT_TRUE(r.between_messages);
}

std::vector<char> mixed_stream() {
  std::vector<char> stream;
  const std::string a = log_text(5000), b = pattern(2500, 3), c = "x";
  wire::encode_message("first.log", a.data(), a.size(), stream, 1000);
  wire::encode_message("second", nullptr, 0, stream);
  wire::encode_message("third.log", b.data(), b.size(), stream, 777);
  wire::encode_message("4", c.data(), c.size(), stream);
  return stream;
}

void expect_same_blocks(const std::vector<block>& got, const std::vector<block>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].file_name, want[i].file_name) << "block " << i;
    EXPECT_EQ(got[i].bytes, want[i].bytes) << "block " << i;
  }
}

TEST(wire, one_byte_at_a_time_gives_the_same_blocks) {
  const auto stream = mixed_stream();
  const auto whole = decode(stream);
  ASSERT_TRUE(whole.ok) << whole.error;
  ASSERT_EQ(whole.blocks.size(), 5u + 4u + 1u);

  decoder d;
  std::vector<block> blocks;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    ASSERT_TRUE(d.feed(&stream[i], 1, blocks)) << d.error();
    EXPECT_LE(d.buffered(), 1000u);
  }
  EXPECT_TRUE(d.between_messages());
  expect_same_blocks(blocks, whole.blocks);
}

TEST(wire, random_splits_give_the_same_blocks) {
  const auto stream = mixed_stream();
  const auto whole = decode(stream);
  ASSERT_TRUE(whole.ok) << whole.error;
  for (std::uint32_t seed = 1; seed <= 50; ++seed) {
    std::mt19937 gen(seed);
    std::vector<std::size_t> cuts;
    for (std::size_t at = 0;;) {
      at += std::uniform_int_distribution<std::size_t>(0, 40)(gen);
      if (at >= stream.size())
        break;
      cuts.push_back(at);
    }
    const auto r = decode_in_pieces(stream, cuts);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.error;
    EXPECT_TRUE(r.between_messages) << "seed " << seed;
    expect_same_blocks(r.blocks, whole.blocks);
  }
}

TEST(wire, empty_feeds_change_nothing) {
  decoder d;
  std::vector<block> blocks;
  EXPECT_TRUE(d.feed(nullptr, 0, blocks));
  EXPECT_TRUE(d.between_messages());
  const std::string part = header("f") + length_field(4) + "ab";
  EXPECT_TRUE(d.feed(part.data(), part.size(), blocks));
  EXPECT_TRUE(d.feed(part.data(), 0, blocks));
  EXPECT_TRUE(d.inside_block());
  EXPECT_EQ(d.buffered(), 2u);
  EXPECT_TRUE(blocks.empty());
}

TEST(wire, delivers_each_block_as_soon_as_it_is_complete) {
  decoder d;
  std::vector<block> blocks;
  const std::string first = header("f") + length_field(3) + "abc" + length_field(2) + "d";
  ASSERT_TRUE(d.feed(first.data(), first.size(), blocks));
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(as_string(blocks[0].bytes), "abc");
  EXPECT_FALSE(d.between_messages());
  const std::string rest = "e" + terminator;
  ASSERT_TRUE(d.feed(rest.data(), rest.size(), blocks));
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(as_string(blocks[1].bytes), "de");
  EXPECT_TRUE(d.between_messages());
}

TEST(wire, knows_where_the_stream_stopped) {
  const std::string stream = header("f.log") + length_field(10) + "0123456789" + terminator;
  for (std::size_t stop = 0; stop <= stream.size(); ++stop) {
    decoder d;
    std::vector<block> blocks;
    ASSERT_TRUE(d.feed(stream.data(), stop, blocks));
    const std::size_t data_start = header("f.log").size() + 8;
    const bool in_data = stop >= data_start && stop < data_start + 10;
    EXPECT_EQ(d.inside_block(), in_data) << "stopped after " << stop << " bytes";
    EXPECT_EQ(d.between_messages(), stop == 0 || stop == stream.size())
      << "stopped after " << stop << " bytes";
    EXPECT_EQ(d.buffered(), in_data ? stop - data_start : 0u) << "stopped after " << stop;
  }
}

TEST(wire, the_1x_block_limit_is_the_default) {
  const std::string longest = pattern(102399);
  auto r = decode(header("f") + length_field(102399) + longest + terminator);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.blocks.size(), 1u);

  r = decode(header("f") + length_field(102400));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("102400"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("102399"), std::string::npos) << r.error;
}

// ---- compressed blocks

TEST(wire, carries_a_deflate_block) {
  const std::string text = log_text(max_deflate_input);
  std::vector<char> compressed;
  deflate_block(text.data(), text.size(), default_compress_level, compressed);
  ASSERT_LE(compressed.size(), wire::max_block_1x);

  std::vector<char> stream;
  wire::encode_message("app.log", compressed.data(), compressed.size(), stream);
  const auto r = decode(stream);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.blocks.size(), 1u);
  EXPECT_EQ(r.blocks[0].bytes, compressed);

  std::vector<char> inflated;
  std::string error;
  ASSERT_TRUE(inflate_block(r.blocks[0].bytes.data(), r.blocks[0].bytes.size(), inflated, error))
    << error;
  EXPECT_EQ(as_string(inflated), text);
}

TEST(wire, carries_a_1x_deflate_block_missing_its_last_byte) {
  const std::string text = log_text(50000);
  std::vector<char> compressed;
  deflate_block(text.data(), text.size(), default_compress_level, compressed);
  compressed.pop_back(); // what a 1.x sender puts on the wire

  std::vector<char> stream;
  wire::encode_message("app.log", compressed.data(), compressed.size(), stream);
  const auto r = decode(stream);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.blocks.size(), 1u);
  ASSERT_EQ(r.blocks[0].bytes.size(), compressed.size());

  std::vector<char> inflated;
  std::string error;
  ASSERT_TRUE(inflate_block(r.blocks[0].bytes.data(), r.blocks[0].bytes.size(), inflated, error))
    << error;
  EXPECT_EQ(as_string(inflated), text);
}

// ---- protocol errors

TEST(wire, rejects_a_bad_magic_byte) {
  const auto r = decode("A" + header("f").substr(1) + terminator);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("magic"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("0x41"), std::string::npos) << r.error;
  EXPECT_TRUE(r.blocks.empty());
}

TEST(wire, rejects_a_bad_magic_byte_after_a_good_message) {
  const std::string good = header("f") + length_field(2) + "ok" + terminator;
  const auto r = decode(good + "\x01");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("0x01"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("byte " + std::to_string(good.size())), std::string::npos)
    << r.error;
  ASSERT_EQ(r.blocks.size(), 1u);
}

TEST(wire, rejects_non_zero_padding_in_a_length_field) {
  for (std::uint32_t padding : {0x00000001u, 0x01000000u, 0xffffffffu}) {
    const auto r = decode(header("f") + length_field(3, padding) + "abc" + terminator);
    EXPECT_FALSE(r.ok) << std::hex << padding;
    EXPECT_NE(r.error.find("padding"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("at byte 4 "), std::string::npos) << r.error; // where the field starts
    EXPECT_TRUE(r.blocks.empty());
  }
  // The terminator is a length field too.
  const auto r = decode(header("f") + length_field(0, 0x00000100));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("00 00 00 00 00 00 01 00"), std::string::npos) << r.error;
}

TEST(wire, rejects_a_block_over_max_block_before_reading_it) {
  decoder d(decoder_limits{255, 1000});
  std::vector<block> blocks;
  const std::string fits = header("f") + length_field(1000) + std::string(1000, 'x');
  ASSERT_TRUE(d.feed(fits.data(), fits.size(), blocks)) << d.error();
  ASSERT_EQ(blocks.size(), 1u);
  // Only the length field: the decoder must not wait for (or allocate) the data.
  const std::string too_long = length_field(1001);
  EXPECT_FALSE(d.feed(too_long.data(), too_long.size(), blocks));
  EXPECT_NE(d.error().find("1001"), std::string::npos) << d.error();
  EXPECT_NE(d.error().find("1000"), std::string::npos) << d.error();
  EXPECT_EQ(d.buffered(), 0u);
  EXPECT_EQ(blocks.size(), 1u);

  // The largest length the field can say.
  const auto r = decode(header("f") + length_field(0xffffffff));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("4294967295"), std::string::npos) << r.error;
}

TEST(wire, rejects_a_name_over_max_name_before_reading_it) {
  decoder d(decoder_limits{8, wire::max_block_1x});
  std::vector<block> blocks;
  const std::string fits = header("12345678") + length_field(1) + "x" + terminator;
  ASSERT_TRUE(d.feed(fits.data(), fits.size(), blocks)) << d.error();
  ASSERT_EQ(blocks.size(), 1u);
  const std::string head = header("123456789").substr(0, 3); // '@' and the length only
  EXPECT_FALSE(d.feed(head.data(), head.size(), blocks));
  EXPECT_NE(d.error().find("length 9"), std::string::npos) << d.error();
  EXPECT_NE(d.error().find("8 bytes"), std::string::npos) << d.error();

  const auto r = decode(std::string("@\xff\xff", 3));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("65535"), std::string::npos) << r.error;
}

TEST(wire, rejects_hostile_file_names) {
  const std::vector<std::string> names = {"../x", "/etc/passwd",        "a/b", "..",
                                          ".",    std::string("a\0b", 3), "\n",  ""};
  for (const auto& name : names) {
    const auto r = decode(header(name) + length_field(1) + "x" + terminator);
    EXPECT_FALSE(r.ok) << printable_name(name);
    EXPECT_TRUE(r.blocks.empty()) << printable_name(name);
    EXPECT_NE(r.error.find("\"" + printable_name(name) + "\""), std::string::npos) << r.error;
    EXPECT_NE(r.error.find(file_name_problem(name)), std::string::npos) << r.error;
  }
  // Shown escaped, so that the log line stays one line.
  const auto newline = decode(header("\n") + terminator);
  EXPECT_NE(newline.error.find("\"\\x0a\""), std::string::npos) << newline.error;
  EXPECT_EQ(newline.error.find('\n'), std::string::npos) << newline.error;
  const auto nul = decode(header(std::string("a\0b", 3)) + terminator);
  EXPECT_NE(nul.error.find("\"a\\x00b\""), std::string::npos) << nul.error;
}

TEST(wire, accepts_names_that_only_look_odd) {
  for (const std::string name :
       {"...", ".hidden", "a..b", "with space.log", "journal-\xc3\xa9.log"}) {
    const auto r = decode(header(name) + length_field(1) + "x" + terminator);
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].file_name, name);
  }
}

TEST(wire, keeps_the_blocks_completed_before_an_error) {
  const std::string stream = header("good.log") + length_field(2) + "ab" + length_field(3)
                             + "cde" + terminator + header("../evil") + length_field(1) + "x"
                             + terminator;
  const auto r = decode(stream);
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.blocks.size(), 2u);
  EXPECT_EQ(r.blocks[0].file_name, "good.log");
  EXPECT_EQ(as_string(r.blocks[0].bytes), "ab");
  EXPECT_EQ(as_string(r.blocks[1].bytes), "cde");
  EXPECT_NE(r.error.find("../evil"), std::string::npos) << r.error;
}

TEST(wire, accepts_nothing_after_an_error) {
  decoder d;
  std::vector<block> blocks;
  const std::string bad = "X";
  EXPECT_FALSE(d.feed(bad.data(), bad.size(), blocks));
  const std::string error = d.error();
  EXPECT_FALSE(error.empty());
  const std::string good = header("f") + length_field(1) + "x" + terminator;
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(d.feed(good.data(), good.size(), blocks));
    EXPECT_FALSE(d.feed(good.data(), 0, blocks));
  }
  EXPECT_TRUE(blocks.empty());
  EXPECT_EQ(d.error(), error);
  EXPECT_FALSE(d.between_messages());
  EXPECT_FALSE(d.inside_block());
}

TEST(wire, keeps_a_block_completed_in_the_feed_that_fails) {
  decoder d(decoder_limits{255, 100});
  std::vector<block> blocks;
  const std::string part = header("f") + length_field(100) + std::string(60, 'y');
  ASSERT_TRUE(d.feed(part.data(), part.size(), blocks));
  EXPECT_TRUE(d.inside_block());
  EXPECT_EQ(d.buffered(), 60u);
  const std::string rest = std::string(40, 'y') + length_field(5, 1);
  EXPECT_FALSE(d.feed(rest.data(), rest.size(), blocks));
  ASSERT_EQ(blocks.size(), 1u); // completed in the same feed as the error
  EXPECT_EQ(blocks[0].bytes.size(), 100u);
  EXPECT_EQ(d.buffered(), 0u);
}

} // namespace
