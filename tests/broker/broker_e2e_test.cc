// End to end: the fake API server (in-process, with TokenReview) + the real keyward-operator
// binary running the broker over HTTPS + the provider simulator over HTTP + N real
// keyward-sidecar binaries in broker mode. Proves: N sidecars of one key cause exactly one
// upstream login; after a rotation every sidecar gets a token of the new key (one more login,
// no renewal of the old session); status.lastUsedTime is published; and no secret appears in
// anything the programs printed.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <tuple>

#include "common/io/filesystem.h"
#include "tests/broker/broker_test_support.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/child_process.h"
#include "tests/support/faulty_filesystem.h"
#include "tests/support/test_pki.h"
#include "tests/support/wait_and_files.h"

namespace keyward::broker {
namespace {

using namespace std::chrono_literals;
using testing::Json;

constexpr int kSidecars = 3;

using Process = keyward::testing::ChildProcess;

using testing::eventually;
using testing::slurp;
using testing::write;

TEST(BrokerEndToEnd, OneLoginForManySidecarsAndRotationReachesThemAll) {
  testing::TempDir tmp;
  RealClock clock;

  // One test CA signs the broker's and the provider's certificates; the operator trusts it
  // through SSL_CERT_FILE (OpenSSL's default store), the sidecars through --ca-file.
  ASSERT_TRUE(testing::write_localhost_tls(tmp.path()));

  // Provider over HTTPS: 6-second tokens so refreshes happen within the test.
  sim::ProviderSimulator simulator(clock, sim::SimConfig{.lifetime = Seconds(6)});
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey1, 42});
  auto sim_port = simulator.start_tls("127.0.0.1", 0, tmp / "tls.crt", tmp / "tls.key");
  ASSERT_TRUE(sim_port) << sim_port.error().message;

  // Cluster.
  testing::FakeApiServer api(testing::e2e_cluster_options());
  ASSERT_TRUE(api.start());
  testing::seed_alpha(api);
  api.apply(testing::e2e_apikey(
      "alpha",
      {{"endpoint", simulator.url() + "/v1"}, {"lifetimeSeconds", 60}, {"refreshLeadSeconds", 2}}));

  // The operator, with the broker on the same certificate.
  ASSERT_TRUE(write(tmp / "kubeconfig", testing::render_kubeconfig(api.url(), "", "")));
  Process op(
      testing::operator_with_broker(KEYWARD_OPERATOR_BINARY, tmp.path(), {"--log-level", "debug"}),
      {"SSL_CERT_FILE=" + tmp / "ca.crt"}, tmp / "operator.log");
  ASSERT_TRUE(op.started());
  int broker_port = 0;
  ASSERT_TRUE(eventually([&] {
    std::smatch m;
    const std::string log = slurp(tmp / "operator.log");
    static const std::regex listening(R"("message":"broker server listening"[^\n]*"port":(\d+))");
    if (!std::regex_search(log, m, listening)) return false;
    broker_port = std::stoi(m[1]);
    return true;
  })) << slurp(tmp / "operator.log");

  // Hardened before it read anything: no core file, not dumpable.
  EXPECT_EQ(op.hardening_problem(), "");
  // The session starts when the ApiKey appears, before any sidecar asks.
  ASSERT_TRUE(eventually([&] { return simulator.requests("alice") == 1; }))
      << slurp(tmp / "operator.log");

  // N pods with bound service account tokens, each with a sidecar in broker mode.
  std::vector<std::string> sa_tokens;
  std::vector<std::unique_ptr<Process>> sidecars;
  for (int i = 0; i < kSidecars; ++i) {
    const std::string name = "alpha-" + std::to_string(i);
    const std::string uid = api.apply(testing::pod(name, "", "alpha"))["metadata"]["uid"];
    sa_tokens.push_back("eyJhbGciOiJSUzI1NiJ9.sa-token-" + name + ".sig");
    // A projected token for the broker's audience, as the webhook mounts it (the operator runs
    // with the default --broker-audience).
    auto identity = testing::TokenIdentity::bound_pod("bots", "bot", name, uid);
    identity.audiences = {"keyward.dev/broker"};
    api.add_token(sa_tokens.back(), identity);
    ASSERT_TRUE(write(tmp / ("sa-" + name), sa_tokens.back()));
    sidecars.push_back(std::make_unique<Process>(
        testing::broker_sidecar(KEYWARD_SIDECAR_BINARY,
                                "https://127.0.0.1:" + std::to_string(broker_port), tmp.path(),
                                name, {"--refresh-lead-seconds", "1"}),
        std::vector<std::string>{}, tmp / ("sidecar-" + name + ".log")));
    ASSERT_TRUE(sidecars.back()->started());
  }
  auto token_json = [&](int i) {
    Json j = Json::parse(slurp(tmp / ("out-alpha-" + std::to_string(i)) + "/token.json"), nullptr,
                         false);
    return j.is_discarded() ? Json::object() : j;
  };
  auto all_on_version = [&](int version) {
    for (int i = 0; i < kSidecars; ++i) {
      Json j = token_json(i);
      if (j.value("state", "") != "Valid" || j.value("keyVersion", 0) != version) return false;
      if (!simulator.token_valid(j.value("accessToken", ""))) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually([&] { return all_on_version(1); }))
      << slurp(tmp / "sidecar-alpha-0.log") << slurp(tmp / "operator.log");
  for (const auto& sidecar : sidecars) EXPECT_EQ(sidecar->hardening_problem(), "");
  // Refresh cycles: the broker renews (twice), every sidecar follows with a renewed token, and
  // nobody logs in again. Waited for by what happens, not by a fixed sleep.
  std::vector<std::string> first_tokens;
  first_tokens.reserve(kSidecars);
  for (int i = 0; i < kSidecars; ++i)
    first_tokens.push_back(token_json(i).value("accessToken", ""));
  ASSERT_TRUE(eventually([&] {
    if (simulator.renewals("alice") < 2 || !all_on_version(1)) return false;
    for (int i = 0; i < kSidecars; ++i)
      if (token_json(i).value("accessToken", "") == first_tokens[i]) return false;
    return true;
  })) << "renewals: "
      << simulator.renewals("alice") << "\n"
      << slurp(tmp / "sidecar-alpha-0.log");
  EXPECT_EQ(simulator.requests("alice"), 1)
      << "one upstream login for " << kSidecars << " sidecars";

  // Rotation: the user's source Secret changes; the provider knows the new key first.
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey2, 42});
  api.apply(testing::source_secret(testing::kKey2));
  ASSERT_TRUE(eventually([&] { return all_on_version(2); }))
      << slurp(tmp / "sidecar-alpha-0.log") << slurp(tmp / "operator.log");
  EXPECT_EQ(simulator.requests("alice"), 2) << "exactly one login with the new key";

  // The reconciler publishes the last use.
  ASSERT_TRUE(eventually([&] {
    auto a = api.get("keyward.dev/v1alpha1", "ApiKey", "bots", "alpha");
    return a && (*a)["status"].contains("lastUsedTime");
  })) << slurp(tmp / "operator.log");

  // No secret in anything printed.
  std::vector<std::string> tokens_issued;
  tokens_issued.reserve(kSidecars + 1);
  for (int i = 0; i < kSidecars; ++i)
    tokens_issued.push_back(token_json(i).value("accessToken", ""));
  tokens_issued.push_back(simulator.last_token());
  for (auto& s : sidecars) s->stop();
  op.stop();
  std::string printed = slurp(tmp / "operator.log");
  for (int i = 0; i < kSidecars; ++i)
    printed += slurp(tmp / ("sidecar-alpha-" + std::to_string(i) + ".log"));
  std::vector<std::string> secrets = {testing::kPassword, testing::kKey1, testing::kKey2};
  secrets.insert(secrets.end(), sa_tokens.begin(), sa_tokens.end());
  secrets.insert(secrets.end(), tokens_issued.begin(), tokens_issued.end());
  for (const auto& secret : secrets) {
    ASSERT_FALSE(secret.empty());
    EXPECT_EQ(printed.find(secret), std::string::npos) << "a secret was printed";
  }
  auto a = api.get("keyward.dev/v1alpha1", "ApiKey", "bots", "alpha");
  ASSERT_TRUE(a);
  for (const auto& secret : secrets) EXPECT_EQ(a->dump().find(secret), std::string::npos);
  simulator.stop();
}

// spec.tokenExchange.caBundle: the broker trusts the ApiKey's private CA for the provider
// endpoint, and only it. The operator runs WITHOUT the test CA in its system store (no
// SSL_CERT_FILE), so only the ApiKey's bundle can make the TLS handshake pass.
TEST(BrokerEndToEnd, TheApiKeysCaBundleIsTrustedForTheProviderEndpoint) {
  testing::TempDir tmp;
  RealClock clock;
  auto pki = testing::TestPki::create("desk-internal-ca");
  auto [cert, key] = pki.issue("localhost", {"localhost", "127.0.0.1"}, false);
  ASSERT_TRUE(write(tmp / "tls.crt", cert) && write(tmp / "tls.key", key));
  sim::ProviderSimulator simulator(clock, sim::SimConfig{});
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey1, 42});
  simulator.add_user({"bob", testing::kPassword, "8", testing::kKey2, 43});
  auto sim_port = simulator.start_tls("127.0.0.1", 0, tmp / "tls.crt", tmp / "tls.key");
  ASSERT_TRUE(sim_port) << sim_port.error().message;

  testing::FakeApiServerOptions options;
  options.crd_files = {std::string(KEYWARD_SOURCE_DIR) + "/crds/apikey.yaml"};
  testing::FakeApiServer api(options);
  ASSERT_TRUE(api.start());
  api.apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bots"}}}});
  for (const auto& [name, user, k] :
       {std::tuple{"alpha", "alice", testing::kKey1}, std::tuple{"beta", "bob", testing::kKey2}}) {
    api.apply(testing::login_secret(name, user));
    api.apply(testing::source_secret(k, name));
    Json exchange = {{"endpoint", simulator.url() + "/v1"}};
    if (std::string(name) == "alpha") exchange["caBundle"] = pki.ca_cert_pem;
    Json apikey = testing::broker_apikey(name, exchange);
    apikey["metadata"].erase("uid");
    apikey["spec"]["source"] = {{"secretRef", {{"name", std::string(name) + "-source"}}}};
    api.apply(apikey);
  }
  ASSERT_TRUE(write(tmp / "kubeconfig", testing::render_kubeconfig(api.url(), "", "")));
  Process op(testing::operator_with_broker(KEYWARD_OPERATOR_BINARY, tmp.path()), {},
             tmp / "operator.log");
  ASSERT_TRUE(op.started());
  // alpha names the CA: its session logs in. beta does not: its handshake fails, it never
  // reaches the provider, and the operator says why.
  ASSERT_TRUE(eventually([&] { return simulator.requests("alice") == 1; }))
      << slurp(tmp / "operator.log");
  ASSERT_TRUE(eventually([&] {
    return slurp(tmp / "operator.log").find("certificate") != std::string::npos;
  })) << slurp(tmp / "operator.log");
  EXPECT_EQ(simulator.requests("bob"), 0);
  op.stop();

  // The operator's own default (--provider-ca-file, the chart's providerCA.bundle) covers the
  // ApiKeys that name none: beta logs in now.
  ASSERT_TRUE(write(tmp / "provider-ca.crt", pki.ca_cert_pem));
  Process with_default(
      {KEYWARD_OPERATOR_BINARY, "run", "--kubeconfig", tmp / "kubeconfig", "--leader-elect=false",
       "--metrics-listen", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0", "--broker-cert-file",
       tmp / "tls.crt", "--broker-key-file", tmp / "tls.key", "--provider-ca-file",
       tmp / "provider-ca.crt"},
      {}, tmp / "operator-2.log");
  ASSERT_TRUE(with_default.started());
  EXPECT_TRUE(eventually([&] { return simulator.requests("bob") == 1; }))
      << slurp(tmp / "operator-2.log");
  with_default.stop();
  simulator.stop();
}

}  // namespace
}  // namespace keyward::broker
