#include "operator/webhook/apikey_validator.h"

#include <algorithm>

#include "common/core/base64.h"
#include "common/kube/object_meta.h"
#include "operator/apikey/names.h"
#include "operator/webhook/pod_mutator.h"

namespace keyward::webhook {

using nlohmann::json;

namespace {

std::string describe_ref(const json& ref) {
  if (!ref.is_object()) return "nothing";
  return ref.value("kind", "?") + "/" + ref.value("name", "?");
}

}  // namespace

ApiKeyValidator::ApiKeyValidator(kube::KubeApi& api, Logger logger)
    : api_(api), logger_(std::move(logger)) {}

std::string ApiKeyValidator::upstream_account(const json& apikey, const std::string& ns) const {
  const json exchange = kube::value_at(apikey, "/spec/tokenExchange");
  if (!exchange.is_object()) return "";
  const std::string provider = exchange.value("provider", "none");
  if (provider == "none") return "";
  std::string endpoint = exchange.value("endpoint", "");
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  // Scheme and host compare without case; the path as written.
  const auto host_end = endpoint.find('/', endpoint.find("://") + 3);
  std::transform(endpoint.begin(),
                 host_end == std::string::npos ? endpoint.end()
                                               : endpoint.begin() + static_cast<long>(host_end),
                 endpoint.begin(), [](unsigned char ch) { return std::tolower(ch); });
  const json secret_name = kube::value_at(exchange, "/credentialsSecretRef/name");
  if (!secret_name.is_string()) return "";
  auto secret = api_.get(kube::ResourceType::secrets(), ns, secret_name.get<std::string>());
  if (!secret) return "";
  const json data = secret->value("data", json::object());
  for (const char* field : {"username", "clientId"}) {
    if (!data.contains(field) || !data[field].is_string()) continue;
    auto identity = base64_decode(data[field].get<std::string>());
    if (identity && !identity->empty()) return provider + " " + endpoint + " " + *identity;
  }
  return "";
}

std::optional<AdmissionResult> ApiKeyValidator::check_exclusive(const AdmissionRequest& request,
                                                                const std::string& name) const {
  const std::string key = request.ns + "/" + name;
  const json ref = kube::value_at(request.object, "/spec/consumers/workloadRef");
  const std::string account = upstream_account(request.object, request.ns);
  if (!ref.is_object() && account.empty()) return std::nullopt;
  // Accounts are compared cluster-wide; an operator limited to one namespace (the chart's
  // watchNamespace) compares within it.
  auto all = api_.list(apikey::apikey_resource(), account.empty() ? request.ns : "", {});
  if (!all && all.error().http_status == 403 && !account.empty()) {
    all = api_.list(apikey::apikey_resource(), request.ns, {});
  }
  if (!all) {
    return AdmissionResult::errored(500, "LookupFailed",
                                    "could not list the ApiKeys to check that " + key +
                                        " is the only one for its workload and upstream account: " +
                                        all.error().message + "; retry");
  }
  for (const json& other : all->items) {
    const std::string other_ns = kube::metadata_string(other, "namespace");
    const std::string other_name = kube::metadata_string(other, "name");
    if (other_ns == request.ns && other_name == name) continue;
    const std::string other_key = other_ns + "/" + other_name;
    if (ref.is_object() && other_ns == request.ns &&
        kube::value_at(other, "/spec/consumers/workloadRef") == ref) {
      return AdmissionResult::denied(
          "WorkloadAssignedElsewhere",
          describe_ref(ref) + " is already assigned to ApiKey " + other_key +
              " (spec.consumers.workloadRef); a workload uses one key: change that ApiKey's "
              "workloadRef first, or assign " +
              key + " to another workload");
    }
    if (!account.empty() && upstream_account(other, other_ns) == account) {
      return AdmissionResult::denied(
          "UpstreamAccountInUse",
          "ApiKey " + other_key + " already logs in to the same upstream account (" +
              kube::string_at(request.object, "/spec/tokenExchange/provider") + " at " +
              kube::string_at(request.object, "/spec/tokenExchange/endpoint") +
              " with the same login); two sessions on one user knock each other out (Tradovate "
              "closes the oldest): use one ApiKey for the account, or another login");
    }
  }
  return std::nullopt;
}

AdmissionResult ApiKeyValidator::handle(const AdmissionRequest& request) const {
  if (request.kind != "ApiKey" || request.group != "keyward.dev")
    return AdmissionResult::allowed("not an ApiKey");
  if (request.operation != "UPDATE" && request.operation != "CREATE") {
    return AdmissionResult::allowed();
  }
  // Exclusivity is judged when it can change: on create, and on an update that changes the
  // workload or the upstream account. Never on an ApiKey being deleted (its finalizer must be
  // removable) or on other updates (annotations, status, the operator's finalizer), so a pair
  // that became ambiguous later is reported at its next real change, not stuck.
  const bool deleting = !kube::value_at(request.object, "/metadata/deletionTimestamp").is_null();
  const auto identity = [](const json& o) {
    return json{kube::value_at(o, "/spec/consumers/workloadRef"),
                kube::value_at(o, "/spec/tokenExchange/provider"),
                kube::value_at(o, "/spec/tokenExchange/endpoint"),
                kube::value_at(o, "/spec/tokenExchange/credentialsSecretRef")};
  };
  const bool exclusivity_changed =
      request.operation == "CREATE" || identity(request.object) != identity(request.old_object);
  if (!deleting && exclusivity_changed) {
    std::string name = request.name;
    if (name.empty()) name = kube::metadata_string(request.object, "name");
    if (auto refused = check_exclusive(request, name)) return *refused;
  }
  if (request.operation != "UPDATE") return AdmissionResult::allowed();

  const json old_ref = kube::value_at(request.old_object, "/spec/consumers/workloadRef");
  const json new_ref = kube::value_at(request.object, "/spec/consumers/workloadRef");
  const json old_source = kube::value_at(request.old_object, "/spec/source");
  const json new_source = kube::value_at(request.object, "/spec/source");
  const bool reassigned = old_ref != new_ref;
  const bool source_changed = old_source != new_source;
  if (!reassigned && !source_changed) return AdmissionResult::allowed();

  std::string name = request.name;
  if (name.empty()) name = kube::metadata_string(request.object, "name");
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
    if (!kube::annotation(pod, kHoldAnnotation).empty()) {
      const std::string pod_name = kube::metadata_string(pod, "name");
      held.push_back(pod_name.empty() ? std::string("?") : pod_name);
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
