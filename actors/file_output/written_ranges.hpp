#pragma once

// Which source bytes an output file already holds, so that blocks sent again
// (delivery is at least once between agents) are not written twice.
//
// An output file mirrors one generation of a source file (a source_id) at a
// time: file position = source offset + delta. The bytes written of that
// generation end at source offset `file size - delta`; the file itself is the
// truth for that end, so nothing but (source_id, delta) is recorded, and only
// when it changes (new generation, gap, rotation). Records survive a crash in
// an append-only journal, compacted at start and when it grows.

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace logpipe {

/// Where the generation an output file mirrors lies in it.
struct source_position {
  std::uint64_t source_id = 0;
  /// File position = source offset + delta.
  std::int64_t delta = 0;
};

/// What written_ranges decided for a block.
struct range_decision {
  enum change_kind {
    /// The record holds as it is.
    none,
    /// No record, or one for another source_id: the block starts a new one.
    new_generation,
    /// The file is shorter than the record says (truncated or deleted by
    /// someone): started again as a new generation.
    restarted,
    /// The block starts after the bytes written: some never came.
    gap,
    /// Offsets or sizes too large to track: the block is written as it
    /// comes and the record dropped.
    untracked,
  };
  change_kind change = none;
  /// Leading bytes of the block already in the file: not to write again.
  std::uint64_t duplicate = 0;
  /// Source offset where the written bytes ended before this block (for
  /// gap and restarted: what the record said).
  std::int64_t end = 0;
};

class written_ranges {
public:
  /// Offsets, sizes and deltas beyond this are not tracked (no overflow in
  /// the signed arithmetic, whatever a sender claims).
  static constexpr std::uint64_t max_position = std::uint64_t{1} << 61;

  /// `journal_path`: the journal's file (its folder must exist); "" keeps
  /// the records in memory only. The journal is compacted when it holds
  /// more than 2 * records + `compact_slack` lines.
  explicit written_ranges(std::string journal_path, std::size_t compact_slack = 4096);
  ~written_ranges();

  written_ranges(const written_ranges&) = delete;
  written_ranges& operator=(const written_ranges&) = delete;

  /// Reads the journal (the last line per path wins; a torn last line, or
  /// any malformed line, is ignored) and rewrites it compacted. Returns
  /// what went wrong, for a log line ("" if nothing). Whatever happens, the
  /// records are usable: a lost record only means duplicates written.
  std::string load();

  /// Decides for a block of `length` source bytes of generation `source_id`
  /// starting at source offset `offset`, to be appended to the file `path`
  /// (relative to the output folder) whose size is now `file_size`. A
  /// changed record is journaled before this returns, i.e. before the
  /// caller writes the block's bytes.
  range_decision decide(const std::string& path, std::uint64_t file_size,
                        std::uint64_t source_id, std::uint64_t offset,
                        std::uint64_t length);

  /// The file `path` was rotated at `old_size` bytes; the new one is empty:
  /// the generation goes on in it.
  void rotated(const std::string& path, std::uint64_t old_size);

  /// Bytes that are not source bytes are about to be appended to `path`:
  /// its record no longer holds.
  void forget(const std::string& path);

  /// The record of `path`, or nullptr.
  const source_position* find(const std::string& path) const;
  std::size_t size() const { return records_.size(); }
  /// Lines in the journal after its header.
  std::size_t journal_lines() const { return lines_; }
  const std::string& journal_path() const { return path_; }

  /// The journal error since the previous call ("" if none): the first of
  /// a run of failures only. After a failure the next change rewrites the
  /// whole journal.
  std::string take_error();

private:
  void set(const std::string& path, const source_position& pos);
  /// Appends the record line of `path` (or rewrites the journal after an
  /// error, or when it has grown too long).
  void persist(const std::string& path, const source_position& pos);
  /// Rewrites the journal with one line per record (temporary file, rename)
  /// and opens it for appending; false and error_ set on failure.
  bool compact();
  void close_journal();
  /// Records a journal error, unless one of the same run is already told.
  void fail(std::string why);

  std::string path_;
  std::size_t compact_slack_;
  std::unordered_map<std::string, source_position> records_;
  /// The journal, open for appending; -1 when closed or broken.
  int fd_ = -1;
  std::size_t lines_ = 0;
  std::string error_;
  /// The journal failed and has not been rewritten since.
  bool failing_ = false;
};

} // namespace logpipe
