// The admission webhook end to end: AdmissionReviews POSTed to the real HTTPS server (port 0,
// a test CA the client verifies), the returned patch decoded and applied to the pod, and the
// result checked field by field.

#include "operator/webhook/webhook_server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/core/base64.h"
#include "common/core/yaml_json.h"
#include "operator/apikey/names.h"
#include "operator/webhook/inject_command.h"
#include "tests/support/fake_clock.h"
#include "tests/support/memory_kube_api.h"
#include "tests/support/test_pki.h"
#include "tests/webhook/fixtures.h"

namespace keyward::webhook {
namespace {

using keyward::testing::TestKeyPair;
using keyward::testing::TestPki;

using namespace keyward::webhook::testing;
using nlohmann::json;
namespace fs = std::filesystem;

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// Waits (bounded) until pred holds; returns whether it did.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

class WebhookHttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/keyward-webhook-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ca_ = TestPki::create("keyward test CA");
    leaf_ = ca_.issue("keyward-webhook-1", {"localhost", "127.0.0.1"}, false);
    write_file(dir_ / "ca.crt", ca_.ca_cert_pem);
    write_file(dir_ / "tls.crt", leaf_.cert_pem);
    write_file(dir_ / "tls.key", leaf_.key_pem);

    sink_ = std::make_shared<MemorySink>();
    logger_ = std::make_unique<Logger>("webhook", sink_, std::make_shared<Redactor>(),
                                       LogLevel::Debug, &clock_);
    source_ = std::make_unique<FileCertificateSource>((dir_ / "tls.crt").string(),
                                                      (dir_ / "tls.key").string());
    store_ = std::make_unique<CertificateStore>(*source_, *logger_);
    versions_ = std::make_unique<ServerVersionCache>(api_, clock_, *logger_);
    InjectionConfig config;
    config.sidecar_image = "ghcr.io/keyward/keyward-sidecar:0.1.0";
    config.defaults.broker_url = "https://keyward-operator.keyward-system.svc:8444";
    pods_ = std::make_unique<PodAdmissionHandler>(api_, *versions_, config, *logger_);
    apikeys_ = std::make_unique<ApiKeyValidator>(api_, *logger_);
    WebhookServerConfig sc;
    sc.host = "127.0.0.1";
    sc.port = 0;
    server_ = std::make_unique<WebhookServer>(sc, *store_, *pods_, *apikeys_, clock_, *logger_,
                                              &registry_);
    ASSERT_TRUE(server_->start());
    api_.put(apikey::apikey_resource(), apikey("bots", "alpha"));
  }

  void TearDown() override {
    server_->stop();
    // The TLS private key never reaches the logs.
    EXPECT_EQ(sink_->joined().find(key_body(leaf_.key_pem)), std::string::npos);
    fs::remove_all(dir_);
  }

  static std::string key_body(const std::string& pem) {
    auto start = pem.find('\n') + 1;
    return pem.substr(start, 40);
  }

  std::unique_ptr<httplib::SSLClient> client(const std::string& ca_file = "ca.crt") {
    auto c = std::make_unique<httplib::SSLClient>("localhost", server_->port());
    c->set_ca_cert_path((dir_ / ca_file).string().c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(std::chrono::seconds(5));
    c->set_read_timeout(std::chrono::seconds(5));
    return c;
  }

  // POSTs a review and returns the AdmissionReview answer's response object.
  json post(const std::string& path, const json& body) {
    auto c = client();
    auto res = c->Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res) << "request failed: " << httplib::to_string(res.error());
    if (!res) return nullptr;
    EXPECT_EQ(res->status, 200) << res->body;
    json answer = json::parse(res->body);
    EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1");
    EXPECT_EQ(answer["kind"], "AdmissionReview");
    EXPECT_EQ(answer["response"]["uid"], body["request"]["uid"]) << "uid must be echoed";
    return answer["response"];
  }

  json admit(const json& pod, const std::string& ns = "bots") {
    return post("/mutate-pods", review(pod, ns));
  }

  // Admits the pod, expects a patch, and returns the pod with the patch applied.
  json admit_and_apply(const json& pod, const std::string& ns = "bots") {
    json response = admit(pod, ns);
    EXPECT_EQ(response["allowed"], true) << response.dump();
    EXPECT_EQ(response.value("patchType", ""), "JSONPatch") << response.dump();
    json ops = json::parse(base64_decode(response.value("patch", "")).value_or(""));
    EXPECT_TRUE(ops.is_array());
    return pod.patch(ops);
  }

  void use_server_version(const std::string& minor) {
    api_.set_version({{"major", "1"}, {"minor", minor}, {"gitVersion", "v1." + minor + ".0"}});
    clock_.advance(std::chrono::hours(1));  // past the version cache's ttl
  }

  fs::path dir_;
  TestPki ca_;
  TestKeyPair leaf_;
  keyward::testing::FakeClock clock_;
  std::shared_ptr<MemorySink> sink_;
  std::unique_ptr<Logger> logger_;
  keyward::testing::MemoryKubeApi api_;
  std::unique_ptr<FileCertificateSource> source_;
  std::unique_ptr<CertificateStore> store_;
  std::unique_ptr<ServerVersionCache> versions_;
  std::unique_ptr<PodAdmissionHandler> pods_;
  std::unique_ptr<ApiKeyValidator> apikeys_;
  MetricsRegistry registry_;
  std::unique_ptr<WebhookServer> server_;
};

void expect_restrictive_security(const json& c) {
  const json& sc = c["securityContext"];
  EXPECT_EQ(sc["runAsNonRoot"], true);
  EXPECT_EQ(sc["readOnlyRootFilesystem"], true);
  EXPECT_EQ(sc["allowPrivilegeEscalation"], false);
  EXPECT_EQ(sc["capabilities"]["drop"], json::array({"ALL"}));
  EXPECT_EQ(sc["seccompProfile"]["type"], "RuntimeDefault");
  EXPECT_TRUE(c["resources"].contains("requests"));
  EXPECT_TRUE(c["resources"].contains("limits"));
}

void expect_token_mount(const json& c, bool expected = true) {
  bool found = false;
  if (c.contains("volumeMounts")) {
    for (const auto& m : c["volumeMounts"]) {
      if (m["name"] == "keyward-tokens") {
        found = true;
        EXPECT_EQ(m["mountPath"], "/var/run/keyward/tokens");
        EXPECT_EQ(m["readOnly"], true) << "apps mount the token directory read-only";
      }
    }
  }
  EXPECT_EQ(found, expected) << c.dump();
}

TEST_F(WebhookHttpsTest, HealthzAnswersOverTls) {
  auto res = client()->Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok");
}

TEST_F(WebhookHttpsTest, PodWithoutAnnotationIsAllowedUntouched) {
  json pod = annotated_pod("alpha", json::array({container("app")}));
  pod["metadata"].erase("annotations");
  json response = admit(pod);
  EXPECT_EQ(response["allowed"], true);
  EXPECT_FALSE(response.contains("patch"));
  EXPECT_EQ(api_.get_calls(), 0) << "no ApiKey lookup for pods that ask for none";
}

TEST_F(WebhookHttpsTest, OneContainerOnNewServerGetsNativeSidecar) {
  json pod = annotated_pod("alpha", json::array({container("app")}));
  json out = admit_and_apply(pod);

  // The app container is unchanged but for the read-only token mount.
  ASSERT_EQ(out["spec"]["containers"].size(), 1u);
  json app = out["spec"]["containers"][0];
  EXPECT_EQ(app["name"], "app");
  EXPECT_EQ(app["image"], "registry.example/app:1");
  expect_token_mount(app);
  EXPECT_FALSE(app.contains("command"));

  // Native sidecar: an init container with restartPolicy Always and a startup probe on /readyz.
  ASSERT_EQ(out["spec"]["initContainers"].size(), 1u);
  json sc = out["spec"]["initContainers"][0];
  EXPECT_EQ(sc["name"], "keyward-sidecar");
  EXPECT_EQ(sc["image"], "ghcr.io/keyward/keyward-sidecar:0.1.0");
  EXPECT_EQ(sc["restartPolicy"], "Always");
  EXPECT_EQ(sc["startupProbe"]["httpGet"]["path"], "/readyz");
  EXPECT_EQ(sc["startupProbe"]["httpGet"]["port"], 9090);
  EXPECT_EQ(sc["livenessProbe"]["httpGet"]["path"], "/healthz");
  EXPECT_FALSE(sc.contains("lifecycle"));
  EXPECT_EQ(sc["command"], json::array({"/keyward-sidecar"}));
  EXPECT_EQ(sc["args"][0], "run");
  EXPECT_TRUE(has_arg_pair(sc, "--mode", "broker"));
  EXPECT_TRUE(has_arg_pair(sc, "--apikey", "alpha"));
  EXPECT_TRUE(has_arg_pair(sc, "--namespace", "bots"));
  EXPECT_TRUE(has_arg_pair(sc, "--out", "/var/run/keyward/tokens"));
  EXPECT_TRUE(has_arg_pair(sc, "--broker-url", "https://keyward-operator.keyward-system.svc:8444"));
  EXPECT_TRUE(has_arg_pair(sc, "--listen", "0.0.0.0:9090"));
  EXPECT_FALSE(has_arg(sc, "--once"));
  EXPECT_FALSE(has_arg(sc, "--key-dir")) << "broker mode needs no key Secret";
  expect_restrictive_security(sc);
  ASSERT_EQ(sc["volumeMounts"].size(), 2u);
  EXPECT_EQ(sc["volumeMounts"][0]["name"], "keyward-tokens");
  const json& token_mount = sc.at("volumeMounts").at(0);
  EXPECT_FALSE(token_mount.contains("readOnly") && token_mount.at("readOnly") == true)
      << "the sidecar writes the tokens";
  EXPECT_EQ(sc["volumeMounts"][1]["name"], "keyward-broker-token") << "its token for the broker";
  EXPECT_TRUE(
      has_arg_pair(sc, "--service-account-token-file", "/var/run/keyward/broker-token/token"));

  // The memory-backed token volume.
  json vol = find_volume(out, "keyward-tokens");
  ASSERT_FALSE(vol.is_null());
  EXPECT_EQ(vol["emptyDir"]["medium"], "Memory");
  EXPECT_EQ(vol["emptyDir"]["sizeLimit"], "1Mi");
  EXPECT_EQ(out["spec"]["volumes"].size(), 2u) << "the tokens and the broker token";

  // Pod metadata.
  EXPECT_EQ(out["metadata"]["annotations"]["keyward.dev/injected"], "true");
  EXPECT_FALSE(out["metadata"]["annotations"].contains("keyward.dev/key-version"))
      << "the version a pod runs is recorded when its sidecar delivers one, not at admission";
  EXPECT_EQ(out["metadata"]["annotations"]["keyward.dev/inject"], "alpha");
  EXPECT_EQ(out["metadata"]["labels"]["keyward.dev/apikey"], "alpha");
  EXPECT_EQ(out["spec"]["securityContext"]["fsGroup"], 65532);
}

TEST_F(WebhookHttpsTest, ManyContainersAllGetTheMountUnlessListed) {
  json pod = annotated_pod("alpha", json::array({container("a"), container("b"), container("c")}));
  json all = admit_and_apply(pod);
  ASSERT_EQ(all["spec"]["containers"].size(), 3u);
  for (const auto& c : all["spec"]["containers"]) expect_token_mount(c);

  pod["metadata"]["annotations"]["keyward.dev/containers"] = "a, c";
  json some = admit_and_apply(pod);
  expect_token_mount(some["spec"]["containers"][0]);
  expect_token_mount(some["spec"]["containers"][1], false);
  expect_token_mount(some["spec"]["containers"][2]);

  pod["metadata"]["annotations"]["keyward.dev/containers"] = "c,c";
  json twice = admit_and_apply(pod);
  EXPECT_EQ(twice["spec"]["containers"][2]["volumeMounts"].size(), 1u)
      << "a name listed twice is mounted once";

  pod["metadata"]["annotations"]["keyward.dev/containers"] = "a,zz";
  json refused = admit(pod);
  EXPECT_EQ(refused["allowed"], false);
  EXPECT_EQ(refused["status"]["reason"], "UnknownContainer");
  EXPECT_NE(refused["status"]["message"].get<std::string>().find("'zz'"), std::string::npos);
}

TEST_F(WebhookHttpsTest, ExistingVolumesInitContainersAnnotationsAndLabelsAreKept) {
  json pod = annotated_pod("alpha", json::array({container("app")}));
  pod["metadata"]["labels"] = {{"app", "bot"}};
  pod["metadata"]["annotations"]["team"] = "futures";
  pod["spec"]["volumes"] =
      json::array({{{"name", "config"}, {"configMap", {{"name", "bot-config"}}}}});
  pod["spec"]["initContainers"] = json::array({container("migrate")});
  pod["spec"]["containers"][0]["volumeMounts"] =
      json::array({{{"name", "config"}, {"mountPath", "/etc/bot"}}});
  pod["spec"]["securityContext"] = {{"runAsUser", 1000}, {"fsGroup", 2000}};

  json response = admit(pod);
  json ops = json::parse(base64_decode(response["patch"].get<std::string>()).value_or(""));
  // Paths append to what exists and escape '/' in annotation keys.
  std::set<std::string> paths;
  for (const auto& op : ops) paths.insert(op["path"].get<std::string>());
  EXPECT_TRUE(paths.count("/spec/volumes/-"));
  EXPECT_TRUE(paths.count("/spec/initContainers/-"));
  EXPECT_TRUE(paths.count("/spec/containers/0/volumeMounts/-"));
  EXPECT_TRUE(paths.count("/metadata/annotations/keyward.dev~1injected"));
  EXPECT_TRUE(paths.count("/metadata/labels/keyward.dev~1apikey"));
  EXPECT_FALSE(paths.count("/spec/securityContext/fsGroup")) << "the pod's own fsGroup is kept";

  json out = pod.patch(ops);
  ASSERT_EQ(out["spec"]["volumes"].size(), 3u);
  EXPECT_EQ(out["spec"]["volumes"][0]["name"], "config");
  EXPECT_EQ(out["spec"]["volumes"][1]["name"], "keyward-tokens");
  EXPECT_EQ(out["spec"]["volumes"][2]["name"], "keyward-broker-token");
  ASSERT_EQ(out["spec"]["initContainers"].size(), 2u);
  EXPECT_EQ(out["spec"]["initContainers"][0]["name"], "migrate");
  EXPECT_EQ(out["spec"]["initContainers"][1]["name"], "keyward-sidecar");
  ASSERT_EQ(out["spec"]["containers"][0]["volumeMounts"].size(), 2u);
  EXPECT_EQ(out["spec"]["containers"][0]["volumeMounts"][0]["name"], "config");
  EXPECT_EQ(out["metadata"]["labels"]["app"], "bot");
  EXPECT_EQ(out["metadata"]["annotations"]["team"], "futures");
  EXPECT_EQ(out["spec"]["securityContext"]["fsGroup"], 2000);
  EXPECT_EQ(out["spec"]["securityContext"]["runAsUser"], 1000);
}

TEST_F(WebhookHttpsTest, ReinvocationAndAlreadyInjectedPodsAreNotInjectedTwice) {
  json pod = annotated_pod("alpha", json::array({container("app")}));
  json once = admit_and_apply(pod);
  json again = admit(once);
  EXPECT_EQ(again["allowed"], true);
  EXPECT_FALSE(again.contains("patch"));

  // A pod that carries the sidecar but lost the annotation is not injected either.
  once["metadata"]["annotations"].erase("keyward.dev/injected");
  json third = admit(once);
  EXPECT_EQ(third["allowed"], true);
  EXPECT_FALSE(third.contains("patch"));
}

TEST_F(WebhookHttpsTest, OldServerGetsClassicSidecarFirstWithTokenGate) {
  use_server_version("28");
  json pod = annotated_pod("alpha", json::array({container("app"), container("metrics")}));
  json out = admit_and_apply(pod);
  EXPECT_FALSE(out["spec"].contains("initContainers"))
      << "never an init container that blocks forever";
  ASSERT_EQ(out["spec"]["containers"].size(), 3u);
  json sc = out["spec"]["containers"][0];
  EXPECT_EQ(sc["name"], "keyward-sidecar");
  EXPECT_FALSE(sc.contains("restartPolicy"));
  json hook = sc["lifecycle"]["postStart"]["exec"]["command"];
  ASSERT_TRUE(hook.is_array());
  EXPECT_EQ(hook[1], "exec") << "the postStart hook waits for the first token";
  EXPECT_EQ(out["spec"]["containers"][1]["name"], "app");
  EXPECT_EQ(out["spec"]["containers"][2]["name"], "metrics");
  expect_token_mount(out["spec"]["containers"][1]);
  expect_token_mount(out["spec"]["containers"][2]);
  expect_restrictive_security(sc);
}

TEST_F(WebhookHttpsTest, JobPodOnOldServerGetsInitOnlyModeAndNativeOnNew) {
  json pod = annotated_pod("alpha", json::array({container("report")}));
  pod["spec"]["restartPolicy"] = "Never";
  pod["metadata"]["ownerReferences"] =
      json::array({{{"kind", "Job"}, {"name", "nightly"}, {"controller", true}}});

  use_server_version("27");
  json old_out = admit_and_apply(pod);
  ASSERT_EQ(old_out["spec"]["containers"].size(), 1u)
      << "no long-running sidecar keeps the Job alive";
  ASSERT_EQ(old_out["spec"]["initContainers"].size(), 1u);
  json init = old_out["spec"]["initContainers"][0];
  EXPECT_EQ(init["name"], "keyward-sidecar");
  EXPECT_TRUE(has_arg(init, "--once"));
  EXPECT_FALSE(has_arg(init, "--listen"));
  EXPECT_FALSE(init.contains("restartPolicy"));
  EXPECT_FALSE(init.contains("startupProbe")) << "plain init containers may not have probes";
  expect_token_mount(old_out["spec"]["containers"][0]);

  use_server_version("30");
  json new_out = admit_and_apply(pod);
  json native = new_out["spec"]["initContainers"][0];
  EXPECT_EQ(native["restartPolicy"], "Always") << "native sidecars end with the Job";
  EXPECT_FALSE(has_arg(native, "--once"));
}

TEST_F(WebhookHttpsTest, EnvShimWrapsCommandsAndRefusesContainersWithoutOne) {
  json pod =
      annotated_pod("alpha", json::array({container("app", json::array({"/bin/bot", "--live"}))}));
  pod["spec"]["containers"][0]["args"] = json::array({"--venue", "cme"});
  pod["metadata"]["annotations"]["keyward.dev/env-shim"] = "true";
  json out = admit_and_apply(pod);
  json app = out["spec"]["containers"][0];
  EXPECT_EQ(app["command"],
            json::array({"/var/run/keyward/bin/ld.so", "--library-path", "/var/run/keyward/bin",
                         "/var/run/keyward/bin/keyward-sidecar", "exec", "--out",
                         "/var/run/keyward/tokens", "--", "/bin/bot", "--live"}));
  EXPECT_EQ(app["args"], json::array({"--venue", "cme"}))
      << "args stay and follow the wrapped command";
  ASSERT_EQ(out["spec"]["initContainers"].size(), 2u);
  EXPECT_EQ(out["spec"]["initContainers"][0]["name"], "keyward-shim-install");
  EXPECT_EQ(out["spec"]["initContainers"][1]["name"], "keyward-sidecar");
  EXPECT_FALSE(find_volume(out, "keyward-bin").is_null());

  json bare = annotated_pod("alpha", json::array({container("app")}));
  bare["metadata"]["annotations"]["keyward.dev/env-shim"] = "true";
  json refused = admit(bare);
  EXPECT_EQ(refused["allowed"], false);
  EXPECT_EQ(refused["status"]["reason"], "EnvShimNeedsCommand");
  const std::string msg = refused["status"]["message"];
  EXPECT_NE(msg.find("'app'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("set its command"), std::string::npos) << msg;
}

TEST_F(WebhookHttpsTest, RefusalsSayWhatToFix) {
  struct Case {
    std::string name;
    json pod;
    std::string reason;
    std::string hint;
  };
  api_.put(apikey::apikey_resource(), apikey("bots", "sleepy", false));
  api_.put(apikey::apikey_resource(),
           apikey("bots", "owned", true, {{"kind", "Deployment"}, {"name", "alpha-bot"}}));
  std::vector<Case> cases = {
      {"unknown", annotated_pod("nope", json::array({container("app")})), "ApiKeyNotFound",
       "does not exist"},
      {"inactive", annotated_pod("sleepy", json::array({container("app")})), "ApiKeyInactive",
       "set spec.active to true"},
      {"other namespace", annotated_pod("prod/alpha", json::array({container("app")})),
       "ApiKeyInOtherNamespace", "create the ApiKey in bots"},
      {"assigned elsewhere", deployment_pod("beta-bot", "owned", json::array({container("app")})),
       "ApiKeyAssignedElsewhere", "assigned exclusively to Deployment/alpha-bot"},
      {"bare pod vs deployment", annotated_pod("owned", json::array({container("app")})),
       "ApiKeyAssignedElsewhere", "this pod belongs to Pod/bot-1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    json response = admit(c.pod);
    EXPECT_EQ(response["allowed"], false);
    EXPECT_EQ(response["status"]["code"], 403);
    EXPECT_EQ(response["status"]["reason"], c.reason);
    EXPECT_NE(response["status"]["message"].get<std::string>().find(c.hint), std::string::npos)
        << response["status"]["message"];
    EXPECT_FALSE(response.contains("patch"));
  }
  // The assigned workload's own pods are injected.
  json ok = admit_and_apply(deployment_pod("alpha-bot", "owned", json::array({container("app")})));
  EXPECT_EQ(ok["metadata"]["labels"]["keyward.dev/apikey"], "owned");
  // "ns/name" naming the pod's own namespace is fine.
  json same_ns = admit_and_apply(annotated_pod("bots/alpha", json::array({container("app")})));
  EXPECT_EQ(same_ns["metadata"]["labels"]["keyward.dev/apikey"], "alpha");
}

TEST_F(WebhookHttpsTest, AdmissionsAreCountedByResultAndTimed) {
  auto& admissions = registry_.counter("keyward_webhook_admissions_total", "");
  admit_and_apply(annotated_pod("alpha", json::array({container("app")})));
  admit(json{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "plain"}}}});
  admit(annotated_pod("nope", json::array({container("app")})));
  (void)client()->Post("/mutate-pods", R"({"kind":"AdmissionReview"})", "application/json");
  const auto mutate = [](const char* result) {
    return Labels{{"webhook", "mutate-pods"}, {"result", result}};
  };
  EXPECT_EQ(admissions.value(mutate("allowed")), 2);
  EXPECT_EQ(admissions.value(mutate("refused")), 1);
  EXPECT_EQ(admissions.value(mutate("error")), 1);
  EXPECT_EQ(registry_.histogram("keyward_webhook_admission_duration_seconds", "").count(), 4u);
  const std::string exposition = registry_.render();
  EXPECT_NE(exposition.find(
                "keyward_webhook_admissions_total{result=\"refused\",webhook=\"mutate-pods\"} 1"),
            std::string::npos)
      << exposition;
}

TEST_F(WebhookHttpsTest, MalformedReviewIsABadRequest) {
  auto res = client()->Post("/mutate-pods",
                            R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1"})",
                            "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("admissionReviewVersions"), std::string::npos);
}

TEST_F(WebhookHttpsTest, ServerVersionIsCachedAndFallsBackToClassic) {
  admit_and_apply(annotated_pod("alpha", json::array({container("app")})));
  admit_and_apply(annotated_pod("alpha", json::array({container("app")})));
  EXPECT_EQ(api_.version_calls(), 1);
  clock_.advance(std::chrono::minutes(11));
  admit_and_apply(annotated_pod("alpha", json::array({container("app")})));
  EXPECT_EQ(api_.version_calls(), 2);

  // A fresh cache that cannot ask the API server injects classic sidecars (work on every version).
  api_.fail_version(true);
  ServerVersionCache cold(api_, clock_, *logger_);
  EXPECT_EQ(cold.get(), (ServerVersion{1, 28}));
  // A warm cache keeps the last version it saw.
  clock_.advance(std::chrono::minutes(11));
  EXPECT_EQ(versions_->get(), (ServerVersion{1, 30}));
}

TEST_F(WebhookHttpsTest, ValidatorRefusesReassigningAHeldKey) {
  json old_key = apikey("bots", "alpha", true, {{"kind", "Deployment"}, {"name", "alpha-bot"}});
  json new_key = old_key;
  new_key["spec"]["consumers"]["workloadRef"]["name"] = "beta-bot";
  json pod = {{"metadata",
               {{"name", "alpha-bot-7c9-x2"},
                {"namespace", "bots"},
                {"labels", {{"keyward.dev/apikey", "alpha"}}}}}};
  api_.put(kube::ResourceType::pods(), pod);
  auto validate = [&](const json& older, const json& newer) {
    return post("/validate-apikeys",
                review(newer, "bots", "uid-v", "ApiKey", "keyward.dev", "UPDATE", older));
  };

  EXPECT_EQ(validate(old_key, new_key)["allowed"], true) << "no hold: reassigning is fine";

  pod["metadata"]["annotations"] = {{"keyward.dev/hold", "open positions"}};
  api_.put(kube::ResourceType::pods(), pod);
  json refused = validate(old_key, new_key);
  EXPECT_EQ(refused["allowed"], false);
  EXPECT_EQ(refused["status"]["reason"], "ApiKeyHeld");
  const std::string msg = refused["status"]["message"];
  EXPECT_NE(msg.find("alpha-bot-7c9-x2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Deployment/alpha-bot to Deployment/beta-bot"), std::string::npos) << msg;

  json new_source = old_key;
  new_source["spec"]["source"] = {{"secretRef", {{"name", "mine"}, {"key", "apiKey"}}}};
  EXPECT_EQ(validate(old_key, new_source)["status"]["reason"], "ApiKeyHeld");

  json display_only = old_key;
  display_only["spec"]["displayName"] = "renamed";
  EXPECT_EQ(validate(old_key, display_only)["allowed"], true) << "other changes pass while held";

  api_.fail_lists(true);
  json errored = validate(old_key, new_key);
  EXPECT_EQ(errored["allowed"], false);
  EXPECT_EQ(errored["status"]["code"], 500);
}

TEST_F(WebhookHttpsTest, CertificateReloadServesNewCertKeepsOpenConnections) {
  // A kept-alive connection, established on the first certificate.
  auto kept = client();
  kept->set_keep_alive(true);
  auto first = kept->Get("/healthz");
  ASSERT_TRUE(first);
  const auto handshakes_before = store_->handshakes();
  const auto generation_before = store_->generation();

  // cert-manager renews: a certificate from a new CA, written over the files.
  TestPki ca2 = TestPki::create("keyward test CA 2");
  TestKeyPair leaf2 = ca2.issue("keyward-webhook-2", {"localhost", "127.0.0.1"}, false);
  write_file(dir_ / "ca2.crt", ca2.ca_cert_pem);
  write_file(dir_ / "tls.crt", leaf2.cert_pem);
  write_file(dir_ / "tls.key", leaf2.key_pem);
  clock_.advance(std::chrono::seconds(10));  // the reload thread's next check
  ASSERT_TRUE(eventually([&] { return store_->generation() > generation_before; }));
  auto expected = CertifiedKey::parse(leaf2.cert_pem, leaf2.key_pem);
  ASSERT_TRUE(expected);
  EXPECT_EQ(store_->current()->fingerprint, (*expected)->fingerprint);

  // The open connection keeps working without a new handshake.
  auto second = kept->Get("/healthz");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(store_->handshakes(), handshakes_before)
      << "the kept-alive connection did not reconnect";

  // New connections see the new certificate: trusted with the new CA, refused with the old.
  auto with_new_ca = client("ca2.crt");
  auto ok = with_new_ca->Get("/healthz");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  auto with_old_ca = client("ca.crt");
  auto refused = with_old_ca->Get("/healthz");
  EXPECT_FALSE(refused) << "a client trusting only the old CA must not accept the new certificate";

  // A half-written pair is refused; the current certificate stays in service.
  write_file(dir_ / "tls.key", leaf_.key_pem);  // key of the old certificate: mismatch
  const auto generation_after = store_->generation();
  auto bad = store_->reload();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason, "InvalidCertificate");
  EXPECT_EQ(store_->generation(), generation_after);
  auto still = client("ca2.crt")->Get("/healthz");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
}

TEST_F(WebhookHttpsTest, OfflineInjectGivesTheSamePodSpecAsTheWebhook) {
  const std::string manifests = R"(apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata: {name: owned, namespace: bots}
spec:
  displayName: test
  source: {generate: {prefix: nt_, length: 40}}
  consumers: {workloadRef: {kind: Deployment, name: alpha-bot}}
  tokenExchange: {provider: tradovate, endpoint: "https://demo.tradovateapi.com/v1"}
status: {keyVersion: 7}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: alpha-bot, namespace: bots}
spec:
  replicas: 2
  selector: {matchLabels: {app: alpha-bot}}
  template:
    metadata:
      labels: {app: alpha-bot}
      annotations: {keyward.dev/inject: owned}
    spec:
      containers:
        - name: app
          image: registry.example/app:1
          env: [{name: VENUE, value: "CME"}]
)";
  api_.put(apikey::apikey_resource(),
           apikey("bots", "owned", true, {{"kind", "Deployment"}, {"name", "alpha-bot"}}));
  InjectOptions options;
  options.server_version = {1, 30};
  options.sidecar_image = "ghcr.io/keyward/keyward-sidecar:0.1.0";
  options.defaults.broker_url = "https://keyward-operator.keyward-system.svc:8444";
  auto out = inject_manifests(manifests, {}, options);
  ASSERT_TRUE(out) << out.error().to_string();
  auto docs = load_yaml_documents(*out);
  ASSERT_TRUE(docs);
  ASSERT_EQ(docs->size(), 2u);
  auto deployment = yaml_to_json((*docs)[1]);
  ASSERT_TRUE(deployment);
  const json offline_spec = (*deployment)["spec"]["template"]["spec"];

  // The pod the Deployment's ReplicaSet would create from the ORIGINAL template.
  auto original = yaml_to_json(YAML::LoadAll(manifests)[1]);
  json pod =
      deployment_pod("alpha-bot", "owned", (*original)["spec"]["template"]["spec"]["containers"]);
  json webhook_pod = admit_and_apply(pod);
  EXPECT_EQ(webhook_pod["spec"], offline_spec) << "webhook:\n"
                                               << webhook_pod["spec"].dump(2) << "\noffline:\n"
                                               << offline_spec.dump(2);
  EXPECT_FALSE((*deployment)["spec"]["template"]["metadata"]["annotations"].contains(
      "keyward.dev/key-version"));
}

}  // namespace
}  // namespace keyward::webhook
