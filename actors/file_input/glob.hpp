#pragma once

// File-name globs of the file input: `*` matches any run of characters
// (including none), `?` exactly one character; every other character matches
// itself (no character classes, no escapes). Matching is on the bare file
// name, never on a path.

#include <string>
#include <string_view>
#include <vector>

namespace logpipe {

bool glob_match(std::string_view pattern, std::string_view name);

/// The include/exclude rule of one file input: a name is collected if it
/// matches one of `include` (or `include` is empty) and none of `exclude`.
class name_filter {
public:
  name_filter(std::vector<std::string> include, std::vector<std::string> exclude);
  bool accepts(std::string_view name) const;

private:
  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
};

} // namespace logpipe
