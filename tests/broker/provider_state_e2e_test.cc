// The provider's state reaches the ApiKey: the real keyward-operator binary (broker on) against
// the fake API server and the provider simulator over HTTP. A login Secret with a wrong password
// gives ProviderReady=False reason CredentialsRejected naming the fields, a Warning Event, and
// exactly one login however long it waits; fixing the Secret gives one more login,
// ProviderReady=True and a Normal ProviderRecovered Event. No secret appears in the operator's
// log, the ApiKey's status or the Events.

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>

#include "tests/broker/broker_test_support.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/child_process.h"
#include "tests/support/faulty_filesystem.h"
#include "tests/support/test_pki.h"
#include "tests/support/wait_and_files.h"

namespace keyward::broker {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::Json;
using testing::slurp;
using testing::write;
using Process = keyward::testing::ChildProcess;

constexpr const char* kWrong = "wrong-password-456789";

Json login_secret_with(const std::string& password) {
  Json s = testing::login_secret("alpha", "alice");
  s["data"]["password"] = keyward::base64_encode(password);
  return s;
}

Json provider_ready(const testing::FakeApiServer& api) {
  auto key = api.get("keyward.dev/v1alpha1", "ApiKey", "bots", "alpha");
  if (!key || !key->contains("status")) return Json::object();
  for (const auto& c : (*key)["status"].value("conditions", Json::array())) {
    if (c.value("type", "") == "ProviderReady") return c;
  }
  return Json::object();
}

bool has_event(const testing::FakeApiServer& api, const std::string& type,
               const std::string& reason) {
  for (const auto& e : api.list("v1", "Event", "bots")) {
    if (e.value("type", "") == type && e.value("reason", "") == reason) return true;
  }
  return false;
}

TEST(ProviderStateEndToEnd, ARefusedLoginIsAConditionAndAnEventUntilTheSecretIsFixed) {
  testing::TempDir tmp;
  RealClock clock;
  // One test CA for the provider's and the broker's certificates; the operator trusts it
  // through SSL_CERT_FILE (tokenExchange endpoints are https only).
  ASSERT_TRUE(testing::write_localhost_tls(tmp.path()));
  sim::ProviderSimulator simulator(clock, sim::SimConfig{.lifetime = 1h});
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey1, 42});
  ASSERT_TRUE(simulator.start_tls("127.0.0.1", 0, tmp / "tls.crt", tmp / "tls.key"));

  testing::FakeApiServerOptions options;
  options.crd_files = {std::string(KEYWARD_SOURCE_DIR) + "/crds/apikey.yaml"};
  testing::FakeApiServer api(options);
  ASSERT_TRUE(api.start());
  api.apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bots"}}}});
  api.apply(testing::source_secret(testing::kKey1));
  api.apply(login_secret_with(kWrong));
  api.apply(testing::e2e_apikey("alpha", {{"endpoint", simulator.url() + "/v1"}}));

  ASSERT_TRUE(write(tmp / "kubeconfig", testing::render_kubeconfig(api.url(), "", "")));
  Process op(testing::operator_with_broker(KEYWARD_OPERATOR_BINARY, tmp.path()),
             {"SSL_CERT_FILE=" + tmp / "ca.crt"}, tmp / "operator.log");
  ASSERT_TRUE(op.started());

  ASSERT_TRUE(eventually([&] {
    return provider_ready(api).value("reason", "") == "CredentialsRejected";
  })) << provider_ready(api).dump()
      << slurp(tmp / "operator.log");
  const Json c = provider_ready(api);
  EXPECT_EQ(c.value("status", ""), "False");
  EXPECT_NE(c.value("message", "").find("fix username and password"), std::string::npos)
      << c.dump();
  ASSERT_TRUE(eventually([&] { return has_event(api, "Warning", "CredentialsRejected"); }));
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(simulator.requests("alice"), 1) << "the refused password is not sent again";

  api.apply(login_secret_with(testing::kPassword));  // a person fixes the Secret
  ASSERT_TRUE(eventually([&] { return provider_ready(api).value("status", "") == "True"; }))
      << provider_ready(api).dump() << slurp(tmp / "operator.log");
  EXPECT_EQ(provider_ready(api).value("reason", ""), "TokenIssued");
  ASSERT_TRUE(eventually([&] { return has_event(api, "Normal", "ProviderRecovered"); }));
  EXPECT_EQ(simulator.requests("alice"), 2);

  // Nothing secret in what the operator printed or wrote.
  std::string written = slurp(tmp / "operator.log");
  written += api.get("keyward.dev/v1alpha1", "ApiKey", "bots", "alpha")->dump();
  for (const auto& e : api.list("v1", "Event", "bots")) written += e.dump();
  for (const std::string& s : {std::string(kWrong), std::string(testing::kPassword),
                               std::string(testing::kKey1), simulator.last_token()}) {
    EXPECT_EQ(written.find(s), std::string::npos) << s << " leaked";
  }
  simulator.stop();
}

}  // namespace
}  // namespace keyward::broker
