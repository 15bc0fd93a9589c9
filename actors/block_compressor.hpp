#pragma once

// One of a file input's compressors: deflates the blocks its tails send it
// and answers them. A file input has one per scheduler thread, and a tail
// hands its blocks to them in turn, so that compressing one busy file keeps
// every core busy; the tail publishes the answers in the order it read them.

#include "messages/file_input.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace logpipe {

block_compressor_actor::behavior_type block_compressor();

} // namespace logpipe
