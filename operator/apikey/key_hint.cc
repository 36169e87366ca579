#include "operator/apikey/key_hint.h"

namespace keyward::apikey {

std::string mask_key(std::string_view key, std::string_view prefix) {
  constexpr std::string_view kEllipsis = "\u2026";
  std::string hint;
  std::string_view rest = key;
  if (!prefix.empty() && key.starts_with(prefix)) {
    hint.append(prefix);
    rest.remove_prefix(prefix.size());
  }
  hint.append(kEllipsis);
  if (key.size() >= kMinKeyLengthForHint && rest.size() >= kMinKeyLengthForHint) {
    hint.append(rest.substr(rest.size() - kHintTailLength));
  }
  return hint;
}

}  // namespace keyward::apikey
