#pragma once
// `keyward-operator rotate NAMESPACE/NAME`: an emergency rotation without editing the spec. It
// sets the ApiKey annotations the reconciler acts on (operator/apikey/names.h): keyward.dev/rotate
// (a new value: one more rotation, at once, outside windows), keyward.dev/rotate-requested-by
// (who, for the Event) and, with --end-grace, keyward.dev/rotate-end-grace (the previous key's
// grace ends at once: it is dropped, and the pods still on it are restarted now).

#include <string>
#include <vector>

#include "common/core/result.h"
#include "common/kube/kube_api.h"

namespace keyward::cli {

struct RotateRequest {
  std::string ns;
  std::string name;
  bool end_grace = false;
  std::string requested_by;
  std::string value;  // the keyward.dev/rotate value: new for every request
};

// Parses "NAMESPACE/NAME [--end-grace] [--requested-by WHO]" (the kubeconfig flag is the
// caller's). Error{"InvalidArguments"} says what is wrong.
Result<RotateRequest> parse_rotate_arguments(const std::vector<std::string>& args);

// Annotates the ApiKey. Error{"ApiKeyNotFound"} when it does not exist (with the command that
// lists the ApiKeys), otherwise the API's error.
Status request_rotation(kube::KubeApi& api, const RotateRequest& request);

}  // namespace keyward::cli
