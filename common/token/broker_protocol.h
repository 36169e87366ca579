#pragma once
// Names of the broker's HTTP API that both sides read (docs/contracts.md, "Token broker").

#include <string_view>

namespace keyward::broker_protocol {

// Sent by a sidecar on every token and key fetch: the key version of what it holds now (absent
// when it holds nothing). The broker never answers a token of a revoked version, and refuses
// with 410 KeyVersionRevoked a caller that holds one and cannot be given a current one.
inline constexpr std::string_view kHeldKeyVersionHeader = "X-Keyward-Key-Version";
inline constexpr std::string_view kKeyVersionRevoked = "KeyVersionRevoked";

}  // namespace keyward::broker_protocol
