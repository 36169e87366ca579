#pragma once
// `kubectl keyward hold POD --reason TEXT` and `release POD`: the keyward.dev/hold annotation a
// bot sets itself while it has open positions (docs/operator.md, "Holds"), set or removed by a
// person. Only a consumer pod (one that names an ApiKey, apikey/pod_assignment.h, as the
// restarter reads it) can be held: a hold on any other pod would protect nothing and mislead
// whoever reads it.

#include <string>

#include "common/core/result.h"
#include "common/kube/kube_api.h"

namespace keyward::cli {

struct HoldChange {
  std::string apikey;         // the ApiKey the pod consumes
  std::string previous_hold;  // the hold reason before the change ("" for none)
};

// Error{"PodNotFound"}, Error{"NotAConsumer"} (naming the label), Error{"InvalidArguments"} for
// an empty reason, otherwise the API's error.
Result<HoldChange> hold_pod(kube::KubeApi& api, const std::string& ns, const std::string& pod,
                            const std::string& reason);
// Removes keyward.dev/hold (the operator then removes its keyward.dev/hold-since). Releasing a pod
// that holds nothing succeeds and says so through HoldChange::previous_hold == "".
Result<HoldChange> release_pod(kube::KubeApi& api, const std::string& ns, const std::string& pod);

}  // namespace keyward::cli
