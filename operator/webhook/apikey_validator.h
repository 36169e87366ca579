#pragma once
// The /validate-apikeys handler: judges ApiKey changes the OpenAPI schema cannot. While any pod
// using the key holds it (annotation keyward.dev/hold, "open positions: do not restart me"):
//   - spec.consumers.workloadRef may not be reassigned (the held pods would lose their key), and
//   - spec.source may not change (a new source means a new key, and a restart the pod refuses).
// Pods using the key are found by the label keyward.dev/apikey=<name> the webhook sets.
// Lookup failures fail closed with a 500 (the chart's failurePolicy decides what the API server
// does when the webhook itself is unreachable).

#include "common/core/log.h"
#include "common/kube/kube_api.h"
#include "operator/webhook/admission_review.h"

namespace keyward::webhook {

class ApiKeyValidator {
 public:
  ApiKeyValidator(kube::KubeApi& api, Logger logger);

  [[nodiscard]] AdmissionResult handle(const AdmissionRequest& request) const;

 private:
  kube::KubeApi& api_;
  Logger logger_;
};

}  // namespace keyward::webhook
