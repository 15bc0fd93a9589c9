#include "actors/file_sink.hpp"

#include "actors/deflate.hpp"
#include "actors/file_name.hpp"
#include "actors/logging.hpp"
#include "actors/rotation.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>

#include <sys/stat.h>

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

void write_block(self_ptr self, const log_block& blk) {
  auto& st = self->state;
  if (auto why = st.folder->name_problem(blk.origin, blk.file_name); !why.empty()) {
    refuse(self, blk, why);
    return;
  }
  const char* data = blk.bytes.data();
  std::size_t size = blk.bytes.size();
  if (size == 0) {
    ack(self, blk);
    return;
  }
  if (st.inflate) {
    st.inflated.clear();
    if (inflate_block(data, size, st.inflated, st.inflate_error)) {
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
  auto result = st.folder->append(blk.origin, blk.file_name, data, size);
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
      ++st.blocks;
      st.bytes += size;
      ack(self, blk);
      return;
    case append_result::refused:
      refuse(self, blk, result.problem);
      return;
    case append_result::failed:
      log::error("output {}: {}/{}: {}; stopping without acknowledging the block",
                 st.component, st.folder->folder_of(printable_name(blk.origin)),
                 printable_name(blk.file_name), result.problem);
      // Unacked: the supervisor restarts us and the bus sends it again.
      self->quit(caf::make_error(caf::sec::runtime_error));
      return;
  }
}

} // namespace

file_sink_state::~file_sink_state() {
  log::info("output {}: wrote {} blocks, {} bytes; refused {} blocks; {} blocks were not "
            "zlib streams; {} rotations",
            component, blocks, bytes, refused, not_deflate, rotations);
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
  self->send(ctx.bus, attach_atom_v, output_atom_v, ctx.index);
  return {
    [=](publish_atom, const log_block& blk) { write_block(self, blk); },
    [=](tick_atom) {
      auto& st = self->state;
      st.tick_scheduled = false;
      for (const auto& how : st.hooks.supervise(self->clock().now(), st.hook_timeout))
        log::warn("output {}: exec_after_rotating {}", st.component, how);
      if (!st.hooks.empty())
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
