// Broker failover end to end: two real keyward-operator processes with leader election and the
// same KEK against the fake API server and the provider simulator (Tradovate). The leader logs
// in once and stores its session sealed; it is killed with SIGKILL; the standby takes the Lease,
// continues the stored session (serves the same token, renews it) and the simulator counts no
// new login. A broker-mode sidecar of the old leader keeps a valid token throughout; one of the
// new leader gets it as soon as the new leader leads.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tests/broker/broker_test_support.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/child_process.h"
#include "tests/support/faulty_filesystem.h"
#include "tests/support/wait_and_files.h"

namespace keyward::broker {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::Json;
using testing::slurp;
using testing::write;
using Process = keyward::testing::ChildProcess;

class BrokerFailover : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::write_localhost_tls(tmp_.path()));
    simulator_.add_user({"alice", testing::kPassword, "8", testing::kKey1, 42});
    ASSERT_TRUE(simulator_.start_tls("127.0.0.1", 0, tmp_ / "tls.crt", tmp_ / "tls.key"));
    api_ = std::make_unique<testing::FakeApiServer>(testing::e2e_cluster_options());
    ASSERT_TRUE(api_->start());
    testing::seed_alpha(*api_);
    api_->apply(testing::e2e_apikey("alpha", {{"endpoint", simulator_.url() + "/v1"},
                                              {"lifetimeSeconds", 60},
                                              {"refreshLeadSeconds", 8}}));
    ASSERT_TRUE(write(tmp_ / "kubeconfig", testing::render_kubeconfig(api_->url(), "", "")));
    std::filesystem::create_directories(tmp_ / "kek");
    ASSERT_TRUE(write(tmp_ / "kek/k1", keyward::base64_encode(std::string(32, 'f'))));
  }

  std::unique_ptr<Process> start_operator(const std::string& identity) {
    auto p = std::make_unique<Process>(std::vector<std::string>{KEYWARD_OPERATOR_BINARY,
                                                                "run",
                                                                "--kubeconfig",
                                                                tmp_ / "kubeconfig",
                                                                "--leader-elect=true",
                                                                "--lease-namespace",
                                                                "bots",
                                                                "--lease-duration-seconds",
                                                                "3",
                                                                "--identity",
                                                                identity,
                                                                "--metrics-listen",
                                                                "127.0.0.1:0",
                                                                "--broker-listen",
                                                                "127.0.0.1:0",
                                                                "--broker-cert-file",
                                                                tmp_ / "tls.crt",
                                                                "--broker-key-file",
                                                                tmp_ / "tls.key",
                                                                "--kek-dir",
                                                                tmp_ / "kek",
                                                                "--log-level",
                                                                "debug"},
                                       std::vector<std::string>{"SSL_CERT_FILE=" + tmp_ / "ca.crt"},
                                       tmp_ / ("operator-" + identity + ".log"));
    EXPECT_TRUE(p->started());
    return p;
  }
  int broker_port(const std::string& identity) {
    int port = 0;
    EXPECT_TRUE(eventually([&] {
      std::smatch m;
      const std::string log = slurp(tmp_ / ("operator-" + identity + ".log"));
      static const std::regex listening(R"("message":"broker server listening"[^\n]*"port":(\d+))");
      if (!std::regex_search(log, m, listening)) return false;
      port = std::stoi(m[1]);
      return true;
    }));
    return port;
  }
  std::string leader() {
    auto lease = api_->get("coordination.k8s.io/v1", "Lease", "bots", "keyward-operator");
    if (!lease) return "";
    return (*lease)["spec"].value("holderIdentity", "");
  }
  std::unique_ptr<Process> start_sidecar(const std::string& pod, int port) {
    const std::string uid = api_->apply(testing::pod(pod, "", "alpha"))["metadata"]["uid"];
    const std::string token = "eyJhbGciOiJSUzI1NiJ9.sa-" + pod + ".sig";
    auto identity = testing::TokenIdentity::bound_pod("bots", "bot", pod, uid);
    identity.audiences = {"keyward.dev/broker"};
    api_->add_token(token, identity);
    EXPECT_TRUE(write(tmp_ / ("sa-" + pod), token));
    auto p = std::make_unique<Process>(
        testing::broker_sidecar(KEYWARD_SIDECAR_BINARY, "https://127.0.0.1:" + std::to_string(port),
                                tmp_.path(), pod, {"--recheck-seconds", "1"}),
        std::vector<std::string>{}, tmp_ / ("sidecar-" + pod + ".log"));
    EXPECT_TRUE(p->started());
    return p;
  }
  Json token_json(const std::string& pod) {
    Json j = Json::parse(slurp(tmp_ / ("out-" + pod) + "/token.json"), nullptr, false);
    return j.is_discarded() ? Json::object() : j;
  }
  bool valid_token(const std::string& pod) {
    const Json j = token_json(pod);
    return j.value("state", "") == "Valid" && simulator_.token_valid(j.value("accessToken", ""));
  }
  std::string logs() {
    std::string all;
    for (const char* f :
         {"operator-a.log", "operator-b.log", "sidecar-bot-a.log", "sidecar-bot-b.log"}) {
      all += slurp(tmp_ / f);
    }
    return all;
  }

  testing::TempDir tmp_;
  RealClock clock_;
  sim::ProviderSimulator simulator_{clock_, sim::SimConfig{.lifetime = Seconds(24)}};
  std::unique_ptr<testing::FakeApiServer> api_;
};

TEST_F(BrokerFailover, ANewLeaderContinuesTheSessionWithoutALogin) {
  auto a = start_operator("a");
  ASSERT_TRUE(eventually([&] { return leader() == "a"; })) << logs();
  auto b = start_operator("b");
  const int port_a = broker_port("a");
  const int port_b = broker_port("b");
  ASSERT_GT(port_a, 0);
  ASSERT_GT(port_b, 0);
  ASSERT_TRUE(eventually([&] { return simulator_.requests("alice") == 1; })) << logs();
  ASSERT_TRUE(eventually([&] {
    auto stored = api_->get("v1", "Secret", "bots", "keyward.session.alpha");
    return stored.has_value();
  })) << "the leader did not store its session: "
      << logs();

  auto on_a = start_sidecar("bot-a", port_a);
  auto on_b = start_sidecar("bot-b", port_b);  // b is a standby: 503 NotLeader for now
  ASSERT_TRUE(eventually([&] { return valid_token("bot-a"); })) << logs();
  const std::string first_token = token_json("bot-a").value("accessToken", "");
  EXPECT_FALSE(valid_token("bot-b"));

  a->signal(SIGKILL);
  ASSERT_TRUE(a->wait_exit(10s));
  ASSERT_TRUE(eventually([&] { return leader() == "b"; }, 30s)) << logs();
  // The new leader serves the stored session at once: the standby's sidecar gets a token that
  // the provider accepts, and nobody logged in again.
  ASSERT_TRUE(eventually([&] { return valid_token("bot-b"); }, 30s)) << logs();
  EXPECT_NE(slurp(tmp_ / "operator-b.log").find("continuing the upstream session"),
            std::string::npos)
      << slurp(tmp_ / "operator-b.log");
  EXPECT_EQ(simulator_.requests("alice"), 1) << "the new leader logged in";
  // The sidecar of the dead leader was never without a valid token.
  EXPECT_TRUE(valid_token("bot-a"));
  // The new leader renews the session when due (the provider issues 24 s tokens; 8 s lead),
  // still no login.
  ASSERT_TRUE(eventually([&] { return simulator_.renewals("alice") >= 1; }, 60s)) << logs();
  EXPECT_EQ(simulator_.requests("alice"), 1);

  const std::string printed = logs();
  for (const std::string& secret :
       {std::string(testing::kPassword), std::string(testing::kKey1), first_token}) {
    EXPECT_EQ(printed.find(secret), std::string::npos) << "printed";
  }
  auto stored = api_->get("v1", "Secret", "bots", "keyward.session.alpha");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->dump().find(first_token), std::string::npos) << "an unsealed token";
}

}  // namespace
}  // namespace keyward::broker
