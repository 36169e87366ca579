#include "operator/cli/pod_hold.h"

#include "common/kube/object_meta.h"
#include "operator/apikey/names.h"
#include "operator/apikey/pod_assignment.h"

namespace keyward::cli {
namespace {

Result<kube::Object> consumer_pod(kube::KubeApi& api, const std::string& ns,
                                  const std::string& pod) {
  auto found = api.get(kube::ResourceType::pods(), ns, pod);
  if (!found) {
    if (found.error().http_status == 404) {
      return fail("PodNotFound", "no pod " + ns + "/" + pod +
                                     "; list the consumers with kubectl get pods -n " + ns +
                                     " -l " + std::string(apikey::kApiKeyLabel));
    }
    return fail(found.error());
  }
  if (!apikey::assigned_apikey(*found)) {
    return fail("NotAConsumer", "pod " + ns + "/" + pod +
                                    " is not a Keyward consumer (no keyward.dev/inject "
                                    "annotation or " +
                                    std::string(apikey::kApiKeyLabel) +
                                    " label naming an ApiKey of its namespace): no key rotation "
                                    "restarts it, so a hold would protect nothing");
  }
  return found;
}

Result<HoldChange> annotate(kube::KubeApi& api, const std::string& ns, const std::string& pod,
                            const kube::Object& annotations) {
  auto found = consumer_pod(api, ns, pod);
  if (!found) return fail(found.error());
  HoldChange change{apikey::assigned_apikey(*found).value_or(""),
                    kube::annotation(*found, apikey::annotation::kHold)};
  const kube::Object patch = {{"metadata", {{"annotations", annotations}}}};
  auto patched = api.patch(kube::ResourceType::pods(), ns, pod, kube::PatchType::Merge, patch);
  if (!patched) return fail(patched.error());
  return change;
}

}  // namespace

Result<HoldChange> hold_pod(kube::KubeApi& api, const std::string& ns, const std::string& pod,
                            const std::string& reason) {
  if (reason.empty()) {
    return fail("InvalidArguments",
                "a hold needs a reason the desk will read, e.g. --reason \"open positions\"");
  }
  return annotate(api, ns, pod, {{std::string(apikey::annotation::kHold), reason}});
}

Result<HoldChange> release_pod(kube::KubeApi& api, const std::string& ns, const std::string& pod) {
  // keyward.dev/hold-since is the operator's: it removes it when it sees the hold gone.
  return annotate(api, ns, pod, {{std::string(apikey::annotation::kHold), nullptr}});
}

}  // namespace keyward::cli
