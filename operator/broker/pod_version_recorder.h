#pragma once
// Records on a pod the key version its sidecar first delivered (annotation
// keyward.dev/key-version; docs/contracts.md, "Which key version a pod runs"): a merge patch
// conditional on the pod's resourceVersion, so a version recorded meanwhile is never
// overwritten. ok also when the pod turns out to have a version already (that one stays).

#include <cstdint>

#include "common/core/result.h"
#include "common/kube/kube_api.h"

namespace keyward::broker {

Status record_pod_key_version(kube::KubeApi& api, const kube::Object& pod, std::int64_t version);

}  // namespace keyward::broker
