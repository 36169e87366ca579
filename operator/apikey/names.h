#pragma once
// Names every part of the operator shares (docs/contracts.md, "Annotations and labels"), read
// from here rather than spelled again.

#include <string_view>

namespace keyward::apikey {

// On a Pod: the key version the pod's sidecar first delivered, written only by the operator
// (the broker records it; docs/contracts.md, "Which key version a pod runs"). On the key
// Secret: the version of data.apiKey.
inline constexpr std::string_view kKeyVersionAnnotation = "keyward.dev/key-version";

}  // namespace keyward::apikey
