#pragma once
// PodMutator: the one code path that injects Keyward's sidecar into a pod. The admission webhook
// and `keyward-operator inject` both call it. Pure logic over JSON: no HTTP, no API calls (the
// caller looks the ApiKey up and passes the result, or the lookup error, in MutationContext).
//
// What a pod annotated `keyward.dev/inject: <apikey>` gets (docs/injection.md explains why):
//   - volume keyward-tokens: emptyDir, medium Memory, sizeLimit (default 1Mi);
//   - on API servers >= 1.29 the sidecar as a native sidecar: appended to initContainers with
//     restartPolicy Always and a startupProbe on /readyz, so app containers start only once the
//     first token is on the volume;
//   - on older servers a classic sidecar placed FIRST in containers with a postStart hook that
//     waits for the first token (kubelet starts the next container only after the hook returns);
//     for run-to-completion pods (restartPolicy Never/OnFailure, e.g. Jobs) an init container in
//     `--once` mode instead, which writes one token and exits, so the pod can finish;
//   - a read-only mount of the token directory in every app container (or those listed in
//     keyward.dev/containers) and, with keyward.dev/env-shim, `keyward-sidecar exec --` in front
//     of their command (refused when a container names no command);
//   - sidecar resources, a restrictive securityContext, fsGroup when the pod sets none;
//   - annotation keyward.dev/injected, label keyward.dev/apikey (no key version: the operator
//     records the version the sidecar first delivers; docs/contracts.md);
//   - direct mode with a broker URL: --report-url and --key-from-broker (the sidecar takes the
//     key material from the broker and reports the key version it delivered; no Secret is
//     mounted into the pod at all), with the broker's CA and token as in broker mode; without a
//     broker URL the key Secret keyward-<apikey> (and the credentials Secret) are mounted;
//   - spec.tokenExchange.caBundle (direct mode): annotation keyward.dev/provider-ca, projected
//     by a downwardAPI volume, passed as --ca-file (the provider endpoint's private CA);
//   - broker mode: --broker-url, --refresh-lead-seconds (half the key's lead, so sidecars ask
//     after the broker refreshed) and the broker's CA (annotation keyward.dev/broker-ca,
//     downwardAPI volume, --ca-file) and a projected service account token for the broker's
//     audience alone (--service-account-token-file); provider none is always injected in
//     direct mode.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/core/result.h"
#include "operator/apikey/apikey.h"
#include "operator/webhook/admission_result.h"
#include "operator/webhook/server_version.h"

namespace keyward::webhook {

// The workload a pod belongs to, as its controller owner names it (kind is the owner's kind:
// Deployment, StatefulSet, DaemonSet, Job, ReplicaSet, Pod).
struct PodWorkload {
  std::string kind;
  std::string name;
  bool operator==(const PodWorkload&) const = default;
};

// An ApiKey object as injection reads it: metadata and spec through operator/apikey's parser
// (defaults applied, the same checks as the operator), the status ignored (injection uses none of
// it, and a status the operator has not written yet must not refuse a pod). An ApiKey whose spec
// does not parse gives Error{"InvalidSpec"|"InvalidObject", ...}, and the pod is refused naming it.
[[nodiscard]] Result<apikey::ApiKey> apikey_for_injection(const nlohmann::json& object);

inline constexpr const char* kInjectAnnotation = "keyward.dev/inject";
inline constexpr const char* kInjectedAnnotation = "keyward.dev/injected";
inline constexpr const char* kContainersAnnotation = "keyward.dev/containers";
inline constexpr const char* kEnvShimAnnotation = "keyward.dev/env-shim";
inline constexpr const char* kHoldAnnotation = "keyward.dev/hold";
inline constexpr const char* kApiKeyLabel = "keyward.dev/apikey";
inline constexpr const char* kSidecarName = "keyward-sidecar";
inline constexpr const char* kShimInstallName = "keyward-shim-install";
inline constexpr const char* kTokenVolume = "keyward-tokens";
inline constexpr const char* kKeyVolume = "keyward-key";
inline constexpr const char* kCredentialsVolume = "keyward-credentials";
inline constexpr const char* kShimVolume = "keyward-bin";
inline constexpr const char* kTokenDir = "/var/run/keyward/tokens";
// A pod that accepts the keys of ApiKeys (keyward.dev/accepts): the digest files of the valid
// versions (docs/contracts.md, "Accepted-key directory"), kept by the accept sidecar.
inline constexpr const char* kAcceptSidecarName = "keyward-accept";
inline constexpr const char* kAcceptVolume = "keyward-accepted-keys";
inline constexpr const char* kAcceptDir = "/var/run/keyward/accepted-keys";
// How often the accept sidecar asks the broker: an early revocation reaches the files within it
// (a grace period's end reaches them at its instant).
inline constexpr int kAcceptRecheckSeconds = 5;
inline constexpr const char* kKeyDir = "/var/run/keyward/key";
inline constexpr const char* kCredentialsDir = "/var/run/keyward/credentials";
inline constexpr const char* kShimDir = "/var/run/keyward/bin";
inline constexpr const char* kBrokerCaAnnotation = "keyward.dev/broker-ca";
inline constexpr const char* kProviderCaAnnotation = "keyward.dev/provider-ca";
inline constexpr const char* kProviderCaVolume = "keyward-provider-ca";
inline constexpr const char* kProviderCaDir = "/var/run/keyward/provider-ca";
inline constexpr const char* kBrokerCaVolume = "keyward-broker-ca";
inline constexpr const char* kBrokerCaDir = "/var/run/keyward/broker-ca";
inline constexpr const char* kBrokerTokenVolume = "keyward-broker-token";
inline constexpr const char* kBrokerTokenDir = "/var/run/keyward/broker-token";
// The audience of the service account token a sidecar shows the broker (operator flag
// --broker-audience; the broker's TokenReview asks for the same one).
inline constexpr const char* kDefaultBrokerAudience = "keyward.dev/broker";

// Settings that come from the operator's configuration (chart values), not from the pod.
struct MutationDefaults {
  std::string mode = "broker";  // broker | direct
  // The operator's broker (its Service): --broker-url in broker mode; in direct mode
  // --report-url, where the sidecar reports the key version it delivered. Empty in direct mode:
  // no report (the operator then never learns the pods' versions and never restarts them).
  std::string broker_url;
  // The CA bundle (PEM) that signed the broker's certificate. Broker mode: set on the pod as
  // annotation keyward.dev/broker-ca, projected into the sidecar by a downwardAPI volume and
  // passed as --ca-file. Empty: the sidecar trusts the system store.
  std::string broker_ca_pem;
  // The CA bundle (PEM) for provider endpoints of ApiKeys that name no tokenExchange.caBundle
  // (the operator's --provider-ca-file). Empty: the system store.
  std::string provider_ca_pem;
  // Broker mode: the audience of the service account token the sidecar shows the broker. A
  // projected token for this audience alone (rotated by the kubelet) is mounted into the sidecar
  // only: it is useless against the API server, and the pod's API token never reaches the
  // broker. Empty: the pod's default token (audience: the API server).
  std::string broker_token_audience = kDefaultBrokerAudience;
  std::int64_t broker_token_seconds = 3600;         // the projected token's lifetime
  std::string sidecar_binary = "/keyward-sidecar";  // path of the binary inside the sidecar image
  std::string image_pull_policy = "IfNotPresent";
  int status_port = 9090;  // --listen 0.0.0.0:<port>; probes reach it on the pod IP
  std::string token_volume_size = "1Mi";
  std::int64_t run_as_user = 65532;  // the sidecar image's non-root user
  std::int64_t fs_group = 65532;     // set on pods without fsGroup so apps can read 0640 files
  nlohmann::json resources = {{"requests", {{"cpu", "10m"}, {"memory", "16Mi"}}},
                              {"limits", {{"cpu", "100m"}, {"memory", "64Mi"}}}};
  int startup_failure_threshold = 300;  // with periodSeconds 1: five minutes for the first token
};

struct MutationContext {
  // The ApiKey named by the pod's annotation, or the lookup error (reason NotFound = unknown).
  Result<apikey::ApiKey> apikey = fail("NotLookedUp", "no ApiKey was looked up");
  ServerVersion server_version{1, 29};
  std::string sidecar_image;
  MutationDefaults defaults;
  // The workload the pod belongs to, when the caller knows it better than the pod's owner
  // references (offline inject of a Deployment template). Empty: derived from the pod.
  std::optional<PodWorkload> workload;
  // Whether the pod's namespace is labelled keyward.dev/trading=live; nullopt: not known
  // (offline inject), and then a live key is not refused here (the broker still checks).
  std::optional<bool> namespace_live;
};

class PodMutator {
 public:
  // The ApiKey reference in the pod's keyward.dev/inject annotation: {namespace, name}; the
  // namespace is empty unless the annotation says "ns/name". nullopt when not annotated.
  struct KeyReference {
    std::string ns;
    std::string name;
  };
  static std::optional<KeyReference> requested_apikey(const nlohmann::json& pod);

  // True when the pod already carries the sidecar (annotation or container name).
  static bool already_injected(const nlohmann::json& pod);

  // The workload a pod belongs to, from its owner references: a ReplicaSet named
  // "<deployment>-<pod-template-hash>" counts as that Deployment; StatefulSet/DaemonSet/Job owners
  // as themselves; no controller owner: the Pod itself (by metadata.name).
  static std::optional<PodWorkload> workload_of(const nlohmann::json& pod);

  // Decides and builds the patch. `ns` is the namespace the pod is created in (the request's
  // namespace; pods often carry none themselves).
  [[nodiscard]] AdmissionResult mutate(const nlohmann::json& pod, const std::string& ns,
                                       const MutationContext& context) const;

  // A pod annotated keyward.dev/accepts and not keyward.dev/inject: the accept sidecar, which
  // keeps the digests of the named ApiKeys' valid keys under kAcceptDir (read-only in every app
  // container). Needs the operator's broker (refused with AcceptsWithoutBroker otherwise). No
  // ApiKey is looked up: the broker answers for them, and a missing one shows in the sidecar.
  [[nodiscard]] AdmissionResult mutate_accepting(const nlohmann::json& pod, const std::string& ns,
                                                 const MutationContext& context) const;
};

}  // namespace keyward::webhook
