#pragma once
// The operator-owned Secret `keyward-<apikey>` (docs/contracts.md): reading it into a typed view,
// and the names of the annotations and labels the controller reads and writes.
//
// The Secret is the single source of truth for the key and its version: rotation decisions read
// keyward.dev/rotated-at and keyward.dev/key-version from it, never from the ApiKey's status
// (status is a report, rebuilt from the Secret every time). That is what makes a lost status
// write harmless and a crash between "Secret written" and "status written" safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/core/base64.h"
#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/kube/kube_api.h"
#include "operator/apikey/names.h"

namespace keyward::controller {

inline constexpr std::string_view kFinalizer = "keyward.dev/cleanup";
inline constexpr std::string_view kApiKeyLabel = apikey::kApiKeyLabel;

namespace annotation {
inline constexpr std::string_view kKeyVersion = apikey::kKeyVersionAnnotation;
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
inline constexpr std::string_view kPreviousExpiresAt = "previousExpiresAt";
// The version of apiKey, as data (not secret): a Secret volume projects data only, and a
// direct-mode sidecar reports the version it delivered (docs/contracts.md).
inline constexpr std::string_view kKeyVersion = "keyVersion";
// "true" or "false": spec.active, for direct-mode sidecars (they read the Secret volume): false
// stops delivery (state Inactive) without restarting anything.
inline constexpr std::string_view kActive = "active";
}  // namespace secret_field

struct KeySecret {
  kube::Object object;  // as read (resourceVersion for conditional writes)
  std::string current_key;
  std::optional<std::string> previous_key;
  std::optional<SystemTime> previous_expires_at;
  std::int64_t version = 0;
  std::string content_hash;
  std::optional<SystemTime> rotated_at;
  std::string rotation_nonce;  // empty when no http rotation is in flight
  std::string rotate_request;  // the keyward.dev/rotate value last handled ("" for none)
  std::optional<SystemTime> grace_ends_at;  // when the previous key stops being valid
  // data.keyVersion equals the key-version annotation (false on Secrets written before the
  // field existed: the operator adds it).
  bool version_field_current = false;
  // data.active; absent counts as true (Secrets written before the field existed).
  bool active = true;

  [[nodiscard]] bool owned_by(const std::string& uid) const;
};

// Reads the Secret; registers every key it finds with the redactor before anything else.
// A Secret without an apiKey gives Error{"SecretKeyMissing", ...}.
[[nodiscard]] Result<KeySecret> read_key_secret(const kube::Object& secret, Redactor& redactor);

// Annotation helpers on any object's metadata.
[[nodiscard]] std::string get_annotation(const kube::Object& object, std::string_view name);
[[nodiscard]] bool has_annotation(const kube::Object& object, std::string_view name);

}  // namespace keyward::controller
