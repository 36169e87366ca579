#pragma once
// The operator-owned Secret `keyward-<apikey>` (docs/contracts.md): reading it into a typed view,
// and the names of the annotations and labels the controller reads and writes.
//
// The Secret is the single source of truth for the key and its version: rotation decisions read
// keyward.dev/rotated-at and keyward.dev/key-version from it, never from the ApiKey's status
// (status is a report, rebuilt from the Secret every time). That is what makes a lost status
// write harmless and a crash between "Secret written" and "status written" safe.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/core/base64.h"
#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/kube/kube_api.h"
#include "operator/apikey/key_material.h"
#include "operator/apikey/key_sealer.h"
#include "operator/apikey/names.h"

namespace keyward::apikey {

struct KeySecret {
  kube::Object object;                  // as read (resourceVersion for conditional writes)
  KeyMaterial current;                  // apiKey, and apiSecret / passphrase when the key has them
  std::optional<KeyMaterial> previous;  // every field of the version before, during grace
  std::optional<SystemTime> previous_expires_at;
  std::int64_t version = 0;
  std::string content_hash;
  std::optional<SystemTime> rotated_at;
  std::string rotation_nonce;  // empty when no http rotation is in flight
  std::string rotate_request;  // the keyward.dev/rotate value last handled ("" for none)
  std::optional<SystemTime> grace_ends_at;  // when the previous key stops being valid
  // The previous key was revoked by Keyward and is kept only until the provider's revoke call
  // succeeds (kPreviousRevoked): not delivered, listed or valid.
  bool previous_revoked = false;
  // data.keyVersion equals the key-version annotation (false on Secrets written before the
  // field existed: the operator adds it).
  bool version_field_current = false;
  // data.active; absent counts as true (Secrets written before the field existed).
  bool active = true;
  // How the key fields are stored: the KEK ids of the sealed ones (docs/sealing.md), and whether
  // any is plaintext (written before sealing, or a seed key a person put there). The reconciler
  // re-seals when a field is plaintext or sealed with a KEK that is no longer the primary.
  std::set<std::string> sealed_with;
  bool plaintext_fields = false;

  [[nodiscard]] bool owned_by(const std::string& uid) const;
};

// The ApiKey a key Secret belongs to: what its sealed fields are bound to.
struct KeyOwner {
  std::string ns;
  std::string name;
  std::string uid;
};

// Reads the Secret, opening sealed fields with `sealer` (null: the operator runs without KEKs,
// and a sealed field gives KekMissing); registers every key it finds with the redactor before
// anything else. A Secret without an apiKey gives Error{"SecretKeyMissing", ...}; a field that
// does not open gives KeySealer's KekMissing / KekWrong / SealedDataTampered.
[[nodiscard]] Result<KeySecret> read_key_secret(const kube::Object& secret, Redactor& redactor,
                                                const KeySealer* sealer, const KeyOwner& owner);

// Which key versions a key Secret holds valid at a moment, read from its annotation and plain
// data fields without opening anything (cheap enough for every broker request).
struct KeyVersions {
  std::int64_t current = 0;
  // previousApiKey is kept, previousExpiresAt is ahead, and Keyward has not revoked it
  bool previous_valid = false;

  // A version older than the current one that is no longer valid: its previous-key time ended,
  // or it was revoked early when every pod had moved (docs/apikey.md, "Two-phase rotation").
  [[nodiscard]] bool revoked(std::int64_t version) const {
    return version > 0 && version < current && !(previous_valid && version == current - 1);
  }
};
// nullopt: not a key Secret with a version (yet).
[[nodiscard]] std::optional<KeyVersions> key_versions(const kube::Object& secret, SystemTime now);

// The data of a Secret a user manages (a credentials Secret), decoded, trailing newlines cut;
// every value is registered with the redactor as it is read. InvalidSecret for data that is not
// base64.
[[nodiscard]] Result<std::map<std::string, std::string>> read_secret_fields(
    const kube::Object& secret, Redactor& redactor);

// The value to store for a key field (`field` is its name in KeyMaterial, "apiKey", also for the
// previous version): sealed when a sealer is given, else the value as it is.
[[nodiscard]] Result<std::string> stored_key_value(const std::string& value, std::string_view field,
                                                   std::int64_t version, const KeySealer* sealer,
                                                   const KeyOwner& owner);

}  // namespace keyward::apikey
