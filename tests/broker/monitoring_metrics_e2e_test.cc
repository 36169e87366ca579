// The chart's alerts and dashboard (charts/keyward/files) name only metrics the real programs
// export: keyward-operator with its webhook and broker (one upstream session), and a broker-mode
// keyward-sidecar, each scraped on its /metrics. A rule on a metric nobody exports never fires.

#include <gtest/gtest.h>
#include <httplib.h>

#include <regex>
#include <set>

#include "tests/broker/broker_test_support.h"
#include "tests/chart/metric_names.h"
#include "tests/support/child_process.h"
#include "tests/support/faulty_filesystem.h"
#include "tests/support/wait_and_files.h"

namespace keyward::broker {
namespace {

using Process = keyward::testing::ChildProcess;
using testing::eventually;
using testing::slurp;
using testing::write;

// The families a /metrics page declares (# TYPE lines), histograms under their own name.
std::set<std::string> exported_names(const std::string& page) {
  std::set<std::string> names;
  static const std::regex type_line(R"(^# TYPE (\S+) )", std::regex::multiline);
  for (auto it = std::sregex_iterator(page.begin(), page.end(), type_line);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

std::string scrape(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(5));
  auto res = client.Get("/metrics");
  return res && res->status == 200 ? res->body : "";
}

// The port a program logged it listens on ("listen":"127.0.0.1:PORT" on the line `message`).
int logged_port(const std::string& log_path, const std::string& message) {
  std::smatch m;
  const std::string log = slurp(log_path);
  const std::regex line("\"message\":\"" + message + "\"[^\\n]*\"listen\":\"[^\"]*:(\\d+)\"");
  return std::regex_search(log, m, line) ? std::stoi(m[1]) : 0;
}

TEST(MonitoringEndToEnd, EveryMetricTheChartsRulesAndDashboardUseIsExported) {
  testing::TempDir tmp;
  RealClock clock;
  ASSERT_TRUE(testing::write_localhost_tls(tmp.path()));
  sim::ProviderSimulator simulator(clock, sim::SimConfig{});
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey1, 42});
  auto sim_port = simulator.start_tls("127.0.0.1", 0, tmp / "tls.crt", tmp / "tls.key");
  ASSERT_TRUE(sim_port) << sim_port.error().message;

  testing::FakeApiServer api(testing::e2e_cluster_options());
  ASSERT_TRUE(api.start());
  testing::seed_alpha(api);
  api.apply(testing::e2e_apikey("alpha", {{"endpoint", simulator.url() + "/v1"}}));
  ASSERT_TRUE(write(tmp / "kubeconfig", testing::render_kubeconfig(api.url(), "", "")));
  ASSERT_TRUE(write(tmp / "webhook.yaml",
                    "listen: '127.0.0.1:0'\nsidecarImage: sidecar:1\n"
                    "certFile: " +
                        tmp / "tls.crt" + "\nkeyFile: " + tmp / "tls.key" + "\n"));
  Process op(testing::operator_with_broker(KEYWARD_OPERATOR_BINARY, tmp.path(),
                                           {"--webhook-config", tmp / "webhook.yaml"}),
             {"SSL_CERT_FILE=" + tmp / "ca.crt"}, tmp / "operator.log");
  ASSERT_TRUE(op.started());
  int metrics_port = 0;
  int broker_port = 0;
  ASSERT_TRUE(eventually([&] {
    metrics_port = logged_port(tmp / "operator.log", "serving /healthz /readyz /metrics");
    std::smatch m;
    const std::string log = slurp(tmp / "operator.log");
    static const std::regex listening(R"("message":"broker server listening"[^\n]*"port":(\d+))");
    if (std::regex_search(log, m, listening)) broker_port = std::stoi(m[1]);
    return metrics_port != 0 && broker_port != 0;
  })) << slurp(tmp / "operator.log");
  // The upstream session's families appear once it has logged in.
  ASSERT_TRUE(eventually([&] {
    return scrape(metrics_port).find("keyward_broker_upstream_token_valid{") != std::string::npos;
  })) << slurp(tmp / "operator.log");

  const std::string uid = api.apply(testing::pod("alpha-0", "", "alpha"))["metadata"]["uid"];
  auto identity = testing::TokenIdentity::bound_pod("bots", "bot", "alpha-0", uid);
  identity.audiences = {"keyward.dev/broker"};
  const std::string sa_token = "eyJhbGciOiJSUzI1NiJ9.sa-token-alpha-0.sig";
  api.add_token(sa_token, identity);
  ASSERT_TRUE(write(tmp / "sa-alpha-0", sa_token));
  auto sidecar_args = testing::broker_sidecar(KEYWARD_SIDECAR_BINARY,
                                              "https://127.0.0.1:" + std::to_string(broker_port),
                                              tmp.path(), "alpha-0");
  sidecar_args[sidecar_args.size() - 1] = "127.0.0.1:0";  // --listen: the status server
  Process sidecar(sidecar_args, {}, tmp / "sidecar.log");
  ASSERT_TRUE(sidecar.started());
  int sidecar_port = 0;
  ASSERT_TRUE(eventually([&] {
    sidecar_port = logged_port(tmp / "sidecar.log", "keyward-sidecar started");
    return sidecar_port != 0 &&
           scrape(sidecar_port).find("keyward_sidecar_token_valid 1") != std::string::npos;
  })) << slurp(tmp / "sidecar.log");

  std::set<std::string> exported = exported_names(scrape(metrics_port));
  exported.merge(exported_names(scrape(sidecar_port)));
  const auto used = chart_testing::chart_metric_names(KEYWARD_SOURCE_DIR);
  ASSERT_GT(used.size(), 20u) << "the chart's rules and dashboard were not read";
  for (const auto& name : used) {
    EXPECT_TRUE(exported.contains(name)) << name << " is used by the chart but not exported";
  }
}

}  // namespace
}  // namespace keyward::broker
