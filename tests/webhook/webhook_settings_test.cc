// The settings keyward-operator reads (--webhook-config) and the Webhook component built on them.

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "operator/apikey/names.h"
#include "operator/webhook/webhook.h"
#include "tests/support/fake_clock.h"
#include "tests/support/memory_kube_api.h"
#include "tests/support/test_pki.h"
#include "tests/webhook/fixtures.h"

namespace keyward::webhook {
namespace {

using keyward::testing::TestKeyPair;
using keyward::testing::TestPki;

using namespace keyward::webhook::testing;
namespace fs = std::filesystem;

TEST(WebhookSettings, ParsesTheChartsKeys) {
  auto s = parse_webhook_settings(R"(listen: "0.0.0.0:8443"
certFile: /tls/tls.crt
keyFile: /tls/tls.key
sidecarImage: "registry.example/sidecar@sha256:abc"
imagePullPolicy: Always
mode: direct
brokerUrl: "https://kw.keyward-system.svc:443"
tokenVolumeSize: "2Mi"
statusPort: 9191
reloadIntervalSeconds: 30
resources:
  requests: {cpu: 5m, memory: 8Mi}
)");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->server.host, "0.0.0.0");
  EXPECT_EQ(s->server.port, 8443);
  EXPECT_EQ(s->server.reload_interval, std::chrono::seconds(30));
  EXPECT_EQ(s->cert_file, "/tls/tls.crt");
  EXPECT_EQ(s->key_file, "/tls/tls.key");
  EXPECT_EQ(s->injection.sidecar_image, "registry.example/sidecar@sha256:abc");
  EXPECT_EQ(s->injection.defaults.image_pull_policy, "Always");
  EXPECT_EQ(s->injection.defaults.mode, "direct");
  EXPECT_EQ(s->injection.defaults.broker_url, "https://kw.keyward-system.svc:443");
  EXPECT_EQ(s->injection.defaults.token_volume_size, "2Mi");
  EXPECT_EQ(s->injection.defaults.status_port, 9191);
  EXPECT_EQ(s->injection.defaults.resources["requests"]["cpu"], "5m");
}

TEST(WebhookSettings, RefusesTyposAndMissingImage) {
  auto typo = parse_webhook_settings("sidecarImage: x\nlisten: ':8443'\nmdoe: broker\n");
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().reason, "InvalidWebhookConfig");
  EXPECT_NE(typo.error().message.find("'mdoe'"), std::string::npos);
  auto missing = parse_webhook_settings("mode: broker\n");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("sidecarImage"), std::string::npos);
  EXPECT_FALSE(parse_webhook_settings("sidecarImage: x\nstatusPort: 70000\n"));
  EXPECT_FALSE(parse_webhook_settings("sidecarImage: x\nmode: sideways\n"));
  EXPECT_FALSE(load_webhook_settings("/nonexistent/webhook.yaml"));
}

TEST(WebhookComponent, ServesAdmissionReviewsFromItsSettings) {
  char tmpl[] = "/tmp/keyward-webhook-settings-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  TestPki ca = TestPki::create("settings CA");
  TestKeyPair leaf = ca.issue("webhook", {"localhost", "127.0.0.1"}, false);
  std::ofstream(dir / "tls.crt") << leaf.cert_pem;
  std::ofstream(dir / "tls.key") << leaf.key_pem;
  std::ofstream(dir / "ca.crt") << ca.ca_cert_pem;
  auto settings = parse_webhook_settings(
      "listen: '127.0.0.1:0'\nsidecarImage: sidecar:9\ncertFile: " + (dir / "tls.crt").string() +
      "\nkeyFile: " + (dir / "tls.key").string() + "\n");
  ASSERT_TRUE(settings) << settings.error().message;
  keyward::testing::MemoryKubeApi api;
  api.put(apikey::apikey_resource(), apikey("bots", "alpha"));
  keyward::testing::FakeClock clock;
  {
    Webhook webhook(api, clock, make_null_logger(), *settings);
    ASSERT_TRUE(webhook.start());
    httplib::SSLClient client("localhost", webhook.port());
    client.set_ca_cert_path((dir / "ca.crt").c_str());
    client.enable_server_certificate_verification(true);
    auto res =
        client.Post("/mutate-pods",
                    review(annotated_pod("alpha", json::array({container("app")})), "bots").dump(),
                    "application/json");
    ASSERT_TRUE(res);
    auto answer = nlohmann::json::parse(res->body);
    EXPECT_EQ(answer["response"]["allowed"], true);
    EXPECT_EQ(answer["response"]["patchType"], "JSONPatch");
    EXPECT_NE(res->body.find("patch"), std::string::npos);
  }
  // A missing certificate stops start() with a clear error.
  settings->cert_file = (dir / "missing.crt").string();
  Webhook broken(api, clock, make_null_logger(), *settings);
  auto s = broken.start();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().reason, "CertificateUnreadable");
  EXPECT_NE(s.error().message.find("missing.crt"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace keyward::webhook
