#pragma once
// Names every part of the operator shares (docs/contracts.md, "Annotations and labels"), read
// from here rather than spelled again.

#include <string_view>

#include "common/kube/kube_api.h"

namespace keyward::apikey {

// The ApiKey custom resource (crds/apikey.yaml): group keyward.dev, version v1alpha1.
inline kube::ResourceType apikey_resource() {
  return {"keyward.dev", "v1alpha1", "apikeys", "ApiKey", true};
}

// On a Pod: the key version the pod's sidecar first delivered, written only by the operator
// (the broker records it; docs/contracts.md, "Which key version a pod runs"). On the key
// Secret: the version of data.apiKey.
inline constexpr std::string_view kKeyVersionAnnotation = "keyward.dev/key-version";

// On a Pod (template), set by the user: the ApiKey the pod asks for, "<name>" or
// "<namespace>/<name>" (its own namespace only). Parsed by pod_assignment.h alone.
inline constexpr std::string_view kInjectAnnotation = "keyward.dev/inject";
// On a pod of a service that accepts the keys an ApiKey issues: "<name>" or "<a>,<b>" (ApiKeys
// of the pod's namespace). Such a pod may ask the broker to verify a presented key.
inline constexpr std::string_view kAcceptsAnnotation = "keyward.dev/accepts";
// On an ApiKey, set by a person or `keyward-operator rotate`: rotate now (an emergency after a
// leak), outside windows. A new value means one more rotation; the same value again nothing
// (the value handled last is kept on the key Secret as kRotateRequestHandled).
inline constexpr std::string_view kRotateAnnotation = "keyward.dev/rotate";
// With kRotateAnnotation: "true" ends the previous key's grace at once (it is dropped, and the
// pods still on it are restarted now, outside windows; held pods reach their deadline).
inline constexpr std::string_view kRotateEndGraceAnnotation = "keyward.dev/rotate-end-grace";
// With kRotateAnnotation: who asked (for the Event).
inline constexpr std::string_view kRotateRequestedByAnnotation = "keyward.dev/rotate-requested-by";
// On the key Secret: the kRotateAnnotation value the last forced rotation was for (written in
// the same update as the key, so a crash never rotates twice for one request).
inline constexpr std::string_view kRotateRequestHandled = "keyward.dev/rotate-request";
// On the key Secret: when the previous key stops being valid (rotation time + grace, or the
// rotation time itself after a forced end of grace). Stale pods are restarted outside windows
// from then on.
inline constexpr std::string_view kGraceEndsAt = "keyward.dev/grace-ends-at";
// On the key Secret: the previous key version revoked by Keyward ("<n>") whose revocation at the
// provider (spec.source.http.revokeUrl) has not succeeded yet. It is kept only to retry that
// call: no longer delivered, listed or valid.
inline constexpr std::string_view kPreviousRevoked = "keyward.dev/previous-revoked";

// On a Namespace, set by the cluster's admins: "live" lets live keys (spec.environment: live)
// be delivered to its pods; no other namespace gets one (webhook and broker refuse).
inline constexpr std::string_view kTradingLabel = "keyward.dev/trading";

// On a Pod (the webhook) and on the key Secret (the operator): which ApiKey.
inline constexpr std::string_view kApiKeyLabel = "keyward.dev/apikey";

// The finalizer of every ApiKey (removed when deletion is allowed).
inline constexpr std::string_view kFinalizer = "keyward.dev/cleanup";

namespace annotation {
inline constexpr std::string_view kKeyVersion = kKeyVersionAnnotation;
inline constexpr std::string_view kContentHash = "keyward.dev/content-hash";
inline constexpr std::string_view kRotatedAt = "keyward.dev/rotated-at";
// An http-source rotation in flight: the Idempotency-Key sent to the provider. Persisted BEFORE
// the provider is called; removed in the same write that stores the returned key.
inline constexpr std::string_view kRotationNonce = "keyward.dev/rotation-nonce";
inline constexpr std::string_view kHold = "keyward.dev/hold";
inline constexpr std::string_view kHoldSince = "keyward.dev/hold-since";
inline constexpr std::string_view kRestartedAt = "kubectl.kubernetes.io/restartedAt";
// On a workload's metadata: the key version its last rollout restart was for (once per owner
// per key version).
inline constexpr std::string_view kRestartedForVersion = "keyward.dev/restarted-for-version";
}  // namespace annotation

namespace secret_field {
inline constexpr std::string_view kApiKey = "apiKey";
inline constexpr std::string_view kPreviousApiKey = "previousApiKey";
// The secret and passphrase paired with the key (docs/apikey.md, "Key material"), and their
// previous versions during the grace period.
inline constexpr std::string_view kApiSecret = "apiSecret";
inline constexpr std::string_view kPassphrase = "passphrase";
inline constexpr std::string_view kPreviousApiSecret = "previousApiSecret";
inline constexpr std::string_view kPreviousPassphrase = "previousPassphrase";
inline constexpr std::string_view kPreviousExpiresAt = "previousExpiresAt";
// The version of apiKey, as data (not secret): a Secret volume projects data only, and a
// direct-mode sidecar reports the version it delivered (docs/contracts.md).
inline constexpr std::string_view kKeyVersion = "keyVersion";
// "true" or "false": spec.active, for direct-mode sidecars (they read the Secret volume): false
// stops delivery (state Inactive) without restarting anything.
inline constexpr std::string_view kActive = "active";
}  // namespace secret_field

}  // namespace keyward::apikey
