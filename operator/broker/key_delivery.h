#pragma once
// What a direct-mode sidecar receives from the broker instead of mounting key material
// (docs/contracts.md, GET .../key): the ApiKey's current key and its login fields, read from the
// operator's caches and opened (unsealed) in the operator's memory only. Any replica answers: no
// upstream session is involved.

#include <cstdint>
#include <map>
#include <string>

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

// Errors: ApiKeyNotFound (http 404); KeyPending (503: the key Secret or the credentials Secret is
// not there yet, or the ApiKey does not parse); the key Secret's own reasons (503: KekMissing,
// KekWrong, SealedDataTampered, ...). Every value read is registered with the redactor.
[[nodiscard]] Result<DeliveredKey> deliver_key(const kube::Store& apikeys,
                                               const kube::Store& secrets,
                                               const apikey::KeySealer* sealer, Redactor& redactor,
                                               const std::string& ns, const std::string& name);

}  // namespace keyward::broker
