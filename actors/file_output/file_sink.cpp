#include "actors/file_output/file_sink.hpp"

#include "actors/core/logging.hpp"
#include "actors/shared/deflate.hpp"
#include "actors/shared/file_name.hpp"
#include "actors/shared/rotation.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/sec.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <exception>

namespace logpipe {

namespace {

using self_ptr = file_sink_actor::stateful_pointer<file_sink_state>;

constexpr auto hook_poll = std::chrono::milliseconds(50);

/// At most this many names are remembered as already logged; beyond, new
/// ones are still counted but no longer logged one by one.
constexpr std::size_t max_logged_names = 1024;

/// An inflate buffer grown beyond this (a block that inflated hugely) is
/// given back after use rather than kept for the next block.
constexpr std::size_t max_kept_inflate_buffer = 8 << 20;

std::string shown_name(const file_sink_state& st, const log_block& blk) {
  if (st.folder && st.folder->settings().layout == folder_layout::by_origin)
    return printable_name(blk.origin) + "/" + printable_name(blk.file_name);
  return printable_name(blk.file_name);
}

/// What "once per file" means: the file name, or origin and name by origin.
std::string log_key(const file_sink_state& st, const log_block& blk) {
  if (st.folder->settings().layout == folder_layout::by_origin)
    return blk.origin + '/' + blk.file_name;
  return blk.file_name;
}

/// True the first time a key is seen (while the set has room); says once
/// when it is full.
bool first_time(logged_once& logged, const std::string& key, const std::string& component,
                const char* what) {
  if (logged.seen.count(key))
    return false;
  if (logged.seen.size() >= max_logged_names) {
    if (!logged.full) {
      logged.full = true;
      log::warn("output {}: more than {} {}; further ones are only counted", component,
                max_logged_names, what);
    }
    return false;
  }
  logged.seen.insert(key);
  return true;
}

void schedule_tick(self_ptr self) {
  auto& st = self->state;
  if (st.tick_scheduled)
    return;
  st.tick_scheduled = true;
  self->delayed_send(self, hook_poll, tick_atom_v);
}

void start_after_hook(self_ptr self, const folder_rotation& r) {
  auto& st = self->state;
  if (st.exec_after_rotating.empty())
    return;
  try {
    st.hooks.start(st.exec_after_rotating, rotation_hook_env(r.folder, r.old_name, r.new_name),
                   self->clock().now());
    schedule_tick(self);
  } catch (const std::exception& e) {
    log::error("output {}: exec_after_rotating cannot start: {}", st.component, e.what());
  }
}

void ack(self_ptr self, const log_block& blk) {
  auto& st = self->state;
  self->send(st.bus, ack_atom_v, st.index, blk.input, blk.seq);
}

// A block whose name is refused is dropped: acked, counted, logged once.
void refuse(self_ptr self, const log_block& blk, const std::string& why) {
  auto& st = self->state;
  ++st.refused;
  if (first_time(st.refused_names, log_key(st, blk), st.component, "refused names"))
    log::warn("output {}: refused \"{}\" from \"{}\": {}; its blocks are dropped",
              st.component, printable_name(blk.file_name), printable_name(blk.origin), why);
  ack(self, blk);
}

void flush_burst(file_sink_state& st) {
  if (st.burst.bytes == 0)
    return;
  log::info("output {}: skipped {} bytes of {} already written", st.component,
            st.burst.bytes, st.burst.file);
  st.burst = duplicate_burst{};
}

// Counts skipped bytes; their line is logged when the burst ends (another
// file, or a tick with no new skips).
void note_duplicates(self_ptr self, const log_block& blk, std::uint64_t bytes) {
  auto& st = self->state;
  if (bytes == 0)
    return;
  st.duplicate_bytes += bytes;
  auto file = shown_name(st, blk);
  if (st.burst.bytes > 0 && st.burst.file != file)
    flush_burst(st);
  st.burst.file = std::move(file);
  st.burst.bytes += bytes;
  st.burst.grew = true;
  schedule_tick(self);
}

void report_journal_error(file_sink_state& st) {
  if (auto problem = st.ranges->take_error(); !problem.empty())
    log::error("output {}: {}; after a restart, re-sent blocks may be written twice",
               st.component, problem);
}

void report_change(const file_sink_state& st, const log_block& blk, const range_decision& d) {
  switch (d.change) {
    case range_decision::gap:
      log::notice("output {}: {}: source bytes {} to {} never came; writing on from {}",
                  st.component, shown_name(st, blk), d.end, blk.offset, blk.offset);
      return;
    case range_decision::restarted:
      log::notice("output {}: {} is shorter than what was written to it (truncated or "
                  "deleted?); writing on from source offset {}",
                  st.component, shown_name(st, blk), blk.offset);
      return;
    default:
      return;
  }
}

/// Whether the bytes to write are the source's own, whose offsets say what a
/// file already holds: a plain block as it came, or a deflated one inflated.
bool writes_source_bytes(const log_block& blk, bool inflated) {
  return (blk.flags & deflated) != 0 ? inflated : !inflated;
}

// Appends only the bytes the file does not hold yet; `duplicate` is set to
// the count of those left out.
append_result append_new_bytes(self_ptr self, const log_block& blk, const char* data,
                               std::size_t size, std::uint64_t& duplicate) {
  auto& st = self->state;
  const auto key = log_key(st, blk);
  std::uint64_t file_size = 0;
  auto result = st.folder->open_for_append(blk.origin, blk.file_name, true, file_size);
  if (result.outcome != append_result::written)
    return result;
  if (result.rotated)
    st.ranges->rotated(key, result.rotated->old_size);
  // Journals a changed record before the bytes are written.
  const auto d = st.ranges->decide(key, file_size, blk.source_id, blk.offset, size);
  report_journal_error(st);
  report_change(st, blk, d);
  duplicate = d.duplicate;
  if (d.duplicate < size) {
    auto written = st.folder->write_opened(data + d.duplicate, size - d.duplicate);
    result.outcome = written.outcome;
    result.error = written.error;
    result.problem = std::move(written.problem);
  }
  return result;
}

/// Errors about the disk rather than the block: they go away when space is
/// freed or the disk is repaired, so the write is tried again later.
bool is_disk_error(int err) {
  return err == ENOSPC || err == EDQUOT || err == EIO || err == EROFS;
}

enum class write_outcome {
  /// Acked (written, or refused and counted).
  done,
  /// A disk error: not acked, to be written again later.
  held,
  /// Any other failure: the actor quits unacked and is restarted.
  failed,
};

write_outcome write_block(self_ptr self, const log_block& blk) {
  auto& st = self->state;
  if (auto why = st.folder->name_problem(blk.origin, blk.file_name); !why.empty()) {
    refuse(self, blk, why);
    return write_outcome::done;
  }
  const char* data = blk.bytes.data();
  std::size_t size = blk.bytes.size();
  if (size == 0) {
    ack(self, blk);
    return write_outcome::done;
  }
  bool inflated = false;
  if (st.inflate) {
    st.inflated.clear();
    if (inflate_block(data, size, st.inflated, st.inflate_error)) {
      inflated = true;
      data = st.inflated.data();
      size = st.inflated.size();
    } else {
      // Never lost: what came is written as it came.
      ++st.not_deflate;
      if (first_time(st.not_deflate_names, log_key(st, blk), st.component,
                     "files with blocks that are not zlib streams"))
        log::warn("output {}: a block for {} is not a zlib stream ({}); written as it "
                  "came (logged once per file, counted)",
                  st.component, shown_name(st, blk), st.inflate_error);
    }
  }
  std::uint64_t duplicate = 0;
  append_result result;
  if (st.ranges && blk.source_id != 0 && writes_source_bytes(blk, inflated)) {
    result = append_new_bytes(self, blk, data, size, duplicate);
  } else {
    if (st.ranges) {
      // Bytes that are not the source's own break the file's record.
      st.ranges->forget(log_key(st, blk));
      report_journal_error(st);
    }
    result = st.folder->append(blk.origin, blk.file_name, data, size);
  }
  if (st.inflated.capacity() > max_kept_inflate_buffer)
    std::vector<char>().swap(st.inflated);
  if (result.rotated) {
    ++st.rotations;
    log::info("output {}: rotated {}/{} to {}", st.component, result.rotated->folder,
              printable_name(result.rotated->old_name),
              printable_name(result.rotated->new_name));
    start_after_hook(self, *result.rotated);
  }
  if (!result.rotation_problem.empty())
    log::error("output {}: cannot rotate {}: {}; it keeps growing until it is reopened",
               st.component, shown_name(st, blk), result.rotation_problem);
  switch (result.outcome) {
    case append_result::written:
      if (duplicate < size)
        ++st.blocks;
      st.bytes += size - duplicate;
      note_duplicates(self, blk, duplicate);
      ack(self, blk);
      return write_outcome::done;
    case append_result::refused:
      refuse(self, blk, result.problem);
      return write_outcome::done;
    case append_result::failed:
      break;
  }
  const auto where = st.folder->folder_of(printable_name(blk.origin)) + "/"
                     + printable_name(blk.file_name);
  if (is_disk_error(result.error)) {
    const auto retry_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(st.retry_interval).count();
    if (st.held.empty())
      log::error("output {}: {}: {}; holding this block and every later one "
                 "(unacknowledged: the inputs wait) and trying again every {} ms",
                 st.component, where, result.problem, retry_ms);
    else
      log::error("output {}: still failing: {}: {}; {} blocks held, trying again in {} ms",
                 st.component, where, result.problem, st.held.size(), retry_ms);
    return write_outcome::held;
  }
  log::error("output {}: {}: {}; stopping without acknowledging the block", st.component,
             where, result.problem);
  // Unacked: the supervisor restarts us and the bus sends it again.
  self->quit(caf::make_error(caf::sec::runtime_error));
  return write_outcome::failed;
}

void schedule_retry(self_ptr self) {
  auto& st = self->state;
  if (st.retry_scheduled)
    return;
  st.retry_scheduled = true;
  self->delayed_send(self, st.retry_interval, retry_atom_v);
}

// Writes the held blocks in order, up to the first that fails again.
void retry_held(self_ptr self) {
  auto& st = self->state;
  st.retry_scheduled = false;
  while (!st.held.empty()) {
    switch (write_block(self, st.held.front().get_as<log_block>(1))) {
      case write_outcome::done:
        st.held.pop_front();
        continue;
      case write_outcome::held:
        ++st.retries;
        schedule_retry(self);
        return;
      case write_outcome::failed:
        return;
    }
  }
  log::notice("output {}: writing again after {} failed retries", st.component, st.retries);
  st.retries = 0;
}

} // namespace

file_sink_state::~file_sink_state() {
  flush_burst(*this);
  log::info("output {}: wrote {} blocks, {} bytes; skipped {} bytes already written; "
            "refused {} blocks; {} blocks were not zlib streams; {} rotations",
            component, blocks, bytes, duplicate_bytes, refused, not_deflate, rotations);
}

file_sink_actor::behavior_type file_sink(self_ptr self, component_context ctx) {
  auto& st = self->state;
  const auto& cfg = ctx.config;
  st.component = cfg.name;
  st.index = ctx.index;
  st.bus = ctx.bus;
  st.inflate = cfg.get_string("uncompress") == "deflate";
  st.exec_after_rotating = cfg.get_string("exec_after_rotating");
  st.hook_timeout = cfg.get_duration("hook_timeout");
  st.retry_interval = cfg.get_duration("retry_interval");
  output_folder_settings settings;
  settings.path = cfg.get_string("path");
  settings.layout = cfg.get_string("layout") == "by_origin" ? folder_layout::by_origin
                                                            : folder_layout::flat;
  settings.file_mode = parse_file_mode(cfg.get_string("file_mode")).value_or(0640);
  settings.max_open_files = static_cast<std::size_t>(cfg.get_int("max_open_files"));
  settings.rotate_size = cfg.get_size("rotate_size");
  try {
    st.folder = std::make_unique<output_folder>(std::move(settings));
  } catch (const std::exception& e) {
    log::error("output {}: {}", st.component, e.what());
    self->quit(caf::make_error(caf::sec::runtime_error, e.what()));
    return file_sink_actor::behavior_type::make_empty_behavior();
  }
  if (st.folder->settings().layout == folder_layout::by_origin) {
    st.ranges = std::make_unique<written_ranges>(state_file(ctx, "file-output", "positions"));
    if (auto problem = st.ranges->load(); !problem.empty())
      log::warn("output {}: {}; re-sent blocks may be written twice", st.component, problem);
  }
  self->send(ctx.bus, attach_atom_v, output_atom_v, ctx.index);
  return {
    [=](publish_atom, const log_block& blk) {
      auto& st = self->state;
      // Behind a held block, a block waits its turn: order is kept.
      if (!st.held.empty() || write_block(self, blk) == write_outcome::held) {
        st.held.push_back(self->current_mailbox_element()->move_content_to_message());
        schedule_retry(self);
      }
    },
    [=](retry_atom) { retry_held(self); },
    [=](tick_atom) {
      auto& st = self->state;
      st.tick_scheduled = false;
      for (const auto& how : st.hooks.supervise(self->clock().now(), st.hook_timeout))
        log::warn("output {}: exec_after_rotating {}", st.component, how);
      // A burst of skips ends at a tick that saw none.
      if (!st.burst.grew)
        flush_burst(st);
      st.burst.grew = false;
      if (!st.hooks.empty() || st.burst.bytes > 0)
        schedule_tick(self);
    },
  };
}

config::kind_schema file_sink_schema() {
  using namespace config;
  constexpr std::int64_t us_per_s = 1000 * 1000;
  kind_schema schema;
  schema.kind_role = role::output;
  schema.type = "file";
  schema.summary =
    "Writes each stream under its file name in a folder (an aggregator's end): "
    "`path/<file name>`, or `path/<origin>/<file name>`. File names from senders are "
    "checked and never lead outside the folder; a block is acknowledged once written.";
  schema.keys = {
    required(make_key("path", value_kind::path, "",
                      "The output folder (absolute, or relative to the configuration "
                      "file); created with its parents if missing.")),
    choice_of(make_key("layout", value_kind::choice, "\"flat\"",
                       "`flat`: `path/<file name>`, every sender's data for one name in "
                       "one file (as logpipe 1.x). `by_origin`: `path/<origin>/<file "
                       "name>`, the origin being the sender's address (tcp input) or "
                       "agent name (local inputs)."),
              {"flat", "by_origin"}),
    choice_of(make_key("uncompress", value_kind::choice, "\"none\"",
                       "`deflate`: inflate every block (1.x senders' `compress = "
                       "\"deflate\"`); a block that is not a zlib stream is written as it "
                       "came, counted and logged."),
              {"none", "deflate"}),
    bounded(make_key("rotate_size", value_kind::size, "0",
                     "Rotate a file before a write that would start at or beyond this "
                     "size: rename it to `_<name>-YYYYMMDD_HHMMSS_<microseconds>` in its "
                     "folder and start a new one. 0: never."),
            0),
    make_key("exec_after_rotating", value_kind::string, "\"\"",
             "Shell command run in the background after a rotation, with "
             "LOGPIPE_ROTATING_PATHNAME (the file's folder), LOGPIPE_ROTATING_OLD_FILENAME "
             "and LOGPIPE_ROTATING_NEW_FILENAME set."),
    bounded(make_key("hook_timeout", value_kind::duration, "\"60s\"",
                     "A rotation hook still running after this is killed (and logged)."),
            1000, 3600 * us_per_s),
    bounded(make_key("retry_interval", value_kind::duration, "\"5s\"",
                     "After a write fails because of the disk (full, over quota, I/O "
                     "error, read-only), that block and every later one are held, "
                     "unacknowledged (so the inputs wait and nothing is lost), and "
                     "written again this often, logging an error each time, until it "
                     "works."),
            1000, 3600 * us_per_s),
    make_key("file_mode", value_kind::string, "\"0640\"",
             "Permissions of new files, in octal (the umask applies); folders it creates "
             "get the same plus x wherever r is set."),
    bounded(make_key("max_open_files", value_kind::integer, "256",
                     "Descriptors kept open; beyond it the least recently written file "
                     "is closed (and reopened, appending, on its next block)."),
            1, 65536),
  };
  schema.check = [](const component_config& c) {
    std::vector<key_problem> problems;
    const auto& mode = c.get_string("file_mode");
    if (!parse_file_mode(mode))
      problems.push_back({"file_mode", "must be 3 or 4 octal digits such as \"0640\", got \""
                                         + mode + "\""});
    struct stat info;
    const auto& path = c.get_string("path");
    if (::stat(path.c_str(), &info) == 0 && !S_ISDIR(info.st_mode))
      problems.push_back({"path", "must name a folder (or nothing yet), got \"" + path
                                    + "\", which is not a folder"});
    return problems;
  };
  return schema;
}

output_actor spawn_file_sink(caf::actor_system& sys, const component_context& ctx) {
  return sys.spawn<caf::detached>(file_sink, ctx);
}

} // namespace logpipe
