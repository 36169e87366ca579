#include "operator/webhook/pod_mutator.h"

#include <algorithm>
#include <regex>
#include <set>

#include "common/core/name_list.h"
#include "common/kube/object_meta.h"
#include "operator/apikey/names.h"
#include "operator/apikey/pod_assignment.h"
#include "operator/webhook/json_patch_builder.h"

namespace keyward::webhook {
namespace {

using nlohmann::json;

using kube::annotation;

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// An ApiKey name: a DNS subdomain (what the broker's paths accept).
const std::regex& dns_subdomain() {
  static const std::regex re("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$");
  return re;
}

std::string apikey_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

bool is_true(const std::string& v) { return v == "true" || v == "True" || v == "1" || v == "yes"; }

bool has_container_named(const json& spec, const char* list, const std::string& name) {
  if (!spec.contains(list) || !spec[list].is_array()) return false;
  return std::any_of(spec[list].begin(), spec[list].end(),
                     [&](const json& c) { return c.is_object() && c.value("name", "") == name; });
}

std::string describe(const std::optional<PodWorkload>& w) {
  return w ? w->kind + "/" + w->name : std::string("no workload Keyward can identify");
}

json security_context(const MutationDefaults& d) {
  return {{"runAsNonRoot", true},
          {"runAsUser", d.run_as_user},
          {"runAsGroup", d.fs_group},
          {"readOnlyRootFilesystem", true},
          {"allowPrivilegeEscalation", false},
          {"privileged", false},
          {"capabilities", {{"drop", json::array({"ALL"})}}},
          {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

json http_probe(const char* path, int port, int period, int failure_threshold) {
  return {{"httpGet", {{"path", path}, {"port", port}, {"scheme", "HTTP"}}},
          {"periodSeconds", period},
          {"failureThreshold", failure_threshold},
          {"timeoutSeconds", 1}};
}

enum class SidecarShape { Native, Classic, InitOnce };

// The sidecar talks to the operator's broker: for tokens (broker mode), or to report the key
// version it delivered (direct mode with a broker URL). Either way it needs the broker's CA and
// a token for the broker's audience.
bool talks_to_broker(const MutationDefaults& d) {
  return d.mode == "broker" || !d.broker_url.empty();
}
// Direct mode with a broker: the sidecar takes the key material from it (--key-from-broker) and
// mounts no Secret (the operator seals its key Secrets; docs/sealing.md).
bool key_from_broker(const MutationDefaults& d) {
  return d.mode != "broker" && !d.broker_url.empty();
}
bool mounts_key_secrets(const MutationDefaults& d) {
  return d.mode != "broker" && !key_from_broker(d);
}
bool mounts_broker_ca(const MutationDefaults& d) {
  return talks_to_broker(d) && !d.broker_ca_pem.empty();
}
bool mounts_broker_token(const MutationDefaults& d) {
  return talks_to_broker(d) && !d.broker_token_audience.empty();
}
// The provider endpoint's CA for a direct-mode sidecar: the ApiKey's, else the operator's.
const std::string& provider_ca(const apikey::ApiKey& key, const MutationDefaults& d) {
  const std::string& own = key.spec.token_exchange.ca_bundle;
  return own.empty() ? d.provider_ca_pem : own;
}
bool mounts_provider_ca(const apikey::ApiKey& key, const MutationDefaults& d) {
  return d.mode != "broker" && !provider_ca(key, d).empty();
}

// A token for the broker alone (its audience), rotated by the kubelet; mounted into the sidecar
// only.
json broker_token_volume(const MutationDefaults& d) {
  return {{"name", kBrokerTokenVolume},
          {"projected",
           {{"sources", json::array({{{"serviceAccountToken",
                                       {{"audience", d.broker_token_audience},
                                        {"expirationSeconds", d.broker_token_seconds},
                                        {"path", "token"}}}}})}}}};
}

// The status port and probes of a long-running sidecar (native or classic).
void add_status_probes(json& c, const MutationDefaults& d) {
  c["ports"] = json::array(
      {{{"name", "keyward-status"}, {"containerPort", d.status_port}, {"protocol", "TCP"}}});
  c["startupProbe"] = http_probe("/readyz", d.status_port, 1, d.startup_failure_threshold);
  c["readinessProbe"] = http_probe("/readyz", d.status_port, 10, 3);
  c["livenessProbe"] = http_probe("/healthz", d.status_port, 10, 3);
}

// A downwardAPI volume that projects one of the pod's own annotations (public material: a CA
// bundle) as the file ca.crt: nothing to create in the pod's namespace.
json annotation_file_volume(const char* volume, const char* annotation) {
  return {{"name", volume},
          {"downwardAPI",
           {{"defaultMode", 0444},
            {"items", json::array({{{"path", "ca.crt"},
                                    {"fieldRef",
                                     {{"fieldPath", std::string("metadata.annotations['") +
                                                        annotation + "']"}}}}})}}}};
}

json sidecar_args(const apikey::ApiKey& key, const std::string& ns, const MutationDefaults& d,
                  bool once) {
  // Every setting the sidecar uses is passed as the ApiKey has it (defaults applied by the parser),
  // so the sidecar never depends on its own defaults matching the CRD's.
  const apikey::TokenExchangeSpec& te = key.spec.token_exchange;
  json args = json::array({"run", "--mode", d.mode, "--apikey", key.metadata.name, "--namespace",
                           ns, "--out", kTokenDir});
  if (d.mode == "broker") {
    if (!d.broker_url.empty()) {
      args.push_back("--broker-url");
      args.push_back(d.broker_url);
    }
    if (!d.broker_ca_pem.empty()) {
      args.push_back("--ca-file");
      args.push_back(std::string(kBrokerCaDir) + "/ca.crt");
    }
    if (!d.broker_token_audience.empty()) {
      args.push_back("--service-account-token-file");
      args.push_back(std::string(kBrokerTokenDir) + "/token");
    }
    // The broker refreshes at expiry - lead; its sidecars ask at expiry - lead/2, after it.
    args.push_back("--refresh-lead-seconds");
    args.push_back(std::to_string(std::max<std::int64_t>(1, te.refresh_lead_seconds / 2)));
  } else {
    if (key_from_broker(d)) {
      args.push_back("--key-from-broker");
    } else {
      args.push_back("--key-dir");
      args.push_back(kKeyDir);
      if (te.credentials_secret_ref) {
        args.push_back("--credentials-dir");
        args.push_back(kCredentialsDir);
      }
    }
    args.push_back("--provider");
    args.push_back(std::string(apikey::to_string(te.provider)));
    if (!te.endpoint.empty()) {
      args.push_back("--endpoint");
      args.push_back(te.endpoint);
    }
    args.push_back("--lifetime-seconds");
    args.push_back(std::to_string(te.lifetime_seconds));
    args.push_back("--refresh-lead-seconds");
    args.push_back(std::to_string(te.refresh_lead_seconds));
    if (mounts_provider_ca(key, d)) {
      args.push_back("--ca-file");
      args.push_back(std::string(kProviderCaDir) + "/ca.crt");
    }
    if (!d.broker_url.empty()) {
      args.push_back("--report-url");
      args.push_back(d.broker_url);
      if (mounts_broker_ca(d)) {
        args.push_back("--report-ca-file");
        args.push_back(std::string(kBrokerCaDir) + "/ca.crt");
      }
      if (mounts_broker_token(d)) {
        args.push_back("--service-account-token-file");
        args.push_back(std::string(kBrokerTokenDir) + "/token");
      }
    }
  }
  // What the apps read: the same in both modes, taken from the ApiKey.
  args.push_back("--token-file");
  args.push_back(te.token_file);
  args.push_back("--env-var-name");
  args.push_back(te.env_var_name);
  if (once) {
    args.push_back("--once");
  } else {
    args.push_back("--listen");
    args.push_back("0.0.0.0:" + std::to_string(d.status_port));
  }
  return args;
}

json sidecar_container(const apikey::ApiKey& key, const std::string& ns, const MutationContext& ctx,
                       SidecarShape shape) {
  const MutationDefaults& d = ctx.defaults;
  json mounts = json::array({{{"name", kTokenVolume}, {"mountPath", kTokenDir}}});
  if (mounts_broker_ca(d)) {
    mounts.push_back({{"name", kBrokerCaVolume}, {"mountPath", kBrokerCaDir}, {"readOnly", true}});
  }
  if (mounts_provider_ca(key, d)) {
    mounts.push_back(
        {{"name", kProviderCaVolume}, {"mountPath", kProviderCaDir}, {"readOnly", true}});
  }
  if (mounts_broker_token(d)) {
    mounts.push_back(
        {{"name", kBrokerTokenVolume}, {"mountPath", kBrokerTokenDir}, {"readOnly", true}});
  }
  if (mounts_key_secrets(d)) {
    mounts.push_back({{"name", kKeyVolume}, {"mountPath", kKeyDir}, {"readOnly", true}});
    if (key.spec.token_exchange.credentials_secret_ref) {
      mounts.push_back(
          {{"name", kCredentialsVolume}, {"mountPath", kCredentialsDir}, {"readOnly", true}});
    }
  }
  json c = {{"name", kSidecarName},
            {"image", ctx.sidecar_image},
            {"imagePullPolicy", d.image_pull_policy},
            {"command", json::array({d.sidecar_binary})},
            {"args", sidecar_args(key, ns, d, shape == SidecarShape::InitOnce)},
            {"resources", d.resources},
            {"securityContext", security_context(d)},
            {"volumeMounts", mounts}};
  if (shape == SidecarShape::InitOnce) return c;

  add_status_probes(c, d);
  if (shape == SidecarShape::Native) {
    c["restartPolicy"] = "Always";
  } else {
    // Classic sidecar, first in the list: the kubelet starts the next container only after this
    // hook returns, and `exec` returns once the first token is on the volume.
    c["lifecycle"] = {{"postStart",
                       {{"exec",
                         {{"command", json::array({d.sidecar_binary, "exec", "--out", kTokenDir,
                                                   "--", d.sidecar_binary, "help"})}}}}}};
  }
  return c;
}

json shim_install_container(const MutationContext& ctx) {
  const MutationDefaults& d = ctx.defaults;
  return {{"name", kShimInstallName},
          {"image", ctx.sidecar_image},
          {"imagePullPolicy", d.image_pull_policy},
          {"command", json::array({d.sidecar_binary, "install-shim", "--to", kShimDir})},
          {"resources", d.resources},
          {"securityContext", security_context(d)},
          {"volumeMounts", json::array({{{"name", kShimVolume}, {"mountPath", kShimDir}}})}};
}

}  // namespace

Result<apikey::ApiKey> apikey_for_injection(const json& object) {
  apikey::ApiKey key;
  auto meta = apikey::parse_object_meta(object);
  if (!meta) return fail(meta.error());
  key.metadata = std::move(*meta);
  auto spec_it = object.find("spec");
  auto spec = apikey::parse_apikey_spec(spec_it == object.end() ? json() : *spec_it);
  if (!spec) return fail(spec.error());
  key.spec = std::move(*spec);
  return key;
}

std::optional<PodMutator::KeyReference> PodMutator::requested_apikey(const json& pod) {
  // The one parser of the annotation (operator/apikey/pod_assignment.h).
  auto parsed = apikey::parse_inject_annotation(annotation(pod, kInjectAnnotation), "");
  if (!parsed) return std::nullopt;
  return KeyReference{parsed->explicit_namespace ? parsed->ns : "", parsed->name};
}

bool PodMutator::already_injected(const json& pod) {
  if (is_true(annotation(pod, kInjectedAnnotation))) return true;
  if (!pod.is_object() || !pod.contains("spec") || !pod["spec"].is_object()) return false;
  const json& spec = pod["spec"];
  return has_container_named(spec, "containers", kSidecarName) ||
         has_container_named(spec, "initContainers", kSidecarName);
}

std::optional<PodWorkload> PodMutator::workload_of(const json& pod) {
  const json owners = kube::metadata_list(pod, "ownerReferences");
  const json* controller = kube::controller_owner(pod);
  if (controller == nullptr && owners.size() == 1 && owners.front().is_object()) {
    controller = &owners.front();  // a lone owner without the controller flag counts as one
  }
  if (controller != nullptr) {
    std::string kind = controller->value("kind", "");
    std::string name = controller->value("name", "");
    if (kind == "ReplicaSet") {
      // The Deployment controller names its ReplicaSets "<deployment>-<pod-template-hash>" and
      // stamps the same hash on the pods.
      const std::string hash = kube::label(pod, "pod-template-hash");
      const std::string suffix = "-" + hash;
      if (!hash.empty() && name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return PodWorkload{"Deployment", name.substr(0, name.size() - suffix.size())};
      }
    }
    if (!kind.empty() && !name.empty()) return PodWorkload{kind, name};
  }
  std::string name = kube::metadata_string(pod, "name");
  if (!name.empty()) return PodWorkload{"Pod", name};
  return std::nullopt;
}

AdmissionResult PodMutator::mutate(const json& pod, const std::string& ns,
                                   const MutationContext& given) const {
  MutationContext ctx = given;
  // Provider none delivers the key itself (the exchange signs with it): the broker has no token
  // to give, so such keys are injected in direct mode whatever the default.
  if (ctx.apikey && ctx.defaults.mode == "broker" &&
      ctx.apikey->spec.token_exchange.provider == apikey::TokenProvider::None) {
    ctx.defaults.mode = "direct";
  }
  auto ref = requested_apikey(pod);
  if (!ref) return AdmissionResult::allowed("no keyward.dev/inject annotation");
  if (already_injected(pod)) return AdmissionResult::allowed("already injected");
  if (!pod.contains("spec") || !pod["spec"].is_object() || !pod["spec"].contains("containers") ||
      !pod["spec"]["containers"].is_array() || pod["spec"]["containers"].empty()) {
    return AdmissionResult::denied("InvalidPod",
                                   "the pod has no spec.containers; Keyward cannot inject into it");
  }
  if (ref->name.empty()) {
    return AdmissionResult::denied(
        "InvalidAnnotation",
        "annotation keyward.dev/inject names no ApiKey; set it to the ApiKey's name");
  }
  if (!ref->ns.empty() && ref->ns != ns) {
    return AdmissionResult::denied(
        "ApiKeyInOtherNamespace",
        "annotation keyward.dev/inject names ApiKey " + ref->ns + "/" + ref->name +
            " but the pod is in namespace " + ns +
            "; a pod may only use an ApiKey of its own namespace: create the ApiKey in " + ns +
            " and name it without a namespace");
  }
  const std::string key_id = ns + "/" + ref->name;
  if (!ctx.apikey) {
    const Error& e = ctx.apikey.error();
    if (e.reason == "NotFound") {
      return AdmissionResult::denied(
          "ApiKeyNotFound", "ApiKey " + key_id +
                                " named by annotation keyward.dev/inject does not exist; create it "
                                "(kubectl get apikeys -n " +
                                ns + ") or fix the annotation");
    }
    if (e.reason == apikey::reason::kInvalidSpec || e.reason == "InvalidObject") {
      return AdmissionResult::denied(
          "ApiKeyInvalid", "ApiKey " + key_id +
                               " named by annotation keyward.dev/inject is invalid (" + e.message +
                               "); fix the ApiKey (kubectl describe apikey -n " + ns + " " +
                               ref->name + ") and create the pod again");
    }
    return AdmissionResult::errored(500, e.reason.empty() ? "InternalError" : e.reason,
                                    "could not look up ApiKey " + key_id + ": " + e.message);
  }
  const apikey::ApiKey& key = *ctx.apikey;
  if (!key.spec.active) {
    return AdmissionResult::denied("ApiKeyInactive",
                                   "ApiKey " + key_id +
                                       " is inactive (spec.active: false); set spec.active to true "
                                       "or remove annotation keyward.dev/inject from the pod");
  }
  // Live and demo never mix: a live key only into namespaces labelled for live trading.
  const bool live = key.spec.environment == apikey::TradingEnvironment::Live;
  std::vector<std::string> warnings;
  if (ctx.namespace_live) {
    if (live && !*ctx.namespace_live) {
      return AdmissionResult::denied(
          "LiveKeyOutsideLiveNamespace",
          "ApiKey " + key_id + " is for live trading (spec.environment: live) and namespace " + ns +
              " is not labelled " + std::string(apikey::kTradingLabel) +
              "=live; label it (kubectl label namespace " + ns + " " +
              std::string(apikey::kTradingLabel) +
              "=live) if it runs live bots, or use a demo key");
    }
    if (!live && *ctx.namespace_live) {
      warnings.push_back("ApiKey " + key_id + " is a demo key (spec.environment: demo) used in " +
                         ns + ", a namespace labelled for live trading");
    }
  }
  if (const auto& assigned = key.spec.consumers.workload_ref) {
    const PodWorkload wanted{std::string(apikey::to_string(assigned->kind)), assigned->name};
    std::optional<PodWorkload> mine = ctx.workload ? ctx.workload : workload_of(pod);
    if (!mine || !(*mine == wanted)) {
      return AdmissionResult::denied(
          "ApiKeyAssignedElsewhere",
          "ApiKey " + key_id + " is assigned exclusively to " + wanted.kind + "/" + wanted.name +
              " (spec.consumers.workloadRef) and this pod belongs to " + describe(mine) +
              "; use a key assigned to this workload, or change the ApiKey's workloadRef");
    }
  }

  const json& spec = pod["spec"];
  const json& containers = spec["containers"];

  // Which app containers get the token mount.
  std::vector<std::size_t> targets;
  std::string listed = annotation(pod, kContainersAnnotation);
  if (trim(listed).empty()) {
    for (std::size_t i = 0; i < containers.size(); ++i) targets.push_back(i);
  } else {
    for (const std::string& name : split_name_list(listed)) {
      auto it = std::find_if(containers.begin(), containers.end(), [&](const json& c) {
        return c.is_object() && c.value("name", "") == name;
      });
      if (it == containers.end()) {
        return AdmissionResult::denied(
            "UnknownContainer", "annotation keyward.dev/containers names container '" + name +
                                    "', which the pod does not have; list only names from "
                                    "spec.containers");
      }
      const auto index = static_cast<std::size_t>(it - containers.begin());
      if (std::find(targets.begin(), targets.end(), index) == targets.end())
        targets.push_back(index);
    }
  }

  const bool env_shim = is_true(annotation(pod, kEnvShimAnnotation));
  if (env_shim) {
    for (std::size_t i : targets) {
      const json& c = containers[i];
      if (!c.contains("command") || !c["command"].is_array() || c["command"].empty()) {
        return AdmissionResult::denied(
            "EnvShimNeedsCommand",
            "container '" + c.value("name", "") +
                "' names no command, so keyward.dev/env-shim cannot wrap it: set its "
                "command to the image's entrypoint, or remove keyward.dev/env-shim and read the "
                "token from " +
                std::string(kTokenDir) + "/token.env instead");
      }
    }
  }

  const bool run_to_completion = spec.value("restartPolicy", "Always") != "Always";
  SidecarShape shape = SidecarShape::Native;
  if (!ctx.server_version.supports_native_sidecars()) {
    shape = run_to_completion ? SidecarShape::InitOnce : SidecarShape::Classic;
  }
  const MutationDefaults& d = ctx.defaults;

  JsonPatchBuilder b(pod);
  if (b.find("/metadata") == nullptr) b.add("/metadata", json::object());
  // Volumes.
  b.append("/spec/volumes",
           {{"name", kTokenVolume},
            {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", d.token_volume_size}}}});
  if (mounts_broker_ca(d)) {
    // The broker's CA (public) reaches the sidecar through the pod's own annotation.
    b.append("/spec/volumes", annotation_file_volume(kBrokerCaVolume, kBrokerCaAnnotation));
  }
  if (mounts_provider_ca(key, d)) {
    b.append("/spec/volumes", annotation_file_volume(kProviderCaVolume, kProviderCaAnnotation));
  }
  if (mounts_broker_token(d)) {
    // A token for the broker alone, rotated by the kubelet; mounted into the sidecar only.
    b.append("/spec/volumes", broker_token_volume(d));
  }
  if (mounts_key_secrets(d)) {
    b.append(
        "/spec/volumes",
        {{"name", kKeyVolume},
         {"secret",
          {{"secretName", apikey::secret_name_for(key.metadata.name)}, {"defaultMode", 0440}}}});
    if (const auto& credentials = key.spec.token_exchange.credentials_secret_ref) {
      b.append("/spec/volumes",
               {{"name", kCredentialsVolume},
                {"secret",
                 {{"secretName", credentials->name}, {"defaultMode", 0440}, {"optional", true}}}});
    }
  }
  if (env_shim) {
    b.append("/spec/volumes",
             {{"name", kShimVolume}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", "64Mi"}}}});
  }

  // App containers, before anything shifts their indices.
  for (std::size_t i : targets) {
    const std::string base = "/spec/containers/" + std::to_string(i);
    b.append(base + "/volumeMounts",
             {{"name", kTokenVolume}, {"mountPath", kTokenDir}, {"readOnly", true}});
    if (env_shim) {
      b.append(base + "/volumeMounts",
               {{"name", kShimVolume}, {"mountPath", kShimDir}, {"readOnly", true}});
      // The shim brings its own loader and libraries (install-shim), so it runs in any app image.
      const std::string shim = kShimDir;
      json command = json::array({shim + "/ld.so", "--library-path", shim,
                                  shim + "/keyward-sidecar", "exec", "--out", kTokenDir, "--"});
      for (const json& part : containers[i]["command"]) command.push_back(part);
      b.replace(base + "/command", command);
    }
  }

  if (env_shim) b.append("/spec/initContainers", shim_install_container(ctx));
  json sidecar = sidecar_container(key, ns, ctx, shape);
  if (shape == SidecarShape::Classic) {
    b.prepend("/spec/containers", std::move(sidecar));
  } else {
    b.append("/spec/initContainers", std::move(sidecar));
  }

  // The sidecar writes 0640 files; a pod-wide fsGroup makes them readable to the app containers.
  const json* psc = b.find("/spec/securityContext");
  if (psc == nullptr || !psc->is_object() || !psc->contains("fsGroup")) {
    b.put("/spec/securityContext", "fsGroup", d.fs_group);
  }

  b.put("/metadata/annotations", kInjectedAnnotation, "true");
  if (mounts_broker_ca(d)) b.put("/metadata/annotations", kBrokerCaAnnotation, d.broker_ca_pem);
  if (mounts_provider_ca(key, d)) {
    b.put("/metadata/annotations", kProviderCaAnnotation, provider_ca(key, d));
  }
  b.put("/metadata/labels", kApiKeyLabel, key.metadata.name);
  AdmissionResult result = AdmissionResult::patched(b.operations());
  result.warnings = std::move(warnings);
  return result;
}

AdmissionResult PodMutator::mutate_accepting(const json& pod, const std::string& ns,
                                             const MutationContext& ctx) const {
  const std::vector<std::string> names =
      split_name_list(annotation(pod, std::string(apikey::kAcceptsAnnotation)));
  if (!pod.contains("spec") || !pod["spec"].is_object() || !pod["spec"].contains("containers") ||
      !pod["spec"]["containers"].is_array() || pod["spec"]["containers"].empty()) {
    return AdmissionResult::denied("InvalidPod",
                                   "the pod has no spec.containers; Keyward cannot inject into it");
  }
  const json& spec = pod["spec"];
  if (has_container_named(spec, "containers", kAcceptSidecarName) ||
      has_container_named(spec, "initContainers", kAcceptSidecarName)) {
    return AdmissionResult::allowed("already injected");
  }
  if (names.empty()) {
    return AdmissionResult::denied(
        "InvalidAnnotation",
        "annotation keyward.dev/accepts names no ApiKey; set it to the ApiKeys whose keys the "
        "pod's service accepts, comma-separated");
  }
  for (const std::string& name : names) {
    if (!std::regex_match(name, dns_subdomain())) {
      return AdmissionResult::denied(
          "InvalidAnnotation", "annotation keyward.dev/accepts names '" + name +
                                   "', which is not an ApiKey name; list ApiKeys of namespace " +
                                   ns + " by name, comma-separated");
    }
  }
  const MutationDefaults& d = ctx.defaults;
  if (d.broker_url.empty()) {
    return AdmissionResult::denied(
        "AcceptsWithoutBroker",
        "annotation keyward.dev/accepts needs the operator's token broker (it publishes the key "
        "digests), and this operator runs without one; enable the broker in the chart or remove "
        "the annotation");
  }
  json args = json::array({"run", "--mode", "accept", "--apikey", apikey_list(names), "--namespace",
                           ns, "--out", kAcceptDir, "--broker-url", d.broker_url,
                           "--recheck-seconds", std::to_string(kAcceptRecheckSeconds)});
  json mounts = json::array({{{"name", kAcceptVolume}, {"mountPath", kAcceptDir}}});
  if (!d.broker_ca_pem.empty()) {
    args.push_back("--ca-file");
    args.push_back(std::string(kBrokerCaDir) + "/ca.crt");
    mounts.push_back({{"name", kBrokerCaVolume}, {"mountPath", kBrokerCaDir}, {"readOnly", true}});
  }
  if (!d.broker_token_audience.empty()) {
    args.push_back("--service-account-token-file");
    args.push_back(std::string(kBrokerTokenDir) + "/token");
    mounts.push_back(
        {{"name", kBrokerTokenVolume}, {"mountPath", kBrokerTokenDir}, {"readOnly", true}});
  }
  args.push_back("--listen");
  args.push_back("0.0.0.0:" + std::to_string(d.status_port));
  json sidecar = {{"name", kAcceptSidecarName},
                  {"image", ctx.sidecar_image},
                  {"imagePullPolicy", d.image_pull_policy},
                  {"command", json::array({d.sidecar_binary})},
                  {"args", std::move(args)},
                  {"resources", d.resources},
                  {"securityContext", security_context(d)},
                  {"volumeMounts", std::move(mounts)}};
  add_status_probes(sidecar, d);
  const bool native = ctx.server_version.supports_native_sidecars();
  if (native) sidecar["restartPolicy"] = "Always";

  JsonPatchBuilder b(pod);
  if (b.find("/metadata") == nullptr) b.add("/metadata", json::object());
  b.append("/spec/volumes",
           {{"name", kAcceptVolume},
            {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", d.token_volume_size}}}});
  if (!d.broker_ca_pem.empty()) {
    b.append("/spec/volumes", annotation_file_volume(kBrokerCaVolume, kBrokerCaAnnotation));
  }
  if (!d.broker_token_audience.empty()) {
    b.append("/spec/volumes", broker_token_volume(d));
  }
  for (std::size_t i = 0; i < spec["containers"].size(); ++i) {
    b.append("/spec/containers/" + std::to_string(i) + "/volumeMounts",
             {{"name", kAcceptVolume}, {"mountPath", kAcceptDir}, {"readOnly", true}});
  }
  if (native) {
    b.append("/spec/initContainers", std::move(sidecar));
  } else {
    b.prepend("/spec/containers", std::move(sidecar));
  }
  const json* psc = b.find("/spec/securityContext");
  if (psc == nullptr || !psc->is_object() || !psc->contains("fsGroup")) {
    b.put("/spec/securityContext", "fsGroup", d.fs_group);
  }
  if (!d.broker_ca_pem.empty())
    b.put("/metadata/annotations", kBrokerCaAnnotation, d.broker_ca_pem);
  return AdmissionResult::patched(b.operations());
}

}  // namespace keyward::webhook
