#pragma once
// What a direct-mode sidecar receives from the broker instead of mounting key material
// (docs/contracts.md, GET .../key): the ApiKey's current key and its login fields, read from the
// operator's caches and opened (unsealed) in the operator's memory only. Any replica answers: no
// upstream session is involved.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/kube/informer.h"
#include "operator/apikey/key_sealer.h"

namespace keyward::broker {

struct DeliveredKey {
  std::int64_t key_version = 0;
  bool active = true;  // false: spec.active is false, and no field is delivered
  // Login field name (docs/contracts.md: apiKey, username, password, clientId, ...) -> value.
  std::map<std::string, std::string> fields;
};

// Only keys a direct-mode sidecar needs are delivered: provider none (always injected in direct
// mode), and keys with a token exchange only when `exchange_keys` (the operator injects direct
// mode); else KeyNotDelivered (http 409): a broker-mode pod gets tokens, never the key.
// Errors: ApiKeyNotFound (http 404); KeyPending (503: the key Secret or the credentials Secret is
// not there yet, or the ApiKey does not parse); the key Secret's own reasons (503: KekMissing,
// KekWrong, SealedDataTampered, ...). Every value read is registered with the redactor.
[[nodiscard]] Result<DeliveredKey> deliver_key(const kube::Store& apikeys,
                                               const kube::Store& secrets,
                                               const apikey::KeySealer* sealer, Redactor& redactor,
                                               const std::string& ns, const std::string& name,
                                               bool exchange_keys);

// The key versions of an ApiKey valid now, as SHA-256 digests (never the keys): the current one
// and, until its grace ends (now), the previous one; none while the ApiKey is inactive. What
// GET .../digests gives an accepting pod, and what verify compares with. Errors as deliver_key.
struct ValidKeyDigest {
  std::int64_t key_version = 0;
  std::array<unsigned char, 32> sha256{};
  bool current = false;
  std::optional<SystemTime> valid_until;  // the previous version: when its grace ends
};
struct ValidKeys {
  std::int64_t key_version = 0;  // the current version
  bool active = true;
  std::vector<ValidKeyDigest> keys;  // current first
};
[[nodiscard]] Result<ValidKeys> valid_keys(const kube::Store& apikeys, const kube::Store& secrets,
                                           const apikey::KeySealer* sealer, Redactor& redactor,
                                           const std::string& ns, const std::string& name,
                                           SystemTime now);

// What the broker says of a key a client presented to a service that accepts the ApiKey's keys
// (POST .../verify): valid keys are the current version and, until its grace ends (now), the
// previous one.
struct KeyVerdict {
  bool valid = false;
  std::int64_t key_version = 0;  // the version it matched (valid only)
  bool current = false;          // it is the current version (false: the previous one)
  std::string reason;            // not valid: Inactive | UnknownKey | Revoked
  std::string message;
};

// Compares SHA-256 digests in constant time; the presented key is never logged or returned.
// Errors as deliver_key.
[[nodiscard]] Result<KeyVerdict> verify_key(const kube::Store& apikeys, const kube::Store& secrets,
                                            const apikey::KeySealer* sealer, Redactor& redactor,
                                            const std::string& ns, const std::string& name,
                                            const std::string& presented, SystemTime now);

}  // namespace keyward::broker
