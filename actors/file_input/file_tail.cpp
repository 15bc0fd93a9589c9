#include "actors/file_input/file_tail.hpp"

#include "actors/core/logging.hpp"
#include "actors/file_input/line_cut.hpp"
#include "actors/shared/deflate.hpp"
#include "actors/shared/rotation.hpp"
#include "actors/shared/source_id.hpp"

#include <caf/event_based_actor.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace logpipe {

namespace {

using self_ptr = file_tail_actor::stateful_pointer<file_tail_state>;

constexpr auto hook_poll = std::chrono::milliseconds(50);

std::string path_of(const file_tail_state& st) {
  return st.settings->folder + "/" + st.file_name;
}

void check(self_ptr self);

// Arms the timer unless it already fires sooner (a stale tick only makes the
// handler look again).
void schedule_tick(self_ptr self, caf::timespan delay) {
  auto& st = self->state;
  auto at = self->clock().now() + delay;
  if (st.tick_scheduled && st.next_tick <= at)
    return;
  st.tick_scheduled = true;
  st.next_tick = at;
  self->delayed_send(self, delay, tick_atom_v);
}

void close_file(self_ptr self) {
  auto& st = self->state;
  if (st.fd < 0)
    return;
  ::close(st.fd);
  st.fd = -1;
  self->send(st.watcher, closed_atom_v, st.id);
}

// Tells the watcher the identity it holds and the source id it reads under.
void report_identity(self_ptr self) {
  auto& st = self->state;
  self->send(st.watcher, identity_atom_v, st.id, st.identity.device, st.identity.inode,
             st.identity.prefix_length, st.identity.prefix_hash, st.source_id);
}

// Takes the identity of the open file again; true if it is still its file.
bool take_identity(self_ptr self) {
  auto& st = self->state;
  auto id = identity_of(st.fd);
  if (!id || !id->same_inode(st.identity))
    return false;
  st.identity = *id;
  return true;
}

// Takes the identity of the open file again and tells the watcher.
void retake_identity(self_ptr self) {
  if (take_identity(self))
    report_identity(self);
}

// The file was truncated or replaced: its bytes are new ones, read from 0
// under a new source id. Its first bytes changed too: with the old prefix,
// reopening it by name would take it for another file. The watcher is told
// in any case, so that its checkpoint starts over with the new id.
void read_again_from_zero(self_ptr self) {
  auto& st = self->state;
  st.offset = 0;
  st.source_id = new_source_id();
  take_identity(self);
  report_identity(self);
}

// Whether the open file, now `size` bytes, is no longer the generation the
// tail reads: shorter than what was read, or truncated and written again
// past it (its size alone does not tell: its first bytes do).
bool generation_changed(self_ptr self, std::uint64_t size) {
  auto& st = self->state;
  if (st.offset == 0)
    return false;
  return size < st.offset || !is_same_file(st.fd, st.identity);
}

void restart_generation(self_ptr self, std::uint64_t size) {
  auto& st = self->state;
  if (size < st.offset)
    log::notice("file {}: truncated to {} bytes (was read up to {}); reading again from 0",
                path_of(st), size, st.offset);
  else
    log::notice("file {}: truncated and written again (its first bytes changed; {} bytes, "
                "was read up to {}); reading again from 0", path_of(st), size, st.offset);
  read_again_from_zero(self);
}

// Opens the file by its name if it is closed; false if it cannot be read
// (gone, or replaced by another file under the same name).
bool ensure_open(self_ptr self) {
  auto& st = self->state;
  if (st.fd >= 0)
    return true;
  // A removed file is looked for under its last known name too: one renamed
  // to a name that is not collected is still there. A deleted one is not,
  // and a new file under its name may even have its inode number: a removed
  // file must be the very same file, first bytes included.
  int fd = ::open(path_of(st).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT)
      log::error("file {}: cannot open: {}", path_of(st), std::strerror(errno));
    return false;
  }
  auto now = identity_of(fd);
  if (!now || !now->same_inode(st.identity) || (st.removed && !is_same_file(fd, st.identity))) {
    // Another file took the name; the watcher sees its events and tracks it.
    ::close(fd);
    return false;
  }
  st.fd = fd;
  self->send(st.watcher, opened_atom_v, st.id);
  if (!is_same_file(fd, st.identity)) {
    // Same inode, other first bytes: truncated and rewritten while it was
    // closed (copytruncate), or deleted and re-created with the same inode
    // number. Either way it is new data: read it from 0.
    log::notice("file {}: its first bytes changed while it was closed (truncated or "
                "replaced); reading it again from 0", path_of(st));
    read_again_from_zero(self);
  }
  return true;
}

// The file grew past its identity's prefix: take the identity again.
void refresh_identity(self_ptr self) {
  auto& st = self->state;
  if (st.identity.prefix_length >= identity_prefix || st.offset <= st.identity.prefix_length)
    return;
  retake_identity(self);
}

void finish(self_ptr self) {
  auto& st = self->state;
  if (st.compressing() > 0) {
    st.finish_when_compressed = true;
    return;
  }
  if (st.split_lines > 0)
    log::warn("file {}: {} over-long lines were split", st.shipped_name, st.split_lines);
  close_file(self);
  self->send(st.watcher, finished_atom_v, st.id);
  self->quit();
}

void start_after_hook(self_ptr self) {
  auto& st = self->state;
  if (st.settings->exec_after_rotating.empty())
    return;
  try {
    st.after_hooks.start(st.settings->exec_after_rotating,
                         rotation_hook_env(st.settings->folder, st.file_name, st.rotated_to),
                         self->clock().now());
    schedule_tick(self, hook_poll);
  } catch (const std::exception& e) {
    log::error("file {}: exec_after_rotating cannot start: {}", path_of(st), e.what());
  }
}

void rename_for_rotation(self_ptr self) {
  auto& st = self->state;
  auto from = path_of(st);
  auto to = st.settings->folder + "/" + st.rotated_to;
  if (::rename(from.c_str(), to.c_str()) != 0) {
    log::error("file {}: rotation rename to {} failed: {}", from, st.rotated_to,
               std::strerror(errno));
  } else {
    log::info("file {}: rotated to {}", from, st.rotated_to);
    start_after_hook(self);
  }
  st.rotating = false;
}

// At the end of the data: rotate the file if it reached rotate_size.
void maybe_rotate(self_ptr self, std::uint64_t size) {
  auto& st = self->state;
  const auto& cfg = *st.settings;
  if (cfg.rotate_size == 0 || st.removed || st.rotating || st.stopped
      || size < cfg.rotate_size)
    return;
  st.rotating = true;
  st.rotated_to = rotated_name(st.file_name, std::chrono::system_clock::now());
  if (cfg.exec_before_rotating.empty()) {
    rename_for_rotation(self);
    return;
  }
  try {
    st.before_hook.emplace(start_hook(cfg.exec_before_rotating,
                                      rotation_hook_env(cfg.folder, st.file_name, st.rotated_to)));
    st.hook_started = self->clock().now();
    schedule_tick(self, hook_poll);
  } catch (const std::exception& e) {
    log::error("file {}: exec_before_rotating cannot start: {}", path_of(st), e.what());
    rename_for_rotation(self);
  }
}

// Reaps hooks; kills those that outlive hook_timeout. True while the
// before-hook still runs.
bool supervise_hooks(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto timeout = st.settings->hook_timeout;
  for (const auto& how : st.after_hooks.supervise(now, timeout))
    log::warn("file {}: exec_after_rotating {}", path_of(st), how);
  if (!st.before_hook)
    return false;
  auto how = st.before_hook->try_reap();
  if (!how && now - st.hook_started >= timeout) {
    log::warn("file {}: exec_before_rotating still runs after {} s; killed, rotating anyway",
              path_of(st), std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
    st.before_hook->terminate();
    how = "killed";
  }
  if (!how)
    return true;
  if (*how != "exited with status 0")
    log::warn("file {}: exec_before_rotating {}", path_of(st), *how);
  st.before_hook.reset();
  rename_for_rotation(self);
  return false;
}

// The block goes to the bus, and its end offset to the watcher (checkpoints).
void publish(self_ptr self, log_block blk, std::uint64_t end) {
  auto& st = self->state;
  auto seq = blk.seq;
  self->send(st.settings->bus, publish_atom_v, std::move(blk));
  self->send(st.watcher, published_atom_v, st.id, seq, end);
}

void check(self_ptr self);

// Sends the block to the next compressor in turn, and publishes the answers
// in read order. Once all are back, whatever waited for them (a truncation,
// a rotation, the end of a removed file) is looked at again.
void compress_elsewhere(self_ptr self, log_block blk, std::uint64_t end) {
  auto& st = self->state;
  const auto& compressors = st.settings->compressors;
  auto number = st.next_to_compress++;
  self->request(compressors[number % compressors.size()], caf::infinite, compress_atom_v,
                std::move(blk), st.settings->compress_level)
    .then([=](log_block& done) {
      auto& st = self->state;
      st.compressed.emplace(number, std::make_pair(std::move(done), end));
      while (!st.compressed.empty() && st.compressed.begin()->first == st.next_to_publish) {
        auto next = st.compressed.begin();
        publish(self, std::move(next->second.first), next->second.second);
        st.compressed.erase(next);
        ++st.next_to_publish;
      }
      if (st.compressing() > 0)
        return;
      if (std::exchange(st.finish_when_compressed, false))
        finish(self);
      else
        check(self);
    });
}

void read_block(self_ptr self, std::uint64_t seq) {
  auto& st = self->state;
  const auto& cfg = *st.settings;
  auto release = [&] { self->send(st.watcher, release_atom_v, seq); };
  if (st.stopped || !ensure_open(self)) {
    release();
    return;
  }
  // The file may have been truncated while the tail waited for this credit
  // (and written again past the offset): look again before reading.
  struct stat info;
  if (::fstat(st.fd, &info) != 0) {
    log::error("file {}: fstat failed: {}", path_of(st), std::strerror(errno));
    release();
    return;
  }
  auto size = static_cast<std::uint64_t>(info.st_size);
  if (generation_changed(self, size)) {
    if (st.compressing() > 0) { // after they are published (check runs again then)
      release();
      return;
    }
    restart_generation(self, size);
  }
  st.known_size = size;
  auto read_size = cfg.line_mode ? std::max(cfg.block_size, cfg.max_line) : cfg.block_size;
  // No bigger than what there is (a live file grows by a line or so): the
  // block is allocated at this size and read into directly.
  if (st.known_size > st.offset)
    read_size = static_cast<std::size_t>(std::min<std::uint64_t>(read_size, st.known_size - st.offset));
  log_block blk;
  blk.bytes.resize(read_size);
  auto n = ::pread(st.fd, blk.bytes.data(), read_size, static_cast<off_t>(st.offset));
  if (n <= 0) {
    if (n < 0)
      log::error("file {}: read failed: {}", path_of(st), std::strerror(errno));
    release();
    return;
  }
  auto length = static_cast<std::size_t>(n);
  if (cfg.line_mode) {
    bool last_bytes = st.final_read && st.offset + length >= st.known_size;
    auto cut = cut_lines(blk.bytes.data(), length, cfg.max_line, last_bytes);
    if (cut.split && ++st.split_lines % 1000 == 1)
      log::warn("file {}: a line longer than {} bytes was split ({} so far)",
                st.shipped_name, cfg.max_line, st.split_lines);
    length = cut.length;
    if (length == 0) { // an incomplete line: wait for its newline
      release();
      return;
    }
  }
  blk.bytes.resize(length);
  blk.origin = cfg.origin;
  blk.file_name = st.shipped_name;
  blk.offset = st.offset;
  blk.source_id = st.source_id;
  blk.input = cfg.input_index;
  blk.seq = seq;
  if (cfg.line_mode && blk.bytes.back() == '\n')
    blk.flags |= line_aligned;
  st.offset += length;
  st.last_activity = self->clock().now();
  if (cfg.deflate && !cfg.compressors.empty()) {
    compress_elsewhere(self, std::move(blk), st.offset);
  } else {
    if (cfg.deflate) {
      deflate_block(blk.bytes.data(), blk.bytes.size(), cfg.compress_level, st.deflated);
      blk.bytes.swap(st.deflated);
      blk.flags |= deflated;
    }
    publish(self, std::move(blk), st.offset);
  }
  refresh_identity(self);
}

// Reads what is new, one block per credit, until the end of the file.
void check(self_ptr self) {
  auto& st = self->state;
  if (st.stopped)
    return;
  if (st.awaiting_credit) {
    // Still watching size and head: a truncation is seen (and logged) even
    // when the file is written again before the credit comes.
    struct stat info;
    if (st.fd >= 0 && st.compressing() == 0 && ::fstat(st.fd, &info) == 0) {
      auto size = static_cast<std::uint64_t>(info.st_size);
      if (generation_changed(self, size))
        restart_generation(self, size);
    }
    return;
  }
  if (!ensure_open(self)) {
    if (st.removed)
      finish(self);
    return;
  }
  struct stat info;
  if (::fstat(st.fd, &info) != 0) {
    log::error("file {}: fstat failed: {}", path_of(st), std::strerror(errno));
    return;
  }
  auto size = static_cast<std::uint64_t>(info.st_size);
  if (generation_changed(self, size)) {
    // Blocks at the compressors are published first (check runs again then).
    if (st.compressing() > 0)
      return;
    restart_generation(self, size);
  }
  st.known_size = size;
  if (size > st.offset) {
    st.awaiting_credit = true;
    self->request(st.watcher, caf::infinite, credit_atom_v, st.id)
      .then([=](std::uint64_t seq) {
        auto& st = self->state;
        st.awaiting_credit = false;
        auto before = std::make_pair(st.offset, st.source_id);
        read_block(self, seq);
        // More to read (or a full line still to come): ask again, behind the
        // other files waiting for credit.
        if (std::make_pair(st.offset, st.source_id) != before)
          check(self);
        else if (st.removed && st.final_read)
          finish(self);
        else
          schedule_tick(self, st.settings->close_inactive);
      });
    return;
  }
  if (st.removed && st.final_read) {
    finish(self);
    return;
  }
  if (st.compressing() == 0)
    maybe_rotate(self, size);
  schedule_tick(self, st.settings->close_inactive);
}

} // namespace

file_tail_state::~file_tail_state() {
  if (fd >= 0)
    ::close(fd);
}

file_tail_actor::behavior_type
file_tail(self_ptr self, std::shared_ptr<const file_tail_settings> settings,
          dir_watcher_actor watcher, tail_id id, std::string name, std::string shipped_name,
          file_identity identity, file_position start) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.watcher = std::move(watcher);
  st.id = id;
  st.file_name = std::move(name);
  st.shipped_name = std::move(shipped_name);
  st.identity = identity;
  st.source_id = start.source_id;
  st.offset = start.offset;
  st.last_activity = self->clock().now();
  check(self);
  return {
    [=](modified_atom) {
      self->state.last_activity = self->clock().now();
      check(self);
    },
    [=](renamed_atom, const std::string& new_name, bool collected) {
      auto& st = self->state;
      st.file_name = new_name;
      if (!collected) {
        // Still in the folder under its new name: open it now (if it was
        // closed while idle) to read it to its end.
        ensure_open(self);
        st.removed = true;
      }
      check(self);
    },
    [=](removed_atom) {
      self->state.removed = true;
      check(self);
    },
    [=](close_atom) {
      // A removed file cannot be opened again: keep it.
      if (!self->state.awaiting_credit && !self->state.removed)
        close_file(self);
    },
    [=](stop_atom) { self->state.stopped = true; },
    [=](tick_atom) {
      auto& st = self->state;
      st.tick_scheduled = false;
      bool before_hook_runs = supervise_hooks(self);
      if (before_hook_runs || !st.after_hooks.empty())
        schedule_tick(self, hook_poll);
      if (before_hook_runs)
        return;
      auto idle = self->clock().now() - st.last_activity;
      if (idle < st.settings->close_inactive) {
        schedule_tick(self, st.settings->close_inactive - idle);
        return;
      }
      if (st.removed) {
        // Idle since it went away: ship what is left, even a last line
        // without its newline, then finish.
        st.final_read = true;
        check(self);
      } else if (!st.awaiting_credit) {
        close_file(self);
      }
    },
  };
}

} // namespace logpipe
