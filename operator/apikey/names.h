#pragma once
// Names every part of the operator shares (docs/contracts.md, "Annotations and labels"), read
// from here rather than spelled again.

#include <string_view>

namespace keyward::apikey {

// On a Pod: the key version the pod's sidecar first delivered, written only by the operator
// (the broker records it; docs/contracts.md, "Which key version a pod runs"). On the key
// Secret: the version of data.apiKey.
inline constexpr std::string_view kKeyVersionAnnotation = "keyward.dev/key-version";

// On a Pod (template), set by the user: the ApiKey the pod asks for, "<name>" or
// "<namespace>/<name>" (its own namespace only). Parsed by pod_assignment.h alone.
inline constexpr std::string_view kInjectAnnotation = "keyward.dev/inject";
// On a Pod (the webhook) and on the key Secret (the operator): which ApiKey.
inline constexpr std::string_view kApiKeyLabel = "keyward.dev/apikey";

}  // namespace keyward::apikey
