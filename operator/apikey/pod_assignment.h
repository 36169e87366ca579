#pragma once
// Which ApiKey a pod asks for: the one reader of the keyward.dev/inject annotation and the
// keyward.dev/apikey label (docs/contracts.md), for the webhook, the broker's authorizer, the
// restarter and the operator's event routing. Before there was one reader, "bots/alpha" in
// namespace bots was injected by the webhook but enqueued as "bots/bots/alpha" and never seen
// as a consumer.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "operator/apikey/names.h"

namespace keyward::apikey {

struct InjectReference {
  std::string ns;    // the namespace the value names, or the pod's own when it names none
  std::string name;  // "" when the value names no ApiKey ("bots/")
  bool explicit_namespace = false;
};

// Parses an inject annotation value, "<name>" or "<namespace>/<name>" (surrounding white space
// ignored). nullopt for an empty value.
[[nodiscard]] std::optional<InjectReference> parse_inject_annotation(std::string_view value,
                                                                     std::string_view pod_ns);

// The inject annotation of a pod object (metadata.annotations), parsed; pod_ns overrides
// metadata.namespace when given (an AdmissionReview's pod may have none).
[[nodiscard]] std::optional<InjectReference> inject_reference(const nlohmann::json& pod,
                                                              std::string_view pod_ns = {});

// The ApiKey (in the pod's own namespace) a pod belongs to: its inject annotation when it has
// one, else its keyward.dev/apikey label (the webhook sets both to the same key). nullopt when it
// names none, or names an ApiKey of another namespace (which it may not use).
[[nodiscard]] std::optional<std::string> assigned_apikey(const nlohmann::json& pod);

// The key version recorded on a pod (keyward.dev/key-version, docs/contracts.md): nullopt when
// none is, or when the value is not a non-negative integer (then it counts as not recorded and
// the operator records the real one over it).
[[nodiscard]] std::optional<std::int64_t> recorded_key_version(const nlohmann::json& pod);

}  // namespace keyward::apikey
