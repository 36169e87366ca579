#pragma once
// The /mutate-pods handler: looks up the ApiKey a pod asks for and the pod's Namespace, the
// server version (ServerVersionCache), and lets PodMutator decide. Non-pod requests and pods
// without the annotation are allowed untouched.
//
// Lookups read the operator's informer caches when it has them (AdmissionCaches): an admission
// then asks the API server nothing. An object the cache does not hold (an ApiKey or Namespace
// created a moment ago, before its watch event) is read from the API, so a pod applied right
// after its ApiKey is not refused. A cached object may be a watch event behind the API; the
// reconciler corrects what such a pod got (a restart onto the right key), as it would for a pod
// admitted a moment before the change.

#include "common/core/log.h"
#include "common/kube/informer.h"
#include "common/kube/kube_api.h"
#include "operator/webhook/admission_review.h"
#include "operator/webhook/pod_mutator.h"
#include "operator/webhook/server_version_cache.h"

namespace keyward::webhook {

struct InjectionConfig {
  std::string sidecar_image;  // repository:tag or repository@digest
  MutationDefaults defaults;
};

// The operator's caches the lookups read first (null: always the API).
struct AdmissionCaches {
  const kube::Store* apikeys = nullptr;
  const kube::Store* namespaces = nullptr;
};

class PodAdmissionHandler {
 public:
  PodAdmissionHandler(kube::KubeApi& api, ServerVersionCache& versions, InjectionConfig config,
                      Logger logger, AdmissionCaches caches = {});

  [[nodiscard]] AdmissionResult handle(const AdmissionRequest& request) const;

 private:
  // The object from the cache, or else from the API.
  [[nodiscard]] Result<kube::Object> lookup(const kube::Store* cache,
                                            const kube::ResourceType& type, const std::string& ns,
                                            const std::string& name) const;

  kube::KubeApi& api_;
  AdmissionCaches caches_;
  ServerVersionCache& versions_;
  InjectionConfig config_;
  Logger logger_;
  PodMutator mutator_;
};

}  // namespace keyward::webhook
