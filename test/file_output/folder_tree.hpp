#pragma once

// What a folder holds, for tests that check which files an output wrote.

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace logpipe::test {

/// Every entry under `root`, relative, sorted (symbolic links not followed).
inline std::vector<std::string> tree(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  std::vector<std::string> result;
  for (auto i = fs::recursive_directory_iterator(root); i != fs::recursive_directory_iterator();
       ++i)
    result.push_back(fs::relative(i->path(), root).string());
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace logpipe::test
