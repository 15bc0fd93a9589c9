#include "actors/file_input/dir_watcher.hpp"

#include "actors/core/logging.hpp"
#include "actors/file_input/block_compressor.hpp"
#include "actors/shared/deflate.hpp"
#include "actors/shared/rotation.hpp"
#include "actors/shared/source_id.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <set>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace logpipe {

namespace {

using self_ptr = dir_watcher_actor::stateful_pointer<dir_watcher_state>;

// A tail that crashes more often than this is given up.
constexpr std::uint32_t max_tail_crashes = 5;

constexpr std::uint32_t folder_events = IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM
                                        | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;

// Spawns one of the input's helpers that block or keep a core busy (the
// compressors, the checkpoint saver), linked so that its failure stops the
// input, on a thread of its own. Under the deterministic test scheduler a
// detached actor would run out of the test's hands, so there it is scheduled
// like the rest.
template <class Fun, class... Ts>
auto spawn_helper(self_ptr self, Fun fun, Ts&&... xs) {
  if (caf::get_or(self->system().config(), "scheduler.policy", caf::atom("stealing"))
      == caf::atom("testing"))
    return self->spawn<caf::linked>(fun, std::forward<Ts>(xs)...);
  return self->spawn<caf::linked + caf::detached>(fun, std::forward<Ts>(xs)...);
}

bool collected(const dir_watcher_state& st, const std::string& name) {
  return st.filter.accepts(name) && !is_rotated_name(name);
}

void schedule_flush(self_ptr self) {
  auto& st = self->state;
  st.dirty = true;
  if (st.flush_scheduled)
    return;
  st.flush_scheduled = true;
  auto next = st.last_flush + st.checkpoint_interval;
  auto now = self->clock().now();
  if (next <= now)
    self->send(self, flush_atom_v);
  else
    self->delayed_send(self, next - now, flush_atom_v);
}

// Hands the checkpoints to the saver, one save at a time: what changes
// meanwhile goes in the next one, once this one is answered.
void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (!st.dirty || st.saving)
    return;
  st.last_flush = self->clock().now();
  st.dirty = false;
  st.saving = true;
  self->request(st.saver, caf::infinite, save_atom_v, ++st.store_generation, st.store.text())
    .then([=](const std::string& error) {
      auto& st = self->state;
      st.saving = false;
      if (error.empty()) {
        if (st.save_failing)
          log::notice("input {}: checkpoints written again", st.component);
        st.save_failing = false;
      } else {
        st.dirty = true; // tried again after checkpoint_interval
        if (!st.save_failing)
          log::error("input {}: cannot write checkpoints: {}", st.component, error);
        st.save_failing = true;
      }
      if (st.dirty)
        schedule_flush(self);
    });
}

void put_checkpoint(self_ptr self, const tracked_file& file) {
  self->state.store.put(
    checkpoint{file.identity, file.shipped_name, file.acked_offset, file.source_id});
  schedule_flush(self);
}

// After `stop`: tells the supervisor once no tail can publish any more.
void answer_stop_when_quiet(self_ptr self) {
  auto& st = self->state;
  if (st.stopped && st.granted.empty() && st.stop_promise.pending())
    st.stop_promise.deliver(true);
}

// Hands out sequence numbers, first come first served: a busy file asks
// again after every block and so waits behind the others.
void grant(self_ptr self) {
  auto& st = self->state;
  while (!st.stopped && st.credit.available() && !st.waiting.empty()) {
    auto [id, promise] = std::move(st.waiting.front());
    st.waiting.pop_front();
    auto seq = st.credit.take();
    st.granted.emplace(seq, id);
    promise.deliver(seq);
  }
}

void give_back(self_ptr self, std::uint64_t seq) {
  self->state.credit.ack(seq);
  grant(self);
}

// Drops a tail that finished (or was given up) once nothing of it is in
// flight; a deleted file's checkpoint goes with it.
void forget_if_done(self_ptr self, tail_id id) {
  auto& st = self->state;
  auto i = st.files.find(id);
  if (i == st.files.end() || !i->second.finished || !i->second.in_flight.empty())
    return;
  if (i->second.deleted || i->second.read_to_end)
    st.store.erase(i->second.identity);
  schedule_flush(self);
  st.files.erase(i);
}

// Moves the file's checkpoint over the blocks acked in order.
void advance_checkpoint(self_ptr self, tail_id id) {
  auto& file = self->state.files.at(id);
  bool moved = false;
  while (!file.in_flight.empty() && file.in_flight.front().acked) {
    const auto& done = file.in_flight.front();
    if (done.source_id == file.source_id) {
      file.acked_offset = done.end;
      moved = true;
    }
    file.in_flight.pop_front();
  }
  if (moved)
    put_checkpoint(self, file);
  forget_if_done(self, id);
}

void spawn_tail(self_ptr self, tail_id id) {
  auto& st = self->state;
  auto& file = st.files.at(id);
  file.tail = self->spawn(file_tail, st.settings, dir_watcher_actor{self}, id, file.name,
                          file.shipped_name, file.identity,
                          file_position{file.source_id, file.acked_offset});
  self->monitor(file.tail);
  file.last_active = self->clock().now();
}

// Device and inode of what `name` in the folder is now (following links).
std::optional<std::pair<std::uint64_t, std::uint64_t>> inode_at(const dir_watcher_state& st,
                                                                  const std::string& name) {
  struct stat info;
  auto path = st.settings->folder + "/" + name;
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
    return std::nullopt;
  return std::make_pair(static_cast<std::uint64_t>(info.st_dev),
                        static_cast<std::uint64_t>(info.st_ino));
}

bool is_file_at(const tracked_file& file,
                const std::optional<std::pair<std::uint64_t, std::uint64_t>>& inode) {
  return inode && inode->first == file.identity.device && inode->second == file.identity.inode;
}

// The live entry of the file with this device and inode, if it is tracked.
// Not one known to be gone: its inode number may already belong to a new file.
std::optional<tail_id> find_by_inode(const dir_watcher_state& st,
                                     const std::pair<std::uint64_t, std::uint64_t>& inode) {
  for (const auto& [id, file] : st.files)
    if (!file.finished && !file.deleted && file.tail && is_file_at(file, inode))
      return id;
  return std::nullopt;
}

// The file of entry `id` is gone from the folder (deleted or moved out).
void file_gone(self_ptr self, tail_id id) {
  auto& st = self->state;
  auto& file = st.files.at(id);
  if (auto n = st.by_name.find(file.name); n != st.by_name.end() && n->second == id)
    st.by_name.erase(n);
  file.deleted = true;
  if (file.tail)
    self->send(file.tail, removed_atom_v);
}

// A known file now has the name `name`.
void adopt_name(self_ptr self, tail_id id, const std::string& name) {
  auto& st = self->state;
  auto& file = st.files.at(id);
  // Renamed over another file (`mv app.log app.log.1`): that one is gone.
  if (auto n = st.by_name.find(name); n != st.by_name.end() && n->second != id)
    file_gone(self, n->second);
  st.by_name[name] = id;
  if (file.name == name)
    return;
  if (auto n = st.by_name.find(file.name); n != st.by_name.end() && n->second == id)
    st.by_name.erase(n);
  file.name = name;
  // Its blocks keep the name they were shipped under: a rotated file that is
  // still collected is the same file (same identity), never shipped twice; one
  // renamed to a name that is not collected is read to its end, then dropped.
  self->send(file.tail, renamed_atom_v, name, collected(st, name));
}

// Starts collecting the file `name`. `at_start`: found by the first scan.
// `shipped_as`: the name its blocks carry (another than `name` for a file
// that was renamed away from a collected name before it was seen).
// `only_if_checkpointed`: a name that is not collected, taken only if it is a
// file the checkpoints know (same inode and head): one renamed away while
// the agent was down.
void add_file(self_ptr self, const std::string& name, bool at_start,
              const std::string& shipped_as, bool only_if_checkpointed = false) {
  auto& st = self->state;
  auto path = st.settings->folder + "/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE)
      log::error("input {}: out of file descriptors, cannot open {} (raise the limit "
                 "or lower max_open_files)", st.component, path);
    else if (errno != ENOENT)
      log::warn("input {}: cannot open {}: {}", st.component, path, std::strerror(errno));
    return;
  }
  struct stat info;
  auto id = identity_of(fd);
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || !id) {
    ::close(fd);
    return;
  }
  auto size = static_cast<std::uint64_t>(info.st_size);
  tracked_file file;
  file.name = name;
  file.identity = *id;
  if (auto cp = st.store.find(fd, *id)) {
    file.shipped_name = cp->name;
    file.source_id = cp->source_id;
    file.acked_offset = cp->offset;
    if (only_if_checkpointed)
      log::notice("input {}: {} is {}, renamed while the agent was down; reading it to "
                  "its end from offset {} under its old name", st.component, path, cp->name,
                  std::min(cp->offset, size));
    if (cp->offset > size) {
      log::notice("input {}: {} is shorter than its checkpoint ({} < {}): truncated, "
                  "reading it from 0", st.component, path, size, cp->offset);
      file.source_id = new_source_id();
      file.acked_offset = 0;
    }
  } else if (only_if_checkpointed) {
    ::close(fd); // another file now has that inode
    return;
  } else {
    file.shipped_name = shipped_as;
    file.source_id = new_source_id();
    // On the very first start, files already there are shipped from their end
    // (like `tail -f`) unless read_from_head; files that appear later, or
    // while the agent was down, from their first byte.
    bool from_end = at_start && st.first_start && !st.read_from_head;
    file.acked_offset = from_end ? size : 0;
  }
  ::close(fd);
  auto tid = st.next_id++;
  st.files.emplace(tid, std::move(file));
  st.by_name[name] = tid;
  put_checkpoint(self, st.files.at(tid));
  struct stat link;
  if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
    int wd = ::inotify_add_watch(st.inotify_fd, path.c_str(), IN_MODIFY);
    if (wd < 0)
      log::error("input {}: cannot watch the target of link {}: {}", st.component, path,
                 std::strerror(errno));
    else
      st.by_link_watch[wd] = tid;
  }
  spawn_tail(self, tid);
  if (!collected(st, name))
    self->send(st.files.at(tid).tail, renamed_atom_v, name, false);
}

// `name` appeared (created, moved in, renamed to, or seen by a scan). Events
// are read after the fact, so the name is resolved to the file it names now:
// a known file keeps its entry, an unknown one is added if its name (or the
// collected name it was renamed from, `old_name`) is collected.
void name_appeared(self_ptr self, const std::string& name, bool at_start,
                   const std::string& old_name = {}) {
  auto& st = self->state;
  auto inode = inode_at(st, name);
  if (!inode)
    return;
  if (auto id = find_by_inode(st, *inode)) {
    adopt_name(self, *id, name);
    return;
  }
  if (auto n = st.by_name.find(name); n != st.by_name.end())
    file_gone(self, n->second); // the name now belongs to another file
  if (collected(st, name))
    add_file(self, name, at_start, name);
  else if (!old_name.empty() && collected(st, old_name))
    add_file(self, name, at_start, old_name);
  else if (st.store.has(inode->first, inode->second))
    // Renamed to a name that is not collected while the agent was down (or
    // while the queue overflowed): read the rest as if the rename was seen.
    add_file(self, name, at_start, {}, true);
}

// `name` may no longer be the file we know under it.
void name_vanished(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto n = st.by_name.find(name);
  if (n != st.by_name.end() && !is_file_at(st.files.at(n->second), inode_at(st, name)))
    file_gone(self, n->second);
}

// Lists the folder: new files are added, known ones checked, vanished ones
// removed. Used at start and after the inotify queue overflowed.
void scan(self_ptr self, bool at_start) {
  auto& st = self->state;
  std::vector<std::string> names;
  if (DIR* dir = ::opendir(st.settings->folder.c_str())) {
    while (auto* entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..")
        names.push_back(name);
    }
    ::closedir(dir);
  } else {
    log::error("input {}: cannot list {}: {}", st.component, st.settings->folder,
               std::strerror(errno));
    return;
  }
  std::vector<std::string> known;
  for (const auto& entry : st.by_name)
    known.push_back(entry.first);
  for (const auto& name : known)
    name_vanished(self, name);
  for (const auto& name : names)
    name_appeared(self, name, at_start);
  for (const auto& entry : st.by_name)
    if (auto& tail = st.files.at(entry.second).tail)
      self->send(tail, modified_atom_v);
}

void on_event(self_ptr self, const inotify_event& ev) {
  auto& st = self->state;
  if (ev.mask & IN_Q_OVERFLOW) {
    log::warn("input {}: inotify queue overflowed; scanning {} again", st.component,
              st.settings->folder);
    scan(self, false);
    return;
  }
  if (ev.wd != st.folder_wd) {
    auto i = st.by_link_watch.find(ev.wd);
    if (i == st.by_link_watch.end())
      return;
    if (ev.mask & IN_IGNORED)
      st.by_link_watch.erase(i);
    else if (auto f = st.files.find(i->second); f != st.files.end() && f->second.tail)
      self->send(f->second.tail, modified_atom_v);
    return;
  }
  if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
    log::error("input {}: the watched folder {} was deleted or moved; no new files will "
               "be found", st.component, st.settings->folder);
    return;
  }
  if (ev.len == 0 || (ev.mask & IN_ISDIR))
    return;
  std::string name = ev.name;
  if (ev.mask & IN_MODIFY) {
    if (auto i = st.by_name.find(name); i != st.by_name.end())
      self->send(st.files.at(i->second).tail, modified_atom_v);
    else
      name_appeared(self, name, false);
  } else if (ev.mask & IN_CREATE) {
    name_appeared(self, name, false);
  } else if (ev.mask & IN_DELETE) {
    name_vanished(self, name);
  } else if (ev.mask & IN_MOVED_FROM) {
    st.moving[ev.cookie] = name;
  } else if (ev.mask & IN_MOVED_TO) {
    std::string old_name;
    if (auto m = st.moving.find(ev.cookie); m != st.moving.end()) {
      old_name = m->second;
      st.moving.erase(m);
    }
    name_appeared(self, name, false, old_name);
    if (!old_name.empty())
      name_vanished(self, old_name);
  }
}

void read_events(self_ptr self) {
  auto& st = self->state;
  alignas(inotify_event) char buffer[64 * 1024];
  for (;;) {
    auto n = ::read(st.inotify_fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN)
        log::error("input {}: reading inotify events: {}", st.component, std::strerror(errno));
      break;
    }
    for (char* p = buffer; p < buffer + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      on_event(self, *ev);
      p += sizeof(inotify_event) + ev->len;
    }
  }
  // A move whose other half did not come went out of the folder.
  for (const auto& [cookie, name] : st.moving)
    name_vanished(self, name);
  st.moving.clear();
  st.inotify_watcher->arm();
}

// Keeps open descriptors within max_open_files: the least recently active
// open file closes its descriptor (it reopens it on its next change).
void enforce_open_limit(self_ptr self) {
  auto& st = self->state;
  if (st.open_files <= st.max_open_files)
    return;
  tracked_file* oldest = nullptr;
  for (auto& [id, file] : st.files)
    if (file.open && file.tail && (!oldest || file.last_active < oldest->last_active))
      oldest = &file;
  if (oldest)
    self->send(oldest->tail, close_atom_v);
}

void tail_down(self_ptr self, tail_id id, const caf::error& reason) {
  auto& st = self->state;
  auto& file = st.files.at(id);
  file.tail = nullptr;
  if (file.open) {
    file.open = false;
    --st.open_files;
  }
  // Sequence numbers it held but never used.
  for (auto i = st.granted.begin(); i != st.granted.end();)
    if (i->second == id) {
      st.credit.ack(i->first);
      i = st.granted.erase(i);
    } else {
      ++i;
    }
  answer_stop_when_quiet(self);
  st.waiting.erase(std::remove_if(st.waiting.begin(), st.waiting.end(),
                                  [id](const auto& w) { return w.first == id; }),
                   st.waiting.end());
  if (file.finished || st.stopped || !reason || reason == caf::exit_reason::normal
      || reason == caf::exit_reason::user_shutdown) {
    file.finished = true;
    forget_if_done(self, id);
  } else if (++file.crashes > max_tail_crashes) {
    log::error("input {}: giving up on {} after {} crashes ({})", st.component, file.name,
               file.crashes - 1, self->system().render(reason));
    file.finished = true;
    if (auto n = st.by_name.find(file.name); n != st.by_name.end() && n->second == id)
      st.by_name.erase(n);
    forget_if_done(self, id);
  } else {
    // Resume after the last delivered byte: what was in flight may come twice.
    log::warn("input {}: the tail of {} crashed ({}); starting it again from offset {}",
              st.component, file.name, self->system().render(reason), file.acked_offset);
    spawn_tail(self, id);
  }
  grant(self);
}

bool start_watching(self_ptr self) {
  auto& st = self->state;
  st.inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (st.inotify_fd < 0) {
    log::error("input {}: cannot start inotify: {}{}", st.component, std::strerror(errno),
               errno == EMFILE ? " (too many inotify instances: raise "
                                 "fs.inotify.max_user_instances)"
                               : "");
    return false;
  }
  st.folder_wd = ::inotify_add_watch(st.inotify_fd, st.settings->folder.c_str(),
                                     folder_events | IN_ONLYDIR);
  if (st.folder_wd < 0) {
    log::error("input {}: cannot watch {}: {}{}", st.component, st.settings->folder,
               std::strerror(errno),
               errno == ENOSPC ? " (out of inotify watches: raise fs.inotify.max_user_watches)"
                               : "");
    return false;
  }
  st.inotify_watcher = std::make_unique<fd_watcher>(st.inotify_fd, self->address(),
                                                    caf::make_message(readable_atom_v));
  return true;
}

} // namespace

dir_watcher_state::~dir_watcher_state() {
  inotify_watcher.reset();
  if (inotify_fd >= 0)
    ::close(inotify_fd);
  // The saver may not get to a save in flight: this one is the latest, and
  // the saver skips an older one that comes after it.
  if ((dirty || saving) && store_file) {
    std::string error;
    if (!store_file->write(++store_generation, store.text(), error))
      log::error("input {}: cannot write checkpoints: {}", component, error);
  }
  for (auto& [id, file] : files)
    if (file.tail)
      caf::anon_send_exit(file.tail, caf::exit_reason::user_shutdown);
}

dir_watcher_actor::behavior_type dir_watcher(self_ptr self, component_context ctx) {
  auto& st = self->state;
  const auto& cfg = ctx.config;
  st.component = cfg.name;
  auto settings = std::make_shared<file_tail_settings>();
  settings->folder = cfg.get_string("path");
  settings->input_index = ctx.index;
  settings->origin = ctx.agent_name;
  settings->bus = ctx.bus;
  settings->block_size = cfg.get_size("block_size");
  settings->line_mode = cfg.get_bool("line_mode");
  settings->max_line = cfg.get_size("max_line");
  settings->deflate = cfg.get_string("compress") == "deflate";
  settings->compress_level = static_cast<int>(cfg.get_int("compress_level"));
  if (settings->deflate) {
    // One compressed block must fit a 1.x wire block, whatever is read.
    settings->block_size = std::min(settings->block_size, max_deflate_input);
    settings->max_line = std::min(settings->max_line, max_deflate_input);
    // One compressor per scheduler thread: compressing one busy file then
    // keeps every core busy (see block_compressor.hpp).
    auto threads = std::max<std::size_t>(1, self->system().scheduler().num_workers());
    for (std::size_t i = 0; i < threads; ++i)
      settings->compressors.push_back(spawn_helper(self, block_compressor));
  }
  settings->rotate_size = cfg.get_size("rotate_size");
  settings->exec_before_rotating = cfg.get_string("exec_before_rotating");
  settings->exec_after_rotating = cfg.get_string("exec_after_rotating");
  settings->hook_timeout = cfg.get_duration("hook_timeout");
  settings->close_inactive = cfg.get_duration("close_inactive");
  st.settings = settings;
  st.filter = name_filter(cfg.get_list("files"), cfg.get_list("exclude_files"));
  auto full_dose = ctx.start_once.find("start_once_for_full_dose");
  st.read_from_head = cfg.get_bool("read_from_head")
                      || (full_dose != ctx.start_once.end() && full_dose->second == "1");
  st.max_open_files = static_cast<std::size_t>(cfg.get_int("max_open_files"));
  st.checkpoint_interval = cfg.get_duration("checkpoint_interval");
  st.credit = credit_window(static_cast<std::uint64_t>(cfg.get_int("window")));
  st.store = checkpoint_store(state_file(ctx, "file-input", "checkpoints"));
  st.store_file = std::make_shared<checkpoint_file>(st.store.path());
  st.saver = spawn_helper(self, checkpoint_saver, st.store_file); // see checkpoint_saver.hpp
  st.first_start = !std::filesystem::exists(st.store.path());
  std::string error;
  if (!st.store.load(error)) {
    log::error("input {}: {}; starting without checkpoints", st.component, error);
    st.first_start = false; // what is there may have been shipped: do not skip it
  }
  self->set_down_handler([=](caf::down_msg& msg) {
    for (auto& [id, file] : self->state.files)
      if (file.tail && file.tail.address() == msg.source) {
        tail_down(self, id, msg.reason);
        return;
      }
  });
  struct stat info;
  if (::stat(settings->folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    log::error("input {}: {} is not a folder", st.component, settings->folder);
    self->quit(caf::make_error(caf::sec::runtime_error, "path is not a folder"));
    return dir_watcher_actor::behavior_type::make_empty_behavior();
  }
  if (!start_watching(self)) {
    self->quit(caf::make_error(caf::sec::runtime_error, "cannot watch the folder"));
    return dir_watcher_actor::behavior_type::make_empty_behavior();
  }
  self->request(ctx.bus, caf::infinite, attach_atom_v, input_atom_v, ctx.index)
    .then([=](std::uint64_t first_seq) {
      auto& st = self->state;
      st.credit.open(first_seq);
      scan(self, true);
      // Forget checkpoints of files that are gone for good.
      for (const auto& cp : st.store.all()) {
        bool known = std::any_of(st.files.begin(), st.files.end(), [&](const auto& f) {
          return f.second.identity.same_inode(cp.id);
        });
        if (!known)
          st.store.erase(cp.id);
      }
      schedule_flush(self);
      log::info("input {}: watching {} ({} files)", st.component, st.settings->folder,
                st.files.size());
      grant(self);
    });
  return {
    [=](ack_atom, std::uint64_t seq) {
      auto& st = self->state;
      if (!st.credit.ack(seq))
        return;
      if (auto o = st.owners.find(seq); o != st.owners.end()) {
        auto id = o->second;
        st.owners.erase(o);
        if (auto f = st.files.find(id); f != st.files.end()) {
          for (auto& b : f->second.in_flight)
            if (b.seq == seq)
              b.acked = true;
          advance_checkpoint(self, id);
        }
      } else if (st.granted.count(seq) > 0) {
        // The bus was faster than the tail's `published`: remember the ack.
        st.acked_early.insert(seq);
      }
      grant(self);
    },
    [=](stop_atom) -> caf::result<bool> {
      auto& st = self->state;
      st.stopped = true;
      for (auto& [id, file] : st.files)
        if (file.tail)
          self->send(file.tail, stop_atom_v);
      // Tails holding a sequence number may still publish: answer once each
      // has published or given it back.
      st.stop_promise = self->make_response_promise<bool>();
      answer_stop_when_quiet(self);
      return st.stop_promise;
    },
    [=](readable_atom) { read_events(self); },
    [=](credit_atom, tail_id id) {
      auto promise = self->make_response_promise<std::uint64_t>();
      self->state.waiting.emplace_back(id, promise);
      grant(self);
      return promise;
    },
    [=](published_atom, tail_id id, std::uint64_t seq, std::uint64_t end) {
      auto& st = self->state;
      st.granted.erase(seq);
      answer_stop_when_quiet(self);
      auto f = st.files.find(id);
      if (f == st.files.end()) {
        give_back(self, seq);
        return;
      }
      bool acked = st.acked_early.erase(seq) > 0;
      if (!acked)
        st.owners.emplace(seq, id);
      f->second.in_flight.push_back({seq, end, f->second.source_id, acked});
      f->second.last_active = self->clock().now();
      if (acked)
        advance_checkpoint(self, id);
    },
    [=](release_atom, std::uint64_t seq) {
      self->state.granted.erase(seq);
      answer_stop_when_quiet(self);
      give_back(self, seq);
    },
    [=](identity_atom, tail_id id, std::uint64_t device, std::uint64_t inode,
        std::uint32_t prefix_length, std::uint64_t hash, std::uint64_t source_id) {
      auto f = self->state.files.find(id);
      if (f == self->state.files.end())
        return;
      auto& file = f->second;
      file.identity = file_identity{device, inode, prefix_length, hash};
      if (source_id != file.source_id) {
        // Read again from 0: what was delivered of the previous generation
        // is gone from the file, the checkpoint starts over at once.
        file.source_id = source_id;
        file.acked_offset = 0;
        put_checkpoint(self, file);
      }
    },
    [=](opened_atom, tail_id id) {
      auto& st = self->state;
      if (auto f = st.files.find(id); f != st.files.end() && !f->second.open) {
        f->second.open = true;
        ++st.open_files;
        enforce_open_limit(self);
      }
    },
    [=](closed_atom, tail_id id) {
      auto& st = self->state;
      if (auto f = st.files.find(id); f != st.files.end() && f->second.open) {
        f->second.open = false;
        --st.open_files;
      }
    },
    [=](finished_atom, tail_id id) {
      auto& st = self->state;
      if (auto f = st.files.find(id); f != st.files.end()) {
        f->second.finished = true;
        f->second.read_to_end = true;
        if (auto n = st.by_name.find(f->second.name); n != st.by_name.end() && n->second == id)
          st.by_name.erase(n);
        forget_if_done(self, id);
      }
    },
    [=](flush_atom) { flush(self); },
  };
}

config::kind_schema file_input_schema() {
  using namespace config;
  constexpr std::int64_t us_per_s = 1000 * 1000;
  kind_schema schema;
  schema.type = "file";
  schema.summary =
    "Watches a folder with inotify and ships what is appended to its files in real time, "
    "new files included; follows renames (rotation), truncation and deletion; keeps "
    "checkpoints in `[agent] data_dir` so that a restart resumes after the last delivered "
    "byte.";
  schema.keys = {
    required(make_key("path", value_kind::path, "",
                      "The folder to watch (absolute, or relative to the configuration "
                      "file). It must exist.")),
    make_key("files", value_kind::string_list, "[]",
             "Globs on the file name (`*` any run of characters, `?` one character), e.g. "
             "`[\"*.log\", \"app-??.txt\"]`. Empty: every regular file."),
    make_key("exclude_files", value_kind::string_list, "[]",
             "Globs of names not to collect, applied after `files`."),
    make_key("read_from_head", value_kind::boolean, "false",
             "On the very first start (no checkpoints yet), ship the whole content of the "
             "files already there. `false`: only what is appended from then on. "
             "`--start-once-for-env \"start_once_for_full_dose 1\"` sets it for that start."),
    make_key("line_mode", value_kind::boolean, "false",
             "Every block ends at a newline; an incomplete last line waits for its newline."),
    bounded(make_key("max_line", value_kind::size, "\"64KiB\"",
                     "In line mode, a longer line is split (and counted in a warning)."),
            1, 64 << 20),
    choice_of(make_key("compress", value_kind::choice, "\"none\"",
                       "`deflate`: each block is shipped as one zlib stream (compatible with "
                       "logpipe 1.x; blocks are then at most 101,376 bytes before "
                       "compression)."),
              {"none", "deflate"}),
    bounded(make_key("compress_level", value_kind::integer, "-1",
                     "Deflate level, 0 (stored) to 9 (small); -1 is zlib's default (6)."),
            -1, 9),
    bounded(make_key("rotate_size", value_kind::size, "0",
                     "Rotate a file once it reaches this size: rename it to "
                     "`_<name>-YYYYMMDD_HHMMSS_<microseconds>` in the same folder (the "
                     "application's next write creates a new file). Every byte written "
                     "before the rename is shipped; such files are not collected again. "
                     "0: never."),
            0),
    make_key("exec_before_rotating", value_kind::string, "\"\"",
             "Shell command run before such a rotation, with LOGPIPE_ROTATING_PATHNAME, "
             "LOGPIPE_ROTATING_OLD_FILENAME and LOGPIPE_ROTATING_NEW_FILENAME set."),
    make_key("exec_after_rotating", value_kind::string, "\"\"",
             "Shell command run after such a rotation, with the same variables."),
    bounded(make_key("hook_timeout", value_kind::duration, "\"60s\"",
                     "A rotation hook still running after this is killed (and logged)."),
            1000, 3600 * us_per_s),
    bounded(make_key("block_size", value_kind::size, "\"128KiB\"",
                     "Largest block read from a file at once."),
            4096, 64 << 20),
    bounded(make_key("window", value_kind::integer, "4",
                     "Blocks in flight for the whole input (all its files together): "
                     "memory is bounded by window × block_size."),
            1, 65536),
    bounded(make_key("max_open_files", value_kind::integer, "1024",
                     "Most descriptors kept open; beyond it the least recently active "
                     "file is closed (and reopened on its next change)."),
            1, 1000000),
    bounded(make_key("checkpoint_interval", value_kind::duration, "\"50ms\"",
                     "Checkpoints are written at most this often while blocks are "
                     "acknowledged (and at stop). After a crash, what was in flight and "
                     "what was acknowledged within this interval is shipped again; 0 "
                     "writes them as soon as the previous save is done."),
            0, 3600 * us_per_s),
    bounded(make_key("close_inactive", value_kind::duration, "\"60s\"",
                     "A file idle this long is closed (reopened on its next change); a "
                     "deleted or rotated-away file is read one last time and dropped."),
            1000, 24 * 3600 * us_per_s),
  };
  schema.check = [](const component_config& c) {
    std::vector<key_problem> problems;
    struct stat info;
    const auto& path = c.get_string("path");
    if (::stat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
      problems.push_back({"path", "must name an existing folder, got \"" + path + "\""});
    return problems;
  };
  return schema;
}

input_actor spawn_file_input(caf::actor_system& sys, const component_context& ctx) {
  return sys.spawn(dir_watcher, ctx);
}

} // namespace logpipe
