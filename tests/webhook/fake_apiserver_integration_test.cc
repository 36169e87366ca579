// The webhook against the shared fake API server through the real KubeClient: the ApiKey
// (registered from crds/apikey.yaml), its status.keyVersion, the server version from /version,
// and the pods the validator checks all come over HTTP like in a cluster.

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "common/core/base64.h"
#include "common/core/http_transport_httplib.h"
#include "common/kube/kube_client.h"
#include "operator/apikey/names.h"
#include "operator/webhook/webhook.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_random.h"
#include "tests/support/test_pki.h"
#include "tests/support/wait_and_files.h"
#include "tests/webhook/fixtures.h"

namespace keyward::webhook {
namespace {

using keyward::testing::TestKeyPair;
using keyward::testing::TestPki;

using namespace keyward::webhook::testing;
using nlohmann::json;
namespace fs = std::filesystem;

class WebhookWithFakeApiServer : public ::testing::Test {
 protected:
  void SetUp() override {
    keyward::testing::FakeApiServerOptions options;
    options.git_version = "v1.28.5";
    options.crd_files = {(fs::path(KEYWARD_SOURCE_DIR) / "crds" / "apikey.yaml").string()};
    server_ = std::make_unique<keyward::testing::FakeApiServer>(options);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().to_string();
    server_->apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bots"}}}});
    json key = apikey("bots", "alpha", true, {{"kind", "Deployment"}, {"name", "alpha-bot"}}, 4);
    server_->apply(key);

    auto endpoint = HttpEndpoint::parse(server_->url());
    ASSERT_TRUE(endpoint);
    auto transport = HttplibTransport::create(*endpoint, {});
    ASSERT_TRUE(transport);
    transport_ = std::move(*transport);
    kube::KubeClientOptions ko;
    ko.server_url = server_->url();
    client_ = std::make_unique<kube::KubeClient>(*transport_, nullptr, make_null_logger(), ko);

    char tmpl[] = "/tmp/keyward-webhook-fake-XXXXXX";
    dir_ = mkdtemp(tmpl);
    TestPki ca = TestPki::create("fake CA");
    TestKeyPair leaf = ca.issue("webhook", {"localhost", "127.0.0.1"}, false);
    std::ofstream(dir_ / "tls.crt") << leaf.cert_pem;
    std::ofstream(dir_ / "tls.key") << leaf.key_pem;
    std::ofstream(dir_ / "ca.crt") << ca.ca_cert_pem;
    start_webhook();
  }

  // (Re)starts the webhook on a free port, reading through `caches` (none: the API only).
  void start_webhook(AdmissionCaches caches = {}) {
    webhook_.reset();
    WebhookSettings settings;
    settings.server.host = "127.0.0.1";
    settings.server.port = 0;
    settings.cert_file = (dir_ / "tls.crt").string();
    settings.key_file = (dir_ / "tls.key").string();
    settings.injection.sidecar_image = "sidecar:1";
    webhook_ = std::make_unique<Webhook>(*client_, clock_, make_null_logger(), settings, caches);
    ASSERT_TRUE(webhook_->start());
  }

  void TearDown() override {
    webhook_.reset();
    client_.reset();  // its idle kept-alive connection would hold the server's stop for 1 s
    server_->stop();
    fs::remove_all(dir_);
  }

  json post(const std::string& path, const json& body) {
    httplib::SSLClient c("localhost", webhook_->port());
    c.set_ca_cert_path((dir_ / "ca.crt").c_str());
    c.enable_server_certificate_verification(true);
    auto res = c.Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return nullptr;
    return json::parse(res->body)["response"];
  }

  json admit_and_apply(const json& pod) {
    json r = post("/mutate-pods", review(pod, "bots"));
    EXPECT_EQ(r["allowed"], true) << r.dump();
    return pod.patch(json::parse(base64_decode(r.value("patch", "")).value_or("")));
  }

  keyward::testing::FakeClock clock_;
  std::unique_ptr<keyward::testing::FakeApiServer> server_;
  std::unique_ptr<HttplibTransport> transport_;
  std::unique_ptr<kube::KubeClient> client_;
  fs::path dir_;
  std::unique_ptr<Webhook> webhook_;
};

TEST_F(WebhookWithFakeApiServer, VersionAndKeyComeFromTheApiServer) {
  json pod = deployment_pod("alpha-bot", "alpha", json::array({container("app")}));
  json old_server = admit_and_apply(pod);
  EXPECT_EQ(old_server["spec"]["containers"][0]["name"], "keyward-sidecar")
      << "1.28: classic sidecar first";
  EXPECT_FALSE(old_server["metadata"]["annotations"].contains("keyward.dev/key-version"))
      << "the webhook never guesses a key version (status.keyVersion is 4)";

  server_->set_git_version("v1.30.1");
  clock_.advance(std::chrono::minutes(11));  // past the version cache
  json new_server = admit_and_apply(pod);
  EXPECT_EQ(new_server["spec"]["initContainers"][0]["restartPolicy"], "Always")
      << "1.30: native sidecar";
  EXPECT_GE(server_->request_count("GET", "/version"), 2u);
}

// With the operator's caches an admission asks the API server for nothing; an ApiKey the cache
// does not hold yet is read from the API (a pod applied right after its ApiKey is not refused).
TEST_F(WebhookWithFakeApiServer, AdmissionsReadTheCachesAndFallBackToTheApi) {
  keyward::testing::FakeRandom random;
  kube::Informer apikeys(*client_, apikey::apikey_resource(), "", {}, clock_, random,
                         make_null_logger());
  kube::Informer namespaces(*client_, kube::ResourceType::namespaces(), "", {}, clock_, random,
                            make_null_logger());
  apikeys.start();
  namespaces.start();
  ASSERT_TRUE(keyward::testing::eventually(
      [&] { return apikeys.has_synced() && namespaces.has_synced(); }));
  start_webhook(AdmissionCaches{&apikeys.store(), &namespaces.store()});

  const auto key_gets = server_->request_count("GET", "/apikeys/alpha");
  const auto namespace_gets = server_->request_count("GET", "/namespaces/bots");
  for (int i = 0; i < 3; ++i) {
    json patched =
        admit_and_apply(deployment_pod("alpha-bot", "alpha", json::array({container("app")})));
    EXPECT_EQ(patched["spec"]["containers"][0]["name"], "keyward-sidecar");
  }
  EXPECT_EQ(server_->request_count("GET", "/apikeys/alpha"), key_gets);
  EXPECT_EQ(server_->request_count("GET", "/namespaces/bots"), namespace_gets);

  // A new ApiKey the cache has not seen (its informer stopped): read from the API.
  apikeys.stop();
  server_->apply(apikey("bots", "beta", true, {{"kind", "Deployment"}, {"name", "beta-bot"}}, 1));
  json beta = admit_and_apply(deployment_pod("beta-bot", "beta", json::array({container("app")})));
  EXPECT_EQ(beta["spec"]["containers"][0]["name"], "keyward-sidecar");
  EXPECT_EQ(server_->request_count("GET", "/apikeys/beta"), 1u);
  webhook_.reset();
  namespaces.stop();
}

TEST_F(WebhookWithFakeApiServer, RefusalsUseTheApiServersAnswers) {
  json unknown =
      post("/mutate-pods",
           review(deployment_pod("alpha-bot", "ghost", json::array({container("app")})), "bots"));
  EXPECT_EQ(unknown["allowed"], false);
  EXPECT_EQ(unknown["status"]["reason"], "ApiKeyNotFound");
  json elsewhere =
      post("/mutate-pods",
           review(deployment_pod("beta-bot", "alpha", json::array({container("app")})), "bots"));
  EXPECT_EQ(elsewhere["status"]["reason"], "ApiKeyAssignedElsewhere");

  // The API server failing the lookup is an error (500), not a silent allow.
  server_->fail_next(1, 500, "GET", "/apikeys/alpha");
  json failed =
      post("/mutate-pods",
           review(deployment_pod("alpha-bot", "alpha", json::array({container("app")})), "bots"));
  EXPECT_EQ(failed["allowed"], false);
  EXPECT_EQ(failed["status"]["code"], 500);
}

TEST_F(WebhookWithFakeApiServer, ValidatorListsHeldPodsThroughTheApiServer) {
  server_->apply({{"apiVersion", "v1"},
                  {"kind", "Pod"},
                  {"metadata",
                   {{"name", "alpha-bot-1"},
                    {"namespace", "bots"},
                    {"labels", {{"keyward.dev/apikey", "alpha"}}},
                    {"annotations", {{"keyward.dev/hold", "open positions"}}}}},
                  {"spec", {{"containers", json::array({container("app")})}}}});
  auto old_key = server_->get("keyward.dev/v1alpha1", "ApiKey", "bots", "alpha");
  ASSERT_TRUE(old_key);
  json new_key = *old_key;
  new_key["spec"]["consumers"]["workloadRef"]["name"] = "beta-bot";
  json r = post("/validate-apikeys",
                review(new_key, "bots", "u", "ApiKey", "keyward.dev", "UPDATE", *old_key));
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(r["status"]["reason"], "ApiKeyHeld");
  EXPECT_NE(r["status"]["message"].get<std::string>().find("alpha-bot-1"), std::string::npos);
}

// Exclusive in both directions: a second ApiKey for the same workload, or for the same
// upstream account anywhere in the cluster, is refused when it is created.
TEST_F(WebhookWithFakeApiServer, ASecondApiKeyForTheSameWorkloadOrAccountIsRefused) {
  auto existing = server_->get("keyward.dev/v1alpha1", "ApiKey", "bots", "alpha");
  ASSERT_TRUE(existing);
  json twin = *existing;
  twin["metadata"] = {{"name", "alpha-twin"}, {"namespace", "bots"}};
  twin.erase("status");
  json r = post("/validate-apikeys",
                review(twin, "bots", "u", "ApiKey", "keyward.dev", "CREATE", json()));
  EXPECT_EQ(r["allowed"], false) << r.dump();
  EXPECT_EQ(r["status"]["reason"], "WorkloadAssignedElsewhere");
  EXPECT_NE(r["status"]["message"].get<std::string>().find("bots/alpha"), std::string::npos);

  // Same Tradovate user at the same endpoint, from another namespace and workload.
  for (const char* ns : {"bots", "desk-b"}) {
    server_->apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    server_->apply({{"apiVersion", "v1"},
                    {"kind", "Secret"},
                    {"metadata", {{"name", "login"}, {"namespace", ns}}},
                    {"data", {{"username", keyward::base64_encode("alice")}}}});
  }
  auto tradovate = [](const std::string& ns, const std::string& name, const std::string& workload,
                      const std::string& endpoint) {
    return json{{"apiVersion", "keyward.dev/v1alpha1"},
                {"kind", "ApiKey"},
                {"metadata", {{"name", name}, {"namespace", ns}}},
                {"spec",
                 {{"source", {{"secretRef", {{"name", "tv"}}}}},
                  {"consumers", {{"workloadRef", {{"kind", "Deployment"}, {"name", workload}}}}},
                  {"tokenExchange",
                   {{"provider", "tradovate"},
                    {"endpoint", endpoint},
                    {"credentialsSecretRef", {{"name", "login"}}}}}}}};
  };
  server_->apply(tradovate("bots", "tv-a", "bot-a", "https://demo.tradovateapi.com/v1"));
  r = post("/validate-apikeys",
           review(tradovate("desk-b", "tv-b", "bot-b", "https://DEMO.tradovateapi.com/v1/"),
                  "desk-b", "u", "ApiKey", "keyward.dev", "CREATE", json()));
  EXPECT_EQ(r["allowed"], false) << r.dump();
  EXPECT_EQ(r["status"]["reason"], "UpstreamAccountInUse");
  EXPECT_NE(r["status"]["message"].get<std::string>().find("bots/tv-a"), std::string::npos);
  // Another user, or the live endpoint, is another account.
  server_->apply({{"apiVersion", "v1"},
                  {"kind", "Secret"},
                  {"metadata", {{"name", "login"}, {"namespace", "desk-b"}}},
                  {"data", {{"username", keyward::base64_encode("bob")}}}});
  r = post("/validate-apikeys",
           review(tradovate("desk-b", "tv-b", "bot-b", "https://demo.tradovateapi.com/v1"),
                  "desk-b", "u", "ApiKey", "keyward.dev", "CREATE", json()));
  EXPECT_EQ(r["allowed"], true) << r.dump();
  // An ApiKey being deleted is never refused (its finalizer must go), nor an update that leaves
  // its workload and account alone.
  json twin_deleting = tradovate("desk-b", "tv-b", "bot-b", "https://demo.tradovateapi.com/v1");
  server_->apply({{"apiVersion", "v1"},
                  {"kind", "Secret"},
                  {"metadata", {{"name", "login"}, {"namespace", "desk-b"}}},
                  {"data", {{"username", keyward::base64_encode("alice")}}}});
  twin_deleting["metadata"]["deletionTimestamp"] = "2026-12-01T00:00:00Z";
  r = post("/validate-apikeys",
           review(twin_deleting, "desk-b", "u", "ApiKey", "keyward.dev", "UPDATE", twin_deleting));
  EXPECT_EQ(r["allowed"], true) << r.dump();
  json annotated = tradovate("desk-b", "tv-b", "bot-b", "https://demo.tradovateapi.com/v1");
  json annotated_new = annotated;
  annotated_new["metadata"]["annotations"] = {{"keyward.dev/rotate", "x"}};
  r = post("/validate-apikeys",
           review(annotated_new, "desk-b", "u", "ApiKey", "keyward.dev", "UPDATE", annotated));
  EXPECT_EQ(r["allowed"], true) << r.dump();
  // Updating an ApiKey compares it with the others, not with itself.
  auto self = server_->get("keyward.dev/v1alpha1", "ApiKey", "bots", "tv-a");
  ASSERT_TRUE(self);
  r = post("/validate-apikeys",
           review(*self, "bots", "u", "ApiKey", "keyward.dev", "UPDATE", *self));
  EXPECT_EQ(r["allowed"], true) << r.dump();
}

// Live and demo never mix: a live key only into namespaces labelled keyward.dev/trading=live;
// a demo key in such a namespace is injected with a warning.
TEST_F(WebhookWithFakeApiServer, LiveKeysOnlyInLiveNamespacesAndDemoKeysThereWithAWarning) {
  auto key = server_->get("keyward.dev/v1alpha1", "ApiKey", "bots", "alpha");
  ASSERT_TRUE(key);
  json live_key = *key;
  live_key["spec"]["environment"] = "live";
  live_key["spec"]["tokenExchange"]["endpoint"] = "https://live.tradovateapi.com/v1";
  server_->apply(live_key);
  json pod = deployment_pod("alpha-bot", "alpha", json::array({container("app")}));
  json r = post("/mutate-pods", review(pod, "bots", "p", "Pod", "", "CREATE", json()));
  EXPECT_EQ(r["allowed"], false) << r.dump();
  EXPECT_EQ(r["status"]["reason"], "LiveKeyOutsideLiveNamespace");
  EXPECT_NE(r["status"]["message"].get<std::string>().find(
                "kubectl label namespace bots keyward.dev/trading=live"),
            std::string::npos)
      << r.dump();

  server_->apply({{"apiVersion", "v1"},
                  {"kind", "Namespace"},
                  {"metadata", {{"name", "bots"}, {"labels", {{"keyward.dev/trading", "live"}}}}}});
  r = post("/mutate-pods", review(pod, "bots", "p", "Pod", "", "CREATE", json()));
  EXPECT_EQ(r["allowed"], true) << r.dump();
  EXPECT_FALSE(r.contains("warnings")) << r.dump();

  server_->apply(*key);  // back to the demo key, in the live namespace
  r = post("/mutate-pods", review(pod, "bots", "p", "Pod", "", "CREATE", json()));
  EXPECT_EQ(r["allowed"], true) << r.dump();
  ASSERT_TRUE(r.contains("warnings")) << r.dump();
  EXPECT_NE(r["warnings"][0].get<std::string>().find("demo key"), std::string::npos);
}

// A key version that comes with a new pod (a template rendered by an old inject -f, or a hand
// edit to dodge restarts) is removed at admission: only the operator records one.
TEST_F(WebhookWithFakeApiServer, AKeyVersionArrivingWithThePodIsRemoved) {
  json pod = deployment_pod("alpha-bot", "alpha", json::array({container("app")}));
  pod["metadata"]["annotations"]["keyward.dev/key-version"] = "999";
  json out = admit_and_apply(pod);
  EXPECT_FALSE(out["metadata"]["annotations"].contains("keyward.dev/key-version")) << out.dump();
  EXPECT_EQ(out["metadata"]["annotations"]["keyward.dev/injected"], "true");
  // Already injected (rendered offline) too.
  json rendered = out;
  rendered["metadata"]["annotations"]["keyward.dev/key-version"] = "3";
  json again = admit_and_apply(rendered);
  EXPECT_FALSE(again["metadata"]["annotations"].contains("keyward.dev/key-version"));
}

}  // namespace
}  // namespace keyward::webhook
