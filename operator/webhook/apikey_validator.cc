#include "operator/webhook/apikey_validator.h"

#include "operator/webhook/pod_mutator.h"

namespace keyward::webhook {

using nlohmann::json;

namespace {

json at_or_null(const json& obj, std::initializer_list<const char*> path) {
  const json* cur = &obj;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return *cur;
}

std::string describe_ref(const json& ref) {
  if (!ref.is_object()) return "nothing";
  return ref.value("kind", "?") + "/" + ref.value("name", "?");
}

}  // namespace

ApiKeyValidator::ApiKeyValidator(kube::KubeApi& api, Logger logger)
    : api_(api), logger_(std::move(logger)) {}

AdmissionResult ApiKeyValidator::handle(const AdmissionRequest& request) const {
  if (request.kind != "ApiKey" || request.group != "keyward.dev")
    return AdmissionResult::allowed("not an ApiKey");
  if (request.operation != "UPDATE") return AdmissionResult::allowed();

  const json old_ref = at_or_null(request.old_object, {"spec", "consumers", "workloadRef"});
  const json new_ref = at_or_null(request.object, {"spec", "consumers", "workloadRef"});
  const json old_source = at_or_null(request.old_object, {"spec", "source"});
  const json new_source = at_or_null(request.object, {"spec", "source"});
  const bool reassigned = old_ref != new_ref;
  const bool source_changed = old_source != new_source;
  if (!reassigned && !source_changed) return AdmissionResult::allowed();

  std::string name = request.name;
  if (name.empty())
    name = at_or_null(request.object, {"metadata", "name"}).is_string()
               ? at_or_null(request.object, {"metadata", "name"}).get<std::string>()
               : std::string();
  kube::ListOptions options;
  options.label_selector = std::string(kApiKeyLabel) + "=" + name;
  auto pods = api_.list(kube::ResourceType::pods(), request.ns, options);
  if (!pods) {
    return AdmissionResult::errored(500, "LookupFailed",
                                    "could not list the pods using ApiKey " + request.ns + "/" +
                                        name + " to check for holds: " + pods.error().message +
                                        "; retry the change");
  }
  std::vector<std::string> held;
  for (const json& pod : pods->items) {
    json hold = at_or_null(pod, {"metadata", "annotations", kHoldAnnotation});
    if (hold.is_string() && !hold.get<std::string>().empty()) {
      held.push_back(at_or_null(pod, {"metadata", "name"}).is_string()
                         ? pod["metadata"]["name"].get<std::string>()
                         : std::string("?"));
    }
  }
  if (held.empty()) return AdmissionResult::allowed();

  std::string pods_text;
  for (const auto& p : held) pods_text += (pods_text.empty() ? "" : ", ") + p;
  const std::string what = reassigned ? "reassign spec.consumers.workloadRef from " +
                                            describe_ref(old_ref) + " to " + describe_ref(new_ref)
                                      : std::string("change spec.source");
  logger_.warn("refused ApiKey change while pods hold the key",
               {{"object", request.ns + "/" + name},
                {"heldPods", held},
                {"change", reassigned ? "workloadRef" : "source"}});
  return AdmissionResult::denied(
      "ApiKeyHeld", "cannot " + what + " of ApiKey " + request.ns + "/" + name +
                        " while pods hold it (" + std::string(kHoldAnnotation) + " on " +
                        pods_text +
                        "); wait until they release the hold (close their positions) and retry");
}

}  // namespace keyward::webhook
