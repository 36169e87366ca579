#include "operator/webhook/pod_admission_handler.h"

#include "common/kube/object_meta.h"
#include "operator/apikey/names.h"
#include "operator/webhook/json_patch_builder.h"

namespace keyward::webhook {

namespace {

// A key version on a new pod is no one's record: only the operator writes it, when the pod's
// sidecar first delivers a key (docs/contracts.md). One that arrives with the pod (a template
// rendered by an old `inject -f`, or written by hand to dodge restarts) is removed, so the real
// one is recorded; otherwise the pod would look stale, or current, forever.
AdmissionResult without_claimed_version(const nlohmann::json& pod, AdmissionResult result) {
  if (!result.is_allowed()) return result;
  if (!pod.contains("metadata") || !pod["metadata"].is_object()) return result;
  const auto& md = pod["metadata"];
  const std::string annotation(apikey::kKeyVersionAnnotation);
  if (!md.contains("annotations") || !md["annotations"].is_object() ||
      !md["annotations"].contains(annotation)) {
    return result;
  }
  nlohmann::json remove = {{"op", "remove"},
                           {"path", "/metadata/annotations/" + escape_pointer_token(annotation)}};
  if (result.kind == AdmissionResult::Kind::Patched) {
    result.patch.push_back(std::move(remove));
    return result;
  }
  AdmissionResult patched = AdmissionResult::patched(nlohmann::json::array({std::move(remove)}));
  patched.warnings = std::move(result.warnings);
  return patched;
}

}  // namespace

PodAdmissionHandler::PodAdmissionHandler(kube::KubeApi& api, ServerVersionCache& versions,
                                         InjectionConfig config, Logger logger,
                                         AdmissionCaches caches)
    : api_(api),
      caches_(caches),
      versions_(versions),
      config_(std::move(config)),
      logger_(std::move(logger)) {}

Result<kube::Object> PodAdmissionHandler::lookup(const kube::Store* cache,
                                                 const kube::ResourceType& type,
                                                 const std::string& ns,
                                                 const std::string& name) const {
  if (cache != nullptr) {
    if (kube::ObjectPtr cached = cache->get(ns.empty() ? name : ns + "/" + name)) return *cached;
  }
  return api_.get(type, ns, name);
}

AdmissionResult PodAdmissionHandler::handle(const AdmissionRequest& request) const {
  if (request.kind != "Pod" || !request.group.empty()) return AdmissionResult::allowed("not a pod");
  if (request.operation != "CREATE")
    return AdmissionResult::allowed("only pod creation is mutated");
  const nlohmann::json& pod = request.object;
  auto ref = PodMutator::requested_apikey(pod);
  if (!ref && !kube::annotation(pod, std::string(apikey::kAcceptsAnnotation)).empty()) {
    // A service that accepts ApiKeys' keys: the accept sidecar, no ApiKey looked up.
    MutationContext ctx;
    ctx.sidecar_image = config_.sidecar_image;
    ctx.defaults = config_.defaults;
    ctx.server_version = versions_.get();
    std::string ns = request.ns;
    if (ns.empty() && pod.contains("metadata") && pod["metadata"].is_object())
      ns = pod["metadata"].value("namespace", "");
    AdmissionResult result = mutator_.mutate_accepting(pod, ns, ctx);
    if (result.kind == AdmissionResult::Kind::Patched) {
      logger_.info("injected the accept sidecar",
                   {{"object", ns + "/" + request.name},
                    {"accepts", kube::annotation(pod, std::string(apikey::kAcceptsAnnotation))},
                    {"uid", request.uid}});
    } else if (!result.is_allowed()) {
      logger_.warn("refused pod", {{"object", ns + "/" + request.name},
                                   {"reason", result.reason},
                                   {"message", result.message}});
    }
    return result;
  }
  if (!ref || PodMutator::already_injected(pod)) {
    return ref ? without_claimed_version(pod, mutator_.mutate(pod, request.ns, MutationContext{}))
               : mutator_.mutate(pod, request.ns, MutationContext{});
  }

  std::string ns = request.ns;
  if (ns.empty() && pod.contains("metadata") && pod["metadata"].is_object())
    ns = pod["metadata"].value("namespace", "");

  MutationContext ctx;
  ctx.sidecar_image = config_.sidecar_image;
  ctx.defaults = config_.defaults;
  ctx.server_version = versions_.get();
  if (auto namespace_object =
          lookup(caches_.namespaces, kube::ResourceType::namespaces(), "", ns)) {
    const auto& md = (*namespace_object)["metadata"];
    const auto labels = md.value("labels", nlohmann::json::object());
    ctx.namespace_live = labels.value(std::string(apikey::kTradingLabel), "") == "live";
  } else if (namespace_object.error().http_status == 404) {
    ctx.namespace_live = false;  // no such namespace object: not labelled for live trading
  } else {
    return AdmissionResult::errored(500, "LookupFailed",
                                    "could not read namespace " + ns +
                                        " to check whether it runs live trading: " +
                                        namespace_object.error().message + "; retry");
  }
  if (ref->ns.empty() || ref->ns == ns) {
    auto apikey = lookup(caches_.apikeys, apikey::apikey_resource(), ns, ref->name);
    if (apikey) {
      ctx.apikey = apikey_for_injection(*apikey);
    } else {
      ctx.apikey = fail(apikey.error());
    }
  }
  AdmissionResult result = without_claimed_version(pod, mutator_.mutate(pod, ns, ctx));
  std::string pod_name = request.name;
  if (pod_name.empty() && pod.contains("metadata") && pod["metadata"].is_object()) {
    pod_name = pod["metadata"].value("generateName", "");
  }
  nlohmann::json fields = {
      {"object", ns + "/" + pod_name}, {"apikey", ref->name}, {"uid", request.uid}};
  if (result.kind == AdmissionResult::Kind::Patched) {
    fields["serverVersion"] = ctx.server_version.to_string();
    logger_.info("injected sidecar", fields);
  } else if (!result.is_allowed()) {
    fields["reason"] = result.reason;
    fields["message"] = result.message;
    logger_.warn("refused pod", fields);
  }
  return result;
}

}  // namespace keyward::webhook
