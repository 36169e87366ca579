#include "operator/broker/authorizer.h"

#include "common/core/name_list.h"
#include "common/kube/object_meta.h"
#include "operator/apikey/names.h"
#include "operator/apikey/pod_assignment.h"

namespace keyward::broker {

namespace {

constexpr std::string_view kServiceAccountPrefix = "system:serviceaccount:";

std::unexpected<Error> forbid(std::string reason, std::string message) {
  return fail(std::move(reason), std::move(message), 403);
}

}  // namespace

Result<kube::Object> authorize(const ReviewedCaller& caller, const std::string& ns,
                               const std::string& apikey, const PodLookup& pods, CallerRole role) {
  const std::string key = ns + "/" + apikey;
  if (!caller.username.starts_with(kServiceAccountPrefix)) {
    return forbid("NotAServiceAccount",
                  "the caller " + caller.username +
                      " is not a service account; the broker serves pods only, with their "
                      "service account token");
  }
  const std::string rest = caller.username.substr(kServiceAccountPrefix.size());
  const auto colon = rest.find(':');
  if (colon == std::string::npos) {
    return forbid("NotAServiceAccount",
                  "the caller " + caller.username + " is not a well-formed service account name");
  }
  const std::string sa_ns = rest.substr(0, colon);
  const std::string sa = rest.substr(colon + 1);
  if (sa_ns != ns) {
    return forbid("WrongNamespace", "service account " + sa_ns + "/" + sa + " may not use ApiKey " +
                                        key + ": an ApiKey serves only pods of its own namespace");
  }
  if (caller.pod_name.empty() || caller.pod_uid.empty()) {
    return forbid("BoundTokenRequired",
                  "the token of service account " + sa_ns + "/" + sa +
                      " is not bound to a pod (a legacy Secret-based token?); the broker needs "
                      "the pod's bound (projected) service account token, which names the pod");
  }
  auto pod = pods(ns, caller.pod_name);
  if (!pod) {
    return fail("PodLookupFailed",
                "could not look up pod " + ns + "/" + caller.pod_name + ": " + pod.error().message +
                    "; retry",
                503);
  }
  const std::string pod_ref = "pod " + ns + "/" + caller.pod_name;
  if (!*pod) {
    return forbid("PodNotFound", pod_ref + " (named by the token) does not exist");
  }
  const kube::Object& p = **pod;
  if (p["metadata"].value("uid", "") != caller.pod_uid) {
    return forbid("PodMismatch",
                  pod_ref +
                      " is not the pod the token was issued to (uid differs: the pod was "
                      "deleted and its name reused)");
  }
  std::string pod_sa = "default";
  if (p.contains("spec") && p["spec"].is_object()) {
    pod_sa = p["spec"].value("serviceAccountName", p["spec"].value("serviceAccount", "default"));
  }
  if (pod_sa != sa) {
    return forbid("ServiceAccountMismatch", pod_ref + " runs as service account " + pod_sa +
                                                ", not " + sa + " whose token was presented");
  }
  if (p["metadata"].contains("deletionTimestamp") &&
      !p["metadata"]["deletionTimestamp"].is_null()) {
    return forbid("PodNotRunning", pod_ref + " is being deleted");
  }
  const std::string phase =
      p.contains("status") && p["status"].is_object() ? p["status"].value("phase", "") : "";
  if (phase == "Succeeded" || phase == "Failed") {
    return forbid("PodNotRunning", pod_ref + " has finished (phase " + phase + ")");
  }
  if (role == CallerRole::Verifier) {
    for (const std::string& item :
         split_name_list(kube::annotation(p, apikey::kAcceptsAnnotation))) {
      if (item == apikey) return p;
    }
    return forbid("PodNotAccepting",
                  pod_ref + " does not accept ApiKey " + apikey +
                      "; annotate the service's pods keyward.dev/accepts: " + apikey);
  }
  // The annotation decides when present (the webhook sets both to the same key).
  if (apikey::assigned_apikey(p) == apikey) return p;
  const std::string inject = kube::annotation(p, apikey::kInjectAnnotation);
  std::string asked = inject.empty() ? kube::label(p, apikey::kApiKeyLabel) : inject;
  return forbid("PodNotAssigned",
                pod_ref +
                    (asked.empty() ? " does not ask for any ApiKey"
                                   : " asks for ApiKey " + asked + ", not " + apikey) +
                    " (annotation keyward.dev/inject or label keyward.dev/apikey)");
}

}  // namespace keyward::broker
