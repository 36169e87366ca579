#pragma once
// A comma-separated list of names, as annotations and flags write them ("a, b,c"): each item
// trimmed of spaces and tabs, empty items dropped, a repeated name kept once (first place).
// The one reader of keyward.dev/accepts, keyward.dev/containers and the sidecar's accept-mode
// --apikey.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace keyward {

inline std::vector<std::string> split_name_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    const auto first = item.find_first_not_of(" \t");
    if (first != std::string_view::npos) {
      item = item.substr(first, item.find_last_not_of(" \t") - first + 1);
      if (std::find(out.begin(), out.end(), item) == out.end()) out.emplace_back(item);
    }
    start = comma + 1;
  }
  return out;
}

}  // namespace keyward
