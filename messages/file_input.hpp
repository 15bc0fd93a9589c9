#pragma once

// The file input's own vocabulary: one dir_watcher per watched folder (it is
// the input the bus knows) and one file_tail per file it collects. The tails
// share the watcher's credit window: each asks for one sequence number per
// block, so a busy file waits its turn behind the others.

#include "messages/interfaces.hpp"

#include <cstdint>
#include <string>

namespace logpipe {

/// Tail ids are the watcher's own numbers for its tails.
using tail_id = std::uint64_t;

/// Compresses blocks for the tails of a file input, so that one busy file
/// is compressed on every scheduler thread: (compress, block, level) answers
/// the block with its bytes deflated.
using block_compressor_actor =
  caf::typed_actor<caf::replies_to<compress_atom, log_block, int>::with<log_block>>;

/// Writes a file input's checkpoints away from its watcher, so that a slow
/// fsync holds up no reading: (save, generation, text) writes `text` unless
/// a later generation is on disk already, and answers the error ("": none).
using checkpoint_saver_actor = caf::typed_actor<
  caf::replies_to<save_atom, std::uint64_t, std::string>::with<std::string>>;

using dir_watcher_actor = input_actor::extend<
  // From the fd_watcher: the inotify descriptor has events.
  caf::reacts_to<readable_atom>,
  // From a tail: it wants to publish one block; answers the sequence number
  // to use, once the window has room.
  caf::replies_to<credit_atom, tail_id>::with<std::uint64_t>,
  // From a tail: it published `seq`, ending at this offset of its file.
  caf::reacts_to<published_atom, tail_id, std::uint64_t, std::uint64_t>,
  // From a tail: it did not use the sequence number it was given.
  caf::reacts_to<release_atom, std::uint64_t>,
  // From a tail: its file's identity, taken again (device, inode, prefix
  // length, prefix hash), and the source id it reads the file under; a new
  // one when it reads the file again from 0 (truncated or replaced).
  caf::reacts_to<identity_atom, tail_id, std::uint64_t, std::uint64_t,
                 std::uint32_t, std::uint64_t, std::uint64_t>,
  // From a tail: it opened or closed its descriptor.
  caf::reacts_to<opened_atom, tail_id>,
  caf::reacts_to<closed_atom, tail_id>,
  // From a tail: its file is gone and fully read; it ends.
  caf::reacts_to<finished_atom, tail_id>,
  // Write the checkpoints now.
  caf::reacts_to<flush_atom>>;

using file_tail_actor = caf::typed_actor<
  // The file changed (or may have): read what is new.
  caf::reacts_to<modified_atom>,
  // The file has a new name in the folder; false: it is no longer collected
  // (rotated away): read it to its end, then finish once idle.
  caf::reacts_to<renamed_atom, std::string, bool>,
  // The file was deleted or moved out of the folder.
  caf::reacts_to<removed_atom>,
  // Too many open files: close the descriptor if idle.
  caf::reacts_to<close_atom>,
  // The agent stops: publish nothing more.
  caf::reacts_to<stop_atom>,
  // Internal timer: idle check, hook supervision.
  caf::reacts_to<tick_atom>>;

} // namespace logpipe
