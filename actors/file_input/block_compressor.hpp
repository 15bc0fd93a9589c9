#pragma once

// One of a file input's compressors: deflates the blocks its tails send it
// and answers them. A file input has one per scheduler thread, and a tail
// hands its blocks to them in turn, so that compressing one busy file keeps
// every core busy; the tail publishes the answers in the order it read them.
// Each runs detached, on a thread of its own: a scheduler thread busy
// compressing would leave the actors queued behind it waiting, and an idle
// one may not steal work for up to 10 ms.

#include "messages/file_input.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace logpipe {

block_compressor_actor::behavior_type block_compressor();

} // namespace logpipe
