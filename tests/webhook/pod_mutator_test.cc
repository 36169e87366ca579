// PodMutator as pure logic: patch shapes, workload identification, edge cases.

#include "operator/webhook/pod_mutator.h"

#include <gtest/gtest.h>

#include <set>

#include "operator/webhook/json_patch_builder.h"
#include "tests/webhook/fixtures.h"

namespace keyward::webhook {
namespace {

using namespace keyward::webhook::testing;
using nlohmann::json;

MutationContext context_for(const json& key, ServerVersion v = {1, 30}) {
  MutationContext ctx;
  ctx.apikey = apikey_for_injection(key);
  ctx.server_version = v;
  ctx.sidecar_image = "sidecar:1";
  return ctx;
}

TEST(JsonPatchBuilder, EscapesPointerTokens) {
  EXPECT_EQ(escape_pointer_token("keyward.dev/inject"), "keyward.dev~1inject");
  EXPECT_EQ(escape_pointer_token("a~b/c"), "a~0b~1c");
}

TEST(JsonPatchBuilder, CreatesMissingContainersAndAppendsToExisting) {
  JsonPatchBuilder b(json{{"metadata", json::object()}, {"spec", {{"volumes", nullptr}}}});
  b.append("/spec/volumes", 1);
  b.append("/spec/volumes", 2);
  b.put("/metadata/annotations", "a/b", "x");
  b.put("/metadata/annotations", "c", "y");
  const json& ops = b.operations();
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[0]["path"], "/spec/volumes");
  EXPECT_EQ(ops[0]["value"], json::array({1}));
  EXPECT_EQ(ops[1]["path"], "/spec/volumes/-");
  EXPECT_EQ(ops[2]["path"], "/metadata/annotations");
  EXPECT_EQ(ops[3]["path"], "/metadata/annotations/c");
  EXPECT_EQ(b.document()["metadata"]["annotations"]["a/b"], "x");
}

TEST(PodMutator, NoAnnotationMeansNoPatch) {
  json pod = {{"metadata", json::object()},
              {"spec", {{"containers", json::array({container("app")})}}}};
  AdmissionResult r = PodMutator().mutate(pod, "bots", MutationContext{});
  EXPECT_EQ(r.kind, AdmissionResult::Kind::Allowed);
  EXPECT_TRUE(r.patch.empty());
}

TEST(PodMutator, PatchAppliesToPodsWithoutMetadataMaps) {
  json pod = annotated_pod("alpha", json::array({container("app")}));
  AdmissionResult r = PodMutator().mutate(pod, "bots", context_for(apikey("bots", "alpha")));
  ASSERT_EQ(r.kind, AdmissionResult::Kind::Patched);
  json out = pod.patch(r.patch);
  EXPECT_EQ(out["metadata"]["labels"]["keyward.dev/apikey"], "alpha");
  // Without existing arrays the patch adds whole arrays, not "/-" entries.
  EXPECT_EQ(r.patch[0]["path"], "/spec/volumes");
  EXPECT_EQ(r.patch[0]["op"], "add");
}

TEST(PodMutator, WorkloadOfFollowsOwnerReferences) {
  EXPECT_EQ(PodMutator::workload_of(deployment_pod("alpha-bot", "k", json::array())),
            (PodWorkload{"Deployment", "alpha-bot"}));
  json sts = annotated_pod("k", json::array(), "db-0");
  sts["metadata"]["ownerReferences"] =
      json::array({{{"kind", "StatefulSet"}, {"name", "db"}, {"controller", true}}});
  EXPECT_EQ(PodMutator::workload_of(sts), (PodWorkload{"StatefulSet", "db"}));
  // A ReplicaSet without the Deployment's hash is just a ReplicaSet.
  json rs = annotated_pod("k", json::array(), "x");
  rs["metadata"]["ownerReferences"] =
      json::array({{{"kind", "ReplicaSet"}, {"name", "plain"}, {"controller", true}}});
  EXPECT_EQ(PodMutator::workload_of(rs), (PodWorkload{"ReplicaSet", "plain"}));
  EXPECT_EQ(PodMutator::workload_of(annotated_pod("k", json::array(), "solo")),
            (PodWorkload{"Pod", "solo"}));
  json nameless = annotated_pod("k", json::array(), "");
  nameless["metadata"].erase("name");
  EXPECT_FALSE(PodMutator::workload_of(nameless).has_value());
}

TEST(PodMutator, KeyAssignedToABarePodMatchesByName) {
  json key = apikey("bots", "solo", true, {{"kind", "Pod"}, {"name", "trader"}});
  key["spec"]["consumers"]["restartStrategy"] = "Evict";  // a bare Pod has no rollout
  EXPECT_EQ(PodMutator()
                .mutate(annotated_pod("solo", json::array({container("a")}), "trader"), "bots",
                        context_for(key))
                .kind,
            AdmissionResult::Kind::Patched);
  EXPECT_EQ(PodMutator()
                .mutate(annotated_pod("solo", json::array({container("a")}), "other"), "bots",
                        context_for(key))
                .kind,
            AdmissionResult::Kind::Denied);
}

TEST(PodMutator, LookupFailureOtherThanNotFoundIsAnError) {
  MutationContext ctx;
  ctx.apikey = fail("Unreachable", "connection refused");
  AdmissionResult r =
      PodMutator().mutate(annotated_pod("alpha", json::array({container("a")})), "bots", ctx);
  EXPECT_EQ(r.kind, AdmissionResult::Kind::Errored);
  EXPECT_EQ(r.code, 500);
  EXPECT_FALSE(r.is_allowed());
}

TEST(PodMutator, DirectModeMountsKeyAndCredentialsSecrets) {
  json key = apikey("bots", "alpha");
  key["spec"]["tokenExchange"]["credentialsSecretRef"] = {{"name", "alpha-login"}};
  key["spec"]["tokenExchange"]["lifetimeSeconds"] = 5400;
  MutationContext ctx = context_for(key);
  ctx.defaults.mode = "direct";
  json pod = annotated_pod("alpha", json::array({container("a")}));
  AdmissionResult r = PodMutator().mutate(pod, "bots", ctx);
  ASSERT_EQ(r.kind, AdmissionResult::Kind::Patched);
  json out = pod.patch(r.patch);
  EXPECT_EQ(find_volume(out, "keyward-key")["secret"]["secretName"], "keyward-alpha");
  EXPECT_EQ(find_volume(out, "keyward-credentials")["secret"]["secretName"], "alpha-login");
  json sc = find_container(out, "initContainers", "keyward-sidecar");
  EXPECT_TRUE(has_arg_pair(sc, "--mode", "direct"));
  EXPECT_TRUE(has_arg_pair(sc, "--key-dir", "/var/run/keyward/key"));
  EXPECT_TRUE(has_arg_pair(sc, "--credentials-dir", "/var/run/keyward/credentials"));
  EXPECT_TRUE(has_arg_pair(sc, "--provider", "tradovate"));
  EXPECT_TRUE(has_arg_pair(sc, "--endpoint", "https://demo.tradovateapi.com/v1"));
  EXPECT_TRUE(has_arg_pair(sc, "--lifetime-seconds", "5400"));
  // App containers never see the key Secret.
  for (const auto& m : out["spec"]["containers"][0]["volumeMounts"])
    EXPECT_EQ(m["name"], "keyward-tokens");
}

// Direct mode with a broker: the key comes from the broker (the key Secret is sealed), so the pod
// mounts no Secret at all; the sidecar reports its version to the same broker.
TEST(PodMutator, DirectModeWithABrokerTakesTheKeyFromItAndMountsNoSecret) {
  json key = apikey("bots", "alpha");
  key["spec"]["tokenExchange"]["credentialsSecretRef"] = {{"name", "alpha-login"}};
  MutationContext ctx = context_for(key);
  ctx.defaults.mode = "direct";
  ctx.defaults.broker_url = "https://keyward-webhook.keyward-system.svc:8444";
  json pod = annotated_pod("alpha", json::array({container("a")}));
  AdmissionResult r = PodMutator().mutate(pod, "bots", ctx);
  ASSERT_EQ(r.kind, AdmissionResult::Kind::Patched);
  json out = pod.patch(r.patch);
  EXPECT_TRUE(find_volume(out, "keyward-key").is_null());
  EXPECT_TRUE(find_volume(out, "keyward-credentials").is_null());
  EXPECT_EQ(out.dump().find("keyward-alpha\""), std::string::npos) << "a key Secret is mounted";
  json sc = find_container(out, "initContainers", "keyward-sidecar");
  bool from_broker = false;
  for (const auto& a : sc["args"]) from_broker = from_broker || a == "--key-from-broker";
  EXPECT_TRUE(from_broker) << sc["args"].dump();
  EXPECT_TRUE(has_arg_pair(sc, "--report-url", "https://keyward-webhook.keyward-system.svc:8444"));
  for (const auto& a : sc["args"]) {
    EXPECT_NE(a, "--key-dir");
    EXPECT_NE(a, "--credentials-dir");
  }
}

// A service that accepts ApiKeys' keys (keyward.dev/accepts): the accept sidecar with the
// broker's CA and token, the digest volume read-only in every app container, nothing of a key.
TEST(PodMutator, AnAcceptingPodGetsTheAcceptSidecarAndTheDigestVolume) {
  MutationContext ctx;
  ctx.server_version = {1, 30};
  ctx.sidecar_image = "sidecar:1";
  ctx.defaults.broker_url = "https://kw-webhook.keyward-system.svc:8444";
  ctx.defaults.broker_ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  json pod = {{"metadata", {{"annotations", {{"keyward.dev/accepts", "gamma, delta,gamma"}}}}},
              {"spec", {{"containers", json::array({container("gw"), container("admin")})}}}};
  AdmissionResult r = PodMutator().mutate_accepting(pod, "bots", ctx);
  ASSERT_EQ(r.kind, AdmissionResult::Kind::Patched) << r.message;
  json out = pod.patch(r.patch);
  json sc = find_container(out, "initContainers", "keyward-accept");
  ASSERT_TRUE(sc.is_object()) << out.dump();
  EXPECT_EQ(sc["restartPolicy"], "Always");
  EXPECT_TRUE(has_arg_pair(sc, "--mode", "accept"));
  EXPECT_TRUE(has_arg_pair(sc, "--apikey", "gamma,delta"));
  EXPECT_TRUE(has_arg_pair(sc, "--broker-url", "https://kw-webhook.keyward-system.svc:8444"));
  EXPECT_TRUE(has_arg_pair(sc, "--ca-file", "/var/run/keyward/broker-ca/ca.crt"));
  EXPECT_TRUE(
      has_arg_pair(sc, "--service-account-token-file", "/var/run/keyward/broker-token/token"));
  EXPECT_FALSE(find_volume(out, "keyward-accepted-keys").is_null());
  EXPECT_FALSE(find_volume(out, "keyward-broker-token").is_null());
  for (const auto& c : out["spec"]["containers"]) {
    const std::string mounts = c["volumeMounts"].dump();
    EXPECT_NE(mounts.find("/var/run/keyward/accepted-keys"), std::string::npos) << mounts;
    EXPECT_NE(mounts.find("\"readOnly\":true"), std::string::npos) << mounts;
  }
  EXPECT_EQ(out.dump().find("keyward-gamma"), std::string::npos) << "a key Secret is mounted";
  // Applying the patched pod again changes nothing.
  EXPECT_EQ(PodMutator().mutate_accepting(out, "bots", ctx).kind, AdmissionResult::Kind::Allowed);
  // Old clusters: a classic sidecar container.
  ctx.server_version = {1, 27};
  json classic = pod.patch(PodMutator().mutate_accepting(pod, "bots", ctx).patch);
  EXPECT_EQ(classic["spec"]["containers"][0]["name"], "keyward-accept");
}

TEST(PodMutator, AnAcceptingPodIsRefusedWithoutABrokerOrWithABadName) {
  MutationContext ctx;
  ctx.sidecar_image = "sidecar:1";
  json pod = {{"metadata", {{"annotations", {{"keyward.dev/accepts", "gamma"}}}}},
              {"spec", {{"containers", json::array({container("gw")})}}}};
  AdmissionResult none = PodMutator().mutate_accepting(pod, "bots", ctx);
  EXPECT_EQ(none.reason, "AcceptsWithoutBroker");
  ctx.defaults.broker_url = "https://kw.example:8444";
  pod["metadata"]["annotations"]["keyward.dev/accepts"] = "Gamma_Key";
  AdmissionResult bad = PodMutator().mutate_accepting(pod, "bots", ctx);
  EXPECT_EQ(bad.reason, "InvalidAnnotation");
  EXPECT_NE(bad.message.find("Gamma_Key"), std::string::npos);
  pod["metadata"]["annotations"]["keyward.dev/accepts"] = " , ";
  EXPECT_EQ(PodMutator().mutate_accepting(pod, "bots", ctx).reason, "InvalidAnnotation");
}

TEST(PodMutator, BrokerModeCarriesTheBrokersCaAndNoKeyMaterial) {
  json key = apikey("bots", "alpha");
  key["spec"]["tokenExchange"]["refreshLeadSeconds"] = 600;
  MutationContext ctx = context_for(key);
  ctx.defaults.mode = "broker";
  ctx.defaults.broker_url = "https://kw-webhook.keyward-system.svc:8444";
  ctx.defaults.broker_ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  json pod = annotated_pod("alpha", json::array({container("a")}));
  AdmissionResult r = PodMutator().mutate(pod, "bots", ctx);
  ASSERT_EQ(r.kind, AdmissionResult::Kind::Patched);
  json out = pod.patch(r.patch);
  EXPECT_EQ(out["metadata"]["annotations"]["keyward.dev/broker-ca"], ctx.defaults.broker_ca_pem);
  json ca = find_volume(out, "keyward-broker-ca");
  EXPECT_EQ(ca["downwardAPI"]["items"][0]["path"], "ca.crt");
  EXPECT_EQ(ca["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"],
            "metadata.annotations['keyward.dev/broker-ca']");
  json sc = find_container(out, "initContainers", "keyward-sidecar");
  EXPECT_TRUE(has_arg_pair(sc, "--mode", "broker"));
  EXPECT_TRUE(has_arg_pair(sc, "--broker-url", "https://kw-webhook.keyward-system.svc:8444"));
  EXPECT_TRUE(has_arg_pair(sc, "--ca-file", "/var/run/keyward/broker-ca/ca.crt"));
  EXPECT_TRUE(has_arg_pair(sc, "--refresh-lead-seconds", "300")) << "half the broker's lead";
  bool ca_mounted = false;
  for (const auto& m : sc["volumeMounts"]) {
    EXPECT_NE(m["name"], "keyward-key") << "no key Secret in broker mode";
    ca_mounted = ca_mounted || (m["name"] == "keyward-broker-ca" &&
                                m["mountPath"] == "/var/run/keyward/broker-ca");
  }
  EXPECT_TRUE(ca_mounted);
  EXPECT_TRUE(find_volume(out, "keyward-key").is_null());

  // A token for the broker's audience alone, mounted into the sidecar only.
  json token = find_volume(out, "keyward-broker-token");
  ASSERT_FALSE(token.is_null()) << out["spec"]["volumes"].dump();
  const json& sa = token["projected"]["sources"][0]["serviceAccountToken"];
  EXPECT_EQ(sa["audience"], "keyward.dev/broker");
  EXPECT_EQ(sa["expirationSeconds"], 3600);
  EXPECT_EQ(sa["path"], "token");
  EXPECT_TRUE(
      has_arg_pair(sc, "--service-account-token-file", "/var/run/keyward/broker-token/token"));
  bool token_mounted = false;
  for (const auto& m : sc["volumeMounts"])
    token_mounted = token_mounted || (m["name"] == "keyward-broker-token" && m["readOnly"] == true);
  EXPECT_TRUE(token_mounted);
  for (const auto& m : out["spec"]["containers"][0]["volumeMounts"])
    EXPECT_NE(m["name"], "keyward-broker-token") << "the app container must not get it";
}

TEST(PodMutator, AnEmptyBrokerAudienceUsesThePodsDefaultToken) {
  MutationContext ctx = context_for(apikey("bots", "alpha"));
  ctx.defaults.mode = "broker";
  ctx.defaults.broker_token_audience = "";
  json pod = annotated_pod("alpha", json::array({container("a")}));
  json out = pod.patch(PodMutator().mutate(pod, "bots", ctx).patch);
  EXPECT_TRUE(find_volume(out, "keyward-broker-token").is_null());
  json sc = find_container(out, "initContainers", "keyward-sidecar");
  for (const auto& a : sc["args"]) EXPECT_NE(a, "--service-account-token-file");
}

TEST(PodMutator, ProviderNoneIsInjectedInDirectModeEvenWhenBrokerIsTheDefault) {
  json key = apikey("bots", "alpha");
  key["spec"]["tokenExchange"] = {{"provider", "none"}};
  MutationContext ctx = context_for(key);
  ctx.defaults.mode = "broker";
  ctx.defaults.broker_ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  json pod = annotated_pod("alpha", json::array({container("a")}));
  json out = pod.patch(PodMutator().mutate(pod, "bots", ctx).patch);
  json sc = find_container(out, "initContainers", "keyward-sidecar");
  EXPECT_TRUE(has_arg_pair(sc, "--mode", "direct"));
  EXPECT_TRUE(has_arg_pair(sc, "--provider", "none"));
  EXPECT_FALSE(out["metadata"]["annotations"].contains("keyward.dev/broker-ca"));
  EXPECT_TRUE(find_volume(out, "keyward-broker-token").is_null());
}

TEST(PodMutator, DirectModeReportsToTheBrokerAndTrustsTheApiKeysProviderCa) {
  const std::string broker_ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const std::string provider_ca = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
  json key = apikey("bots", "alpha");
  key["spec"]["tokenExchange"]["caBundle"] = provider_ca;
  MutationContext ctx = context_for(key);
  ctx.defaults.mode = "direct";
  ctx.defaults.broker_url = "https://kw-webhook.keyward-system.svc:8444";
  ctx.defaults.broker_ca_pem = broker_ca;
  json pod = annotated_pod("alpha", json::array({container("a")}));
  json out = pod.patch(PodMutator().mutate(pod, "bots", ctx).patch);
  json sc = find_container(out, "initContainers", "keyward-sidecar");
  EXPECT_TRUE(has_arg_pair(sc, "--mode", "direct"));
  // The provider's private CA, from the ApiKey, through the pod's own annotation.
  EXPECT_EQ(out["metadata"]["annotations"]["keyward.dev/provider-ca"], provider_ca);
  EXPECT_EQ(
      find_volume(out, "keyward-provider-ca")["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"],
      "metadata.annotations['keyward.dev/provider-ca']");
  EXPECT_TRUE(has_arg_pair(sc, "--ca-file", "/var/run/keyward/provider-ca/ca.crt"));
  // The key version report: the broker's URL, CA and a token for its audience.
  EXPECT_TRUE(has_arg_pair(sc, "--report-url", "https://kw-webhook.keyward-system.svc:8444"));
  EXPECT_TRUE(has_arg_pair(sc, "--report-ca-file", "/var/run/keyward/broker-ca/ca.crt"));
  EXPECT_TRUE(
      has_arg_pair(sc, "--service-account-token-file", "/var/run/keyward/broker-token/token"));
  EXPECT_EQ(out["metadata"]["annotations"]["keyward.dev/broker-ca"], broker_ca);
  EXPECT_FALSE(find_volume(out, "keyward-broker-token").is_null());
  std::set<std::string> mounts;
  for (const auto& m : sc["volumeMounts"]) mounts.insert(m["name"]);
  for (const char* v : {"keyward-provider-ca", "keyward-broker-ca", "keyward-broker-token"})
    EXPECT_TRUE(mounts.contains(v)) << v;
  // Broker mode ignores the provider CA: the broker talks to the provider, not the pod.
  ctx.defaults.mode = "broker";
  json broker = pod.patch(PodMutator().mutate(pod, "bots", ctx).patch);
  EXPECT_FALSE(broker["metadata"]["annotations"].contains("keyward.dev/provider-ca"));
  EXPECT_TRUE(find_volume(broker, "keyward-provider-ca").is_null());
}

TEST(PodMutator, TheOperatorsProviderCaIsTheDefaultAndTheApiKeysWins) {
  const std::string operator_ca = "-----BEGIN CERTIFICATE-----\nMIIO\n-----END CERTIFICATE-----\n";
  const std::string key_ca = "-----BEGIN CERTIFICATE-----\nMIIK\n-----END CERTIFICATE-----\n";
  json key = apikey("bots", "alpha");
  MutationContext ctx = context_for(key);
  ctx.defaults.mode = "direct";
  ctx.defaults.provider_ca_pem = operator_ca;
  json pod = annotated_pod("alpha", json::array({container("a")}));
  json out = pod.patch(PodMutator().mutate(pod, "bots", ctx).patch);
  EXPECT_EQ(out["metadata"]["annotations"]["keyward.dev/provider-ca"], operator_ca);
  EXPECT_TRUE(has_arg_pair(find_container(out, "initContainers", "keyward-sidecar"), "--ca-file",
                           "/var/run/keyward/provider-ca/ca.crt"));
  key["spec"]["tokenExchange"]["caBundle"] = key_ca;
  ctx = context_for(key);
  ctx.defaults.mode = "direct";
  ctx.defaults.provider_ca_pem = operator_ca;
  out = pod.patch(PodMutator().mutate(pod, "bots", ctx).patch);
  EXPECT_EQ(out["metadata"]["annotations"]["keyward.dev/provider-ca"], key_ca);
}

TEST(PodMutator, TokenFileAndVariableNameComeFromTheApiKeyInBothModes) {
  json key = apikey("bots", "alpha");
  key["spec"]["tokenExchange"]["tokenFile"] = "access-token";
  key["spec"]["tokenExchange"]["envVarName"] = "TRADOVATE_ACCESS_TOKEN";
  for (const char* mode : {"broker", "direct"}) {
    MutationContext ctx = context_for(key);
    ctx.defaults.mode = mode;
    json pod = annotated_pod("alpha", json::array({container("a")}));
    json out = pod.patch(PodMutator().mutate(pod, "bots", ctx).patch);
    json sc = find_container(out, "initContainers", "keyward-sidecar");
    EXPECT_TRUE(has_arg_pair(sc, "--token-file", "access-token")) << mode;
    EXPECT_TRUE(has_arg_pair(sc, "--env-var-name", "TRADOVATE_ACCESS_TOKEN")) << mode;
  }
}

TEST(PodMutator, NoKeyVersionIsStampedAtAdmission) {
  // With or without a key yet: the operator records the version the sidecar delivers.
  for (bool with_status : {false, true}) {
    json key = apikey("bots", "alpha");
    if (!with_status) key.erase("status");
    json pod = annotated_pod("alpha", json::array({container("a")}));
    json out = pod.patch(PodMutator().mutate(pod, "bots", context_for(key)).patch);
    EXPECT_FALSE(out["metadata"]["annotations"].contains("keyward.dev/key-version")) << with_status;
  }
}

TEST(ApiKeyForInjection, WrongTypesAreNamed) {
  json key = apikey("bots", "alpha");
  key["spec"]["active"] = "yes";
  auto f = apikey_for_injection(key);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().reason, "InvalidSpec");
  EXPECT_NE(f.error().message.find("spec.active"), std::string::npos);
}

TEST(ApiKeyForInjection, AnInvalidApiKeyRefusesThePodNamingTheField) {
  json key = apikey("bots", "alpha");
  key["spec"]["tokenExchange"] = {{"provider", "tradovate"}};  // no endpoint
  json pod = annotated_pod("alpha", json::array({container("app")}));
  AdmissionResult r = PodMutator().mutate(pod, "bots", context_for(key));
  ASSERT_EQ(r.kind, AdmissionResult::Kind::Denied);
  EXPECT_EQ(r.reason, "ApiKeyInvalid");
  EXPECT_NE(r.message.find("spec.tokenExchange.endpoint"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("kubectl describe apikey -n bots alpha"), std::string::npos);
}

TEST(ApiKeyForInjection, AMalformedStatusDoesNotRefuseThePod) {
  json key = apikey("bots", "alpha");
  key["status"] = {{"keyVersion", "three"}};
  json pod = annotated_pod("alpha", json::array({container("app")}));
  EXPECT_EQ(PodMutator().mutate(pod, "bots", context_for(key)).kind,
            AdmissionResult::Kind::Patched);
}

TEST(ServerVersion, ParsesVendorVersions) {
  EXPECT_EQ(*parse_server_version("1.30"), (ServerVersion{1, 30}));
  EXPECT_EQ(*parse_server_version("v1.28.4-eks-1"), (ServerVersion{1, 28}));
  EXPECT_FALSE(parse_server_version("latest"));
  EXPECT_EQ(*server_version_from_json({{"major", "1"}, {"minor", "29+"}}), (ServerVersion{1, 29}));
  EXPECT_EQ(*server_version_from_json({{"major", ""}, {"minor", ""}, {"gitVersion", "v1.27.1"}}),
            (ServerVersion{1, 27}));
  EXPECT_TRUE((ServerVersion{1, 29}).supports_native_sidecars());
  EXPECT_FALSE((ServerVersion{1, 28}).supports_native_sidecars());
  EXPECT_TRUE((ServerVersion{2, 0}).supports_native_sidecars());
}

}  // namespace
}  // namespace keyward::webhook
