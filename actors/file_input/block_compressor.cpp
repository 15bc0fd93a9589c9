#include "actors/file_input/block_compressor.hpp"

#include "actors/shared/deflate.hpp"

#include <utility>
#include <vector>

namespace logpipe {

block_compressor_actor::behavior_type block_compressor() {
  return {
    [](compress_atom, log_block& blk, int level) {
      std::vector<char> compressed;
      deflate_block(blk.bytes.data(), blk.bytes.size(), level, compressed);
      blk.bytes = std::move(compressed);
      blk.flags |= deflated;
      return std::move(blk);
    },
  };
}

} // namespace logpipe
