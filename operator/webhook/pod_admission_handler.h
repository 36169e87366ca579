#pragma once
// The /mutate-pods handler: looks up the ApiKey a pod asks for (KubeApi), the server version
// (ServerVersionCache), and lets PodMutator decide. Non-pod requests and pods without the
// annotation are allowed untouched.

#include "common/core/log.h"
#include "common/kube/kube_api.h"
#include "operator/webhook/admission_review.h"
#include "operator/webhook/pod_mutator.h"
#include "operator/webhook/server_version_cache.h"

namespace keyward::webhook {

struct InjectionConfig {
  std::string sidecar_image;  // repository:tag or repository@digest
  MutationDefaults defaults;
};

class PodAdmissionHandler {
 public:
  PodAdmissionHandler(kube::KubeApi& api, ServerVersionCache& versions, InjectionConfig config,
                      Logger logger);

  [[nodiscard]] AdmissionResult handle(const AdmissionRequest& request) const;

 private:
  kube::KubeApi& api_;
  ServerVersionCache& versions_;
  InjectionConfig config_;
  Logger logger_;
  PodMutator mutator_;
};

}  // namespace keyward::webhook
