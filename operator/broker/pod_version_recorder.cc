#include "operator/broker/pod_version_recorder.h"

#include "operator/apikey/names.h"
#include "operator/apikey/pod_assignment.h"

namespace keyward::broker {

Status record_pod_key_version(kube::KubeApi& api, const kube::Object& pod, std::int64_t version) {
  const std::string ns = pod["metadata"].value("namespace", "");
  const std::string name = pod["metadata"].value("name", "");
  const std::string annotation(apikey::kKeyVersionAnnotation);
  // Conditional on the copy the decision was made on, so a version another request or replica
  // recorded meanwhile is never overwritten. A pod changes often while it starts (the kubelet
  // writes its status): on a conflict, read it again and try once more if it still has none.
  kube::Object current = pod;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto& md = current["metadata"];
    if (apikey::recorded_key_version(current)) return ok();  // recorded meanwhile: it stays
    const kube::Object patch = {{"metadata",
                                 {{"resourceVersion", md.value("resourceVersion", "")},
                                  {"annotations", {{annotation, std::to_string(version)}}}}}};
    auto patched = api.patch(kube::ResourceType::pods(), ns, name, kube::PatchType::Merge, patch);
    if (patched) return ok();
    if (patched.error().http_status != 409 || attempt == 1) return fail(patched.error());
    auto fresh = api.get(kube::ResourceType::pods(), ns, name);
    if (!fresh) return fail(fresh.error());
    current = std::move(*fresh);
  }
  return ok();
}

}  // namespace keyward::broker
