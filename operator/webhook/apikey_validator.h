#pragma once
// The /validate-apikeys handler: judges ApiKeys the OpenAPI schema cannot.
// On CREATE and UPDATE, exclusive in both directions:
//   - no other ApiKey of the namespace names the same spec.consumers.workloadRef (a workload
//     uses one key; the webhook already gives each pod one key);
//   - no other ApiKey of the cluster logs in to the same upstream account: provider, endpoint
//     (scheme and host compared without case, no trailing slash) and the login identity of its
//     credentials Secret (username, else clientId), since two sessions on one Tradovate user
//     knock each other out. An ApiKey whose credentials Secret does not exist yet is not
//     compared (checked again when it is changed).
// On UPDATE, while any pod using the key holds it (keyward.dev/hold, "open positions"):
//   - spec.consumers.workloadRef may not be reassigned (the held pods would lose their key), and
//   - spec.source may not change (a new source means a new key, and a restart the pod refuses).
// Pods using the key are found by the label keyward.dev/apikey=<name> the webhook sets.
// Lookup failures fail closed with a 500 (the chart's failurePolicy decides what the API server
// does when the webhook itself is unreachable).

#include <optional>
#include <string>

#include "common/core/log.h"
#include "common/kube/kube_api.h"
#include "operator/webhook/admission_review.h"

namespace keyward::webhook {

class ApiKeyValidator {
 public:
  ApiKeyValidator(kube::KubeApi& api, Logger logger);

  [[nodiscard]] AdmissionResult handle(const AdmissionRequest& request) const;

 private:
  [[nodiscard]] std::optional<AdmissionResult> check_exclusive(const AdmissionRequest& request,
                                                               const std::string& name) const;
  // "<provider> <endpoint> <identity>", or "" when the key has no upstream account to compare.
  [[nodiscard]] std::string upstream_account(const nlohmann::json& apikey,
                                             const std::string& ns) const;

  kube::KubeApi& api_;
  Logger logger_;
};

}  // namespace keyward::webhook
