#include "messages/log_block.hpp"

#include <tuple>

namespace logpipe {

bool operator==(const log_block& a, const log_block& b) {
  auto fields = [](const log_block& x) {
    return std::tie(x.origin, x.file_name, x.offset, x.source_id, x.flags, x.input, x.seq,
                    x.bytes);
  };
  return fields(a) == fields(b);
}

} // namespace logpipe
