#pragma once
// The masked form of a key that may appear in status, events and logs: "nt_…9f3a".

#include <string>
#include <string_view>

namespace keyward::apikey {

// Keys shorter than this show no trailing characters at all.
inline constexpr std::size_t kMinKeyLengthForHint = 12;
// How many trailing characters a hint shows.
inline constexpr std::size_t kHintTailLength = 4;

// `prefix` + "…" (U+2026) + the last 4 characters of `key`. The prefix is shown only when the key
// really starts with it (a generated key's recognisable, non-secret prefix; pass "" for keys from
// secretRef or http sources). A key shorter than 12 characters, or one whose part after the
// prefix is shorter than 12, shows no tail: "nt_…" (or "…"). Never reveals more than that.
[[nodiscard]] std::string mask_key(std::string_view key, std::string_view prefix);

}  // namespace keyward::apikey
