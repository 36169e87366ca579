// spec.source.http.caBundle: the operator's http key source trusts the ApiKey's private CA for
// the regenerate endpoint, and only it. A real HTTPS server (certificate signed by a throw-away
// CA that no system store knows) and the real HttplibTransport factory the operator runs with.

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/core/http_transport_httplib.h"
#include "tests/operator/operator_fixture.h"
#include "tests/support/faulty_filesystem.h"
#include "tests/support/test_pki.h"

namespace keyward::testing {
namespace {

constexpr const char* kSeed = "pk_seed_0123456789abcdefghijklmnopqrstuv";
constexpr const char* kIssued = "pk_new_ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210";

// A regenerate endpoint over HTTPS: answers the new key to a call bearing the seed key.
class RegenerateServer {
 public:
  RegenerateServer(const std::string& cert_file, const std::string& key_file)
      : server_(cert_file.c_str(), key_file.c_str()) {
    server_.Post("/v1/regenerate", [this](const httplib::Request& req, httplib::Response& res) {
      ++calls_;
      if (req.get_header_value("Authorization") != std::string("Bearer ") + kSeed) {
        res.status = 401;
        return;
      }
      res.set_content(std::string(R"({"apiKey":")") + kIssued + "\"}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::jthread([this] { server_.listen_after_bind(); });
    // httplib 0.11 has no wait_until_ready: bound already, so connections queue until it runs.
  }
  ~RegenerateServer() { server_.stop(); }
  RegenerateServer(const RegenerateServer&) = delete;
  RegenerateServer& operator=(const RegenerateServer&) = delete;
  [[nodiscard]] std::string url() const {
    return "https://127.0.0.1:" + std::to_string(port_) + "/v1/regenerate";
  }
  [[nodiscard]] int calls() const { return calls_; }

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  std::atomic<int> calls_{0};
  std::jthread thread_;
};

class ProviderCaTest : public OperatorTest {
 protected:
  ProviderCaTest() {
    auto [cert, key] = pki.issue("localhost", {"localhost", "127.0.0.1"}, false);
    std::ofstream(tmp / "tls.crt") << cert;
    std::ofstream(tmp / "tls.key") << key;
    regenerate = std::make_unique<RegenerateServer>(tmp / "tls.crt", tmp / "tls.key");
    put(Json{{"apiVersion", "v1"},
             {"kind", "Secret"},
             {"metadata", {{"name", "keyward-alpha"}, {"namespace", "bots"}}},
             {"data", {{"apiKey", keyward::base64_encode(kSeed)}}}});
  }

  std::unique_ptr<controller::ApiKeyReconciler> reconciler() {
    controller::ReconcilerDeps deps{api, clock, logger, events, generator, {}, &metrics, {}};
    deps.http_transports = httplib_transport_factory();  // what keyward-operator runs with
    return std::make_unique<controller::ApiKeyReconciler>(std::move(deps));
  }

  void apply_apikey(const Json& http) {
    Json key = make_apikey(
        "alpha", {{"source", Json{{"http", http}}}, {"rotation", {{"intervalSeconds", 3600}}}});
    key["spec"]["source"].erase("generate");
    put(key);
  }

  TempDir tmp;
  TestPki pki = TestPki::create("desk-internal-ca");
  std::unique_ptr<RegenerateServer> regenerate;
};

TEST_F(ProviderCaTest, TheApiKeysCaBundleIsTrustedForTheRegenerateEndpoint) {
  apply_apikey({{"url", regenerate->url()}, {"caBundle", pki.ca_cert_pem}});
  auto r = reconciler();
  settle(*r);  // adopts the seed key as version 1
  ASSERT_EQ(key_version(), 1);
  clock.advance(std::chrono::hours(1));
  settle(*r);
  EXPECT_EQ(key_version(), 2) << sink->joined();
  EXPECT_EQ(secret_field("apiKey"), kIssued);
  EXPECT_EQ(regenerate->calls(), 1);
  EXPECT_EQ(observable_text().find(kIssued), std::string::npos) << "the new key was printed";
}

TEST_F(ProviderCaTest, WithoutTheBundleThePrivateCaIsNotTrustedAndNothingIsLost) {
  apply_apikey({{"url", regenerate->url()}});
  auto r = reconciler();
  settle(*r);
  ASSERT_EQ(key_version(), 1);
  clock.advance(std::chrono::hours(1));
  (void)reconcile(*r);
  EXPECT_EQ(key_version(), 1) << "no rotation without a trusted endpoint";
  EXPECT_EQ(secret_field("apiKey"), kSeed) << "the current key is kept";
  EXPECT_EQ(regenerate->calls(), 0) << "the TLS handshake failed before any request";
  const Json degraded = condition("Degraded");
  EXPECT_EQ(degraded["status"], "True") << apikey()["status"].dump();
  EXPECT_NE(degraded.value("message", "").find("127.0.0.1"), std::string::npos) << degraded.dump();
}

TEST_F(ProviderCaTest, ABundleThatIsNoCertificateIsRefusedBeforeAnyCall) {
  apply_apikey(
      {{"url", regenerate->url()},
       {"caBundle", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"}});
  auto r = reconciler();
  settle(*r);
  clock.advance(std::chrono::hours(1));
  (void)reconcile(*r);
  EXPECT_EQ(key_version(), 1);
  const Json degraded = condition("Degraded");
  EXPECT_EQ(degraded["status"], "True");
  EXPECT_EQ(degraded.value("reason", ""), "InvalidCertificate") << degraded.dump();
  EXPECT_EQ(regenerate->calls(), 0);
}

}  // namespace
}  // namespace keyward::testing
