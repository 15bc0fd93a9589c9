// written_ranges alone: what a block of a given generation and offset does to
// a file of a given size, the journal across restarts (a new instance on the
// same file, as after a kill -9), torn and malformed lines, compaction.

#include "actors/file_output/written_ranges.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace logpipe::test {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t s1 = 0x1111;
constexpr std::uint64_t s2 = 0x2222;

class written_ranges_test : public ::testing::Test {
protected:
  written_ranges_test() {
    std::string tmpl = (fs::temp_directory_path() / "logpipe-ranges-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    journal = (dir / "file-output-out.positions").string();
  }

  ~written_ranges_test() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  std::string journal_text() const {
    std::ifstream in(journal, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  void append_to_journal(const std::string& text) const {
    std::ofstream(journal, std::ios::binary | std::ios::app) << text;
  }

  fs::path dir;
  std::string journal;
};

TEST_F(written_ranges_test, a_first_block_starts_a_generation_and_writes_everything) {
  written_ranges r(journal);
  EXPECT_EQ(r.load(), "");
  auto d = r.decide("web/app.log", 500, s1, 100, 50);
  EXPECT_EQ(d.change, range_decision::new_generation);
  EXPECT_EQ(d.duplicate, 0u);
  ASSERT_NE(r.find("web/app.log"), nullptr);
  EXPECT_EQ(r.find("web/app.log")->source_id, s1);
  EXPECT_EQ(r.find("web/app.log")->delta, 400); // file position 500 = offset 100 + 400
  EXPECT_EQ(journal_text(), "logpipe-file-positions 1\n4369 400 web/app.log\n");
}

TEST_F(written_ranges_test, a_block_already_written_is_a_duplicate) {
  written_ranges r(journal);
  r.load();
  r.decide("a", 0, s1, 0, 100);
  // The file now holds source bytes [0, 100).
  auto d = r.decide("a", 100, s1, 40, 60);
  EXPECT_EQ(d.change, range_decision::none);
  EXPECT_EQ(d.duplicate, 60u);
  EXPECT_EQ(d.end, 100);
  EXPECT_EQ(r.decide("a", 100, s1, 0, 100).duplicate, 100u);
  EXPECT_EQ(r.journal_lines(), 1u) << "a skip changes no record";
}

TEST_F(written_ranges_test, a_partial_overlap_leaves_out_only_what_is_written) {
  written_ranges r(journal);
  r.load();
  r.decide("a", 0, s1, 0, 100);
  auto d = r.decide("a", 100, s1, 70, 50);
  EXPECT_EQ(d.change, range_decision::none);
  EXPECT_EQ(d.duplicate, 30u);
  EXPECT_EQ(r.find("a")->delta, 0);
}

TEST_F(written_ranges_test, a_block_at_the_end_is_written_whole) {
  written_ranges r(journal);
  r.load();
  r.decide("a", 10, s1, 0, 100); // delta 10
  auto d = r.decide("a", 110, s1, 100, 20);
  EXPECT_EQ(d.change, range_decision::none);
  EXPECT_EQ(d.duplicate, 0u);
  EXPECT_EQ(r.find("a")->delta, 10);
  EXPECT_EQ(r.journal_lines(), 1u);
}

TEST_F(written_ranges_test, a_gap_upstream_moves_the_delta) {
  written_ranges r(journal);
  r.load();
  r.decide("a", 0, s1, 0, 100);
  auto d = r.decide("a", 100, s1, 150, 10);
  EXPECT_EQ(d.change, range_decision::gap);
  EXPECT_EQ(d.end, 100);
  EXPECT_EQ(d.duplicate, 0u);
  EXPECT_EQ(r.find("a")->delta, -50); // offset 150 at file position 100
  // Re-sent, the block after the gap is now a duplicate.
  EXPECT_EQ(r.decide("a", 110, s1, 150, 10).duplicate, 10u);
}

TEST_F(written_ranges_test, another_source_id_starts_a_new_generation) {
  written_ranges r(journal);
  r.load();
  r.decide("a", 0, s1, 0, 100);
  auto d = r.decide("a", 100, s2, 0, 30);
  EXPECT_EQ(d.change, range_decision::new_generation);
  EXPECT_EQ(d.duplicate, 0u);
  EXPECT_EQ(r.find("a")->source_id, s2);
  EXPECT_EQ(r.find("a")->delta, 100);
  // A block of the first generation sent again is written again: only one
  // generation per file is remembered.
  EXPECT_EQ(r.decide("a", 130, s1, 0, 100).change, range_decision::new_generation);
}

TEST_F(written_ranges_test, a_file_shorter_than_the_delta_says_starts_again) {
  written_ranges r(journal);
  r.load();
  r.decide("a", 1000, s1, 0, 100); // delta 1000
  auto d = r.decide("a", 0, s1, 100, 10); // someone truncated the file
  EXPECT_EQ(d.change, range_decision::restarted);
  EXPECT_EQ(d.duplicate, 0u);
  EXPECT_EQ(r.find("a")->delta, -100);
}

TEST_F(written_ranges_test, rotation_continues_the_generation_in_the_new_file) {
  written_ranges r(journal);
  r.load();
  r.decide("a", 20, s1, 0, 100); // delta 20, the file ends at 120 = offset 100
  r.rotated("a", 120);
  EXPECT_EQ(r.find("a")->delta, -100);
  EXPECT_EQ(r.decide("a", 0, s1, 50, 50).duplicate, 50u) << "in the rotated file";
  auto d = r.decide("a", 0, s1, 100, 10);
  EXPECT_EQ(d.change, range_decision::none);
  EXPECT_EQ(d.duplicate, 0u);
  r.rotated("b", 10); // no record: nothing to do
  EXPECT_EQ(r.find("b"), nullptr);
}

TEST_F(written_ranges_test, forget_drops_the_record) {
  written_ranges r(journal);
  r.load();
  r.decide("a", 0, s1, 0, 100);
  r.forget("a");
  EXPECT_EQ(r.find("a"), nullptr);
  EXPECT_EQ(r.decide("a", 150, s1, 0, 100).change, range_decision::new_generation);
  r.forget("a");
  written_ranges again(journal);
  again.load();
  EXPECT_EQ(again.find("a"), nullptr) << "the forgetting was not journaled";
}

TEST_F(written_ranges_test, offsets_too_large_to_track_are_not_tracked) {
  written_ranges r(journal);
  r.load();
  r.decide("a", 0, s1, 0, 100);
  auto d = r.decide("a", 100, s1, UINT64_MAX - 5, 10);
  EXPECT_EQ(d.change, range_decision::untracked);
  EXPECT_EQ(d.duplicate, 0u);
  EXPECT_EQ(r.find("a"), nullptr);
  EXPECT_EQ(r.decide("b", UINT64_MAX, s1, 0, 10).change, range_decision::untracked);
  EXPECT_EQ(r.decide("c", 0, 0, 0, 10).change, range_decision::untracked);
}

TEST_F(written_ranges_test, the_journal_survives_a_restart_last_line_wins) {
  {
    written_ranges r(journal);
    r.load();
    r.decide("a", 0, s1, 0, 100);
    r.decide("b", 7, s2, 0, 10);
    r.decide("a", 100, s1, 300, 10); // gap: delta -200
    r.rotated("b", 17);              // delta -10
    // No destructor work matters: the lines were written already.
  }
  written_ranges r(journal);
  EXPECT_EQ(r.load(), "");
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r.find("a")->source_id, s1);
  EXPECT_EQ(r.find("a")->delta, -200);
  EXPECT_EQ(r.find("b")->source_id, s2);
  EXPECT_EQ(r.find("b")->delta, -10);
  EXPECT_EQ(r.decide("a", 110, s1, 300, 10).duplicate, 10u);
}

TEST_F(written_ranges_test, a_torn_last_line_is_ignored) {
  {
    written_ranges r(journal);
    r.load();
    r.decide("a", 0, s1, 0, 100);
  }
  append_to_journal("4369 -5000 a"); // no newline: killed mid-write
  written_ranges r(journal);
  EXPECT_EQ(r.load(), "") << "a torn line is what a crash leaves: not worth a warning";
  EXPECT_EQ(r.find("a")->delta, 0);
  EXPECT_EQ(journal_text(), "logpipe-file-positions 1\n4369 0 a\n") << "the torn line is gone";
  // Appends go on after a clean line.
  r.decide("b", 0, s1, 0, 1);
  written_ranges again(journal);
  again.load();
  EXPECT_EQ(again.size(), 2u);
}

TEST_F(written_ranges_test, load_compacts_the_journal) {
  {
    written_ranges r(journal);
    r.load();
    for (std::uint64_t i = 0; i < 20; ++i)
      r.decide("a", 0, s1 + i, 0, 10); // a new generation each time
    r.decide("b", 0, s2, 0, 10);
    EXPECT_EQ(r.journal_lines(), 21u);
  }
  written_ranges r(journal);
  r.load();
  EXPECT_EQ(r.journal_lines(), 2u);
  const auto text = journal_text();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
  EXPECT_EQ(r.find("a")->source_id, s1 + 19);
  EXPECT_FALSE(fs::exists(journal + ".tmp"));
}

TEST_F(written_ranges_test, a_journal_with_many_more_lines_than_paths_is_compacted) {
  written_ranges r(journal, 10);
  r.load();
  for (std::uint64_t i = 0; i < 100; ++i)
    r.decide("a", 0, s1 + i, 0, 10);
  // Never more than 2 * records + slack lines.
  EXPECT_LE(r.journal_lines(), 12u);
  const auto text = journal_text();
  EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 13);
  written_ranges again(journal);
  again.load();
  EXPECT_EQ(again.find("a")->source_id, s1 + 99) << "lost by the compaction";
}

TEST_F(written_ranges_test, any_path_bytes_survive_the_journal) {
  const std::string hostile[] = {"host/my app.log", "host/100%.log", "h/a\nb",
                                 std::string("h/\x01\x7f\xff\xc3\xa9", 7), "h/%41", "h/-"};
  {
    written_ranges r(journal);
    r.load();
    std::uint64_t id = 1;
    for (const auto& path : hostile) {
      r.decide(path, id, id, 0, 1);
      ++id;
    }
  }
  const auto text = journal_text();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 7) << text;
  written_ranges r(journal);
  EXPECT_EQ(r.load(), "");
  std::uint64_t id = 1;
  for (const auto& path : hostile) {
    ASSERT_NE(r.find(path), nullptr) << path;
    EXPECT_EQ(r.find(path)->source_id, id++) << path;
  }
  EXPECT_EQ(r.find("h/A"), nullptr) << "%41 was decoded";
}

TEST_F(written_ranges_test, malformed_lines_are_skipped_and_reported) {
  append_to_journal("logpipe-file-positions 1\n"
                    "4369 10 good\n"
                    "x 10 bad-id\n"
                    "4369 1e3 bad-delta\n"
                    "4369 99999999999999999999 too-big\n"
                    "4369 10 bad%2escape%G1\n"
                    "4369 10\n"
                    "4369 10 space in-path\n");
  written_ranges r(journal);
  const auto problem = r.load();
  EXPECT_NE(problem.find("ignored 6 malformed lines"), std::string::npos) << problem;
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.find("good")->delta, 10);
}

TEST_F(written_ranges_test, a_file_that_is_not_a_journal_is_ignored_and_replaced) {
  append_to_journal("something else\n4369 10 a\n");
  written_ranges r(journal);
  const auto problem = r.load();
  EXPECT_NE(problem.find("not a positions journal"), std::string::npos) << problem;
  EXPECT_EQ(r.size(), 0u);
  EXPECT_EQ(journal_text(), "logpipe-file-positions 1\n");
}

TEST_F(written_ranges_test, a_journal_that_cannot_be_written_is_said_once_and_memory_works) {
  written_ranges r((dir / "missing" / "j.positions").string());
  EXPECT_NE(r.load().find("cannot create"), std::string::npos);
  r.decide("a", 0, s1, 0, 100);
  EXPECT_EQ(r.take_error(), "") << "the same run of failures is told once";
  EXPECT_EQ(r.decide("a", 100, s1, 0, 100).duplicate, 100u);
  // Once the folder exists, the next change rewrites the whole journal.
  fs::create_directories(dir / "missing");
  r.decide("b", 0, s2, 0, 1);
  EXPECT_EQ(r.take_error(), "");
  written_ranges again((dir / "missing" / "j.positions").string());
  again.load();
  EXPECT_EQ(again.size(), 2u);
}

TEST_F(written_ranges_test, without_a_journal_path_records_live_in_memory) {
  written_ranges r("");
  EXPECT_EQ(r.load(), "");
  r.decide("a", 0, s1, 0, 100);
  EXPECT_EQ(r.decide("a", 100, s1, 0, 100).duplicate, 100u);
  EXPECT_EQ(r.take_error(), "");
  EXPECT_TRUE(fs::is_empty(dir));
}

} // namespace
} // namespace logpipe::test
