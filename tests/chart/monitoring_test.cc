// The chart's monitoring (values monitoring.*, docs/monitoring.md): off by default; when on, a
// ServiceMonitor that selects the operator's Service and its metrics port, a PodMonitor that
// selects injected sidecars, a PrometheusRule whose groups are files/alerts.yaml (tested with
// promtool), and the Grafana dashboard in a ConfigMap.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/core/yaml_json.h"
#include "operator/webhook/pod_mutator.h"
#include "tests/chart/chart_render.h"
#include "tests/chart/helm_runner.h"
#include "tests/chart/metric_names.h"

namespace keyward::chart_testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kDefaultRunbookBase =
    "https://github.com/keyward/keyward/blob/main/docs/monitoring.md";
// The sidecar's container port (operator/webhook/pod_mutator.cc, add_status_probes).
constexpr const char* kSidecarStatusPort = "keyward-status";

// Every part of monitoring switched on.
std::vector<std::string> all_on(std::vector<std::string> more = {}) {
  std::vector<std::string> sets = {
      "monitoring.serviceMonitor.enabled=true", "monitoring.podMonitor.enabled=true",
      "monitoring.prometheusRule.enabled=true", "monitoring.dashboard.enabled=true"};
  sets.insert(sets.end(), more.begin(), more.end());
  return sets;
}

// The ConfigMaps that carry the Grafana label (key and value as given).
std::vector<json> dashboard_config_maps(const Rendered& r,
                                        const std::string& key = "grafana_dashboard",
                                        const std::string& value = "1") {
  std::vector<json> out;
  for (const auto& cm : r.of_kind("ConfigMap")) {
    const json labels = cm["metadata"].value("labels", json::object());
    if (labels.contains(key) && labels[key] == value) out.push_back(cm);
  }
  return out;
}

// A YAML file of the tree as JSON (numbers compared numerically, as Helm's fromYaml reads them).
json yaml_file(const fs::path& path) {
  auto nodes = load_yaml_documents(read_text_file(path));
  EXPECT_TRUE(nodes && !nodes->empty()) << path;
  if (!nodes || nodes->empty()) return json();
  auto j = yaml_to_json((*nodes)[0]);
  EXPECT_TRUE(j) << path;
  return j ? json::parse(j->dump()) : json();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Every alerting rule of a list of rule groups.
std::vector<json> alerts_of(const json& groups) {
  std::vector<json> out;
  for (const auto& g : groups) {
    for (const auto& rule : g.value("rules", json::array())) {
      if (rule.contains("alert")) out.push_back(rule);
    }
  }
  return out;
}

// The panels of a dashboard, rows' own panels included, rows left out.
std::vector<json> panels_of(const json& dashboard) {
  std::vector<json> out;
  for (const auto& p : dashboard.value("panels", json::array())) {
    if (p.value("type", "") == "row") {
      for (const auto& inner : p.value("panels", json::array())) out.push_back(inner);
    } else {
      out.push_back(p);
    }
  }
  return out;
}

// promtool on PATH (scripts/setup.sh installs the Debian package prometheus, which ships it).
std::string find_promtool() {
  std::stringstream dirs(std::getenv("PATH") != nullptr ? std::getenv("PATH") : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = dir + "/promtool";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

constexpr const char* kNoPromtool =
    "promtool is not on PATH: run scripts/setup.sh (it installs the Debian package prometheus, "
    "which ships promtool)";

class MonitoringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (find_helm().empty()) {
      FAIL()
          << "helm not found: run scripts/setup.sh (installs .tools/bin/helm) or put helm on PATH";
    }
  }
};

TEST_F(MonitoringTest, NothingIsRenderedByDefault) {
  Rendered r = render();
  EXPECT_TRUE(r.of_kind("ServiceMonitor").empty());
  EXPECT_TRUE(r.of_kind("PodMonitor").empty());
  EXPECT_TRUE(r.of_kind("PrometheusRule").empty());
  EXPECT_TRUE(dashboard_config_maps(r).empty());
  for (const auto& d : r.docs) {
    EXPECT_NE(d.value("apiVersion", ""), "monitoring.coreos.com/v1") << d["kind"];
  }
}

TEST_F(MonitoringTest, LintStrictPassesWithMonitoringOnAndOff) {
  for (const auto& sets :
       {std::vector<std::string>{}, all_on(), all_on({"watchNamespace=bots"}),
        all_on({"monitoring.serviceMonitor.namespace=monitoring",
                "monitoring.serviceMonitor.labels.release=kps",
                "monitoring.serviceMonitor.scrapeTimeout=",
                "monitoring.prometheusRule.alerts.KeywardApiKeyDegraded.for=30m"})}) {
    SCOPED_TRACE(::testing::PrintToString(sets));
    auto r =
        run_helm(with_sets({"lint", "--strict", chart_dir(), "--namespace", kNamespace}, sets));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
}

TEST_F(MonitoringTest, EveryPartIsRenderedWithNamesThatFit) {
  const std::string longest_release(53, 'x');
  for (const auto& release : {std::string("rel"), longest_release}) {
    SCOPED_TRACE(release);
    Rendered r = render(all_on(), release);
    const std::vector<json> parts = {r.one("ServiceMonitor"), r.one("PodMonitor"),
                                     r.one("PrometheusRule")};
    ASSERT_EQ(dashboard_config_maps(r).size(), 1u);
    std::vector<json> all = parts;
    all.push_back(dashboard_config_maps(r).front());
    for (const auto& d : all) {
      const std::string name = d["metadata"].value("name", "");
      EXPECT_FALSE(name.empty());
      EXPECT_LE(name.size(), 63u) << d["kind"] << " " << name;
      EXPECT_EQ(d["metadata"]["namespace"], kNamespace) << d["kind"];
      for (const auto& [k, v] : d["metadata"]["labels"].items()) {
        ASSERT_TRUE(v.is_string()) << k;
        EXPECT_LE(v.get<std::string>().size(), 63u) << k;
      }
    }
    for (const auto& d : parts) EXPECT_EQ(d["apiVersion"], "monitoring.coreos.com/v1");
  }
}

TEST_F(MonitoringTest, ServiceMonitorSelectsTheOperatorServiceAndItsMetricsPort) {
  Rendered r = render(all_on());
  const json sm = r.one("ServiceMonitor");
  const json service = r.one("Service");
  const json& match = sm["spec"]["selector"]["matchLabels"];
  ASSERT_FALSE(match.empty());
  for (const auto& [k, v] : match.items()) {
    EXPECT_EQ(service["metadata"]["labels"].value(k, ""), v) << "Service lacks label " << k;
  }
  EXPECT_EQ(match.value("app.kubernetes.io/component", ""), "operator");
  EXPECT_FALSE(match.contains("helm.sh/chart")) << "an upgrade would break the selector";
  EXPECT_EQ(sm["spec"]["namespaceSelector"]["matchNames"], json::array({kNamespace}));
  ASSERT_EQ(sm["spec"]["endpoints"].size(), 1u);
  const json& ep = sm["spec"]["endpoints"][0];
  EXPECT_EQ(ep["port"], "http-metrics");
  EXPECT_EQ(ep["path"], "/metrics");
  EXPECT_EQ(ep["interval"], "30s");
  EXPECT_TRUE(ep.value("honorLabels", false)) << "per-ApiKey series keep their own namespace label";
  bool service_port = false;
  for (const auto& p : service["spec"]["ports"]) {
    service_port = service_port || (p["name"] == "http-metrics" && p["targetPort"] == "metrics");
  }
  EXPECT_TRUE(service_port) << service["spec"]["ports"].dump();

  // Elsewhere, with the labels a Prometheus selects on, still selecting the release's Service.
  Rendered moved = render(all_on({"monitoring.serviceMonitor.namespace=monitoring",
                                  "monitoring.serviceMonitor.labels.release=kps",
                                  "monitoring.serviceMonitor.interval=1m",
                                  "monitoring.serviceMonitor.scrapeTimeout="}));
  const json sm2 = moved.one("ServiceMonitor");
  EXPECT_EQ(sm2["metadata"]["namespace"], "monitoring");
  EXPECT_EQ(sm2["metadata"]["labels"]["release"], "kps");
  EXPECT_EQ(sm2["spec"]["namespaceSelector"]["matchNames"], json::array({kNamespace}));
  EXPECT_EQ(sm2["spec"]["endpoints"][0]["interval"], "1m");
  EXPECT_FALSE(sm2["spec"]["endpoints"][0].contains("scrapeTimeout"));
}

TEST_F(MonitoringTest, PodMonitorSelectsInjectedSidecarsInEveryNamespace) {
  const json pm = render(all_on()).one("PodMonitor");
  EXPECT_EQ(pm["spec"]["selector"],
            json({{"matchExpressions",
                   json::array({{{"key", webhook::kApiKeyLabel}, {"operator", "Exists"}}})}}));
  EXPECT_EQ(pm["spec"]["namespaceSelector"], json({{"any", true}}));
  ASSERT_EQ(pm["spec"]["podMetricsEndpoints"].size(), 1u);
  const json& ep = pm["spec"]["podMetricsEndpoints"][0];
  EXPECT_EQ(ep["port"], kSidecarStatusPort);
  EXPECT_EQ(ep["path"], "/metrics");
  EXPECT_EQ(ep["scheme"], "http");
  // The pod label becomes the series label apikey (Prometheus writes . and / as _).
  bool relabelled = false;
  for (const auto& rl : ep["relabelings"]) {
    relabelled =
        relabelled ||
        (rl.value("sourceLabels", json::array()) ==
             json::array({"__meta_kubernetes_pod_label_keyward_dev_apikey"}) &&
         rl.value("targetLabel", "") == "apikey" && rl.value("action", "replace") == "replace");
  }
  EXPECT_TRUE(relabelled) << ep.dump();
}

TEST_F(MonitoringTest, PodMonitorWithWatchNamespaceNamesOnlyIt) {
  const json pm = render(all_on({"watchNamespace=bots"})).one("PodMonitor");
  EXPECT_EQ(pm["spec"]["namespaceSelector"], json({{"matchNames", json::array({"bots"})}}));
}

TEST_F(MonitoringTest, PrometheusRuleGroupsAreTheAlertsFile) {
  const json file = yaml_file(source_dir() / "charts/keyward/files/alerts.yaml");
  ASSERT_TRUE(file.contains("groups"));
  const json rule = render(all_on()).one("PrometheusRule");
  EXPECT_EQ(json::parse(rule["spec"]["groups"].dump()), file["groups"])
      << json::diff(file["groups"], rule["spec"]["groups"]).dump(2);

  const std::string docs = read_text_file(source_dir() / "docs/monitoring.md");
  const std::set<std::string> expected = {"KeywardTokenExpiringWithoutReplacement",
                                          "KeywardSidecarNotReady",
                                          "KeywardCaptchaOrLockout",
                                          "KeywardPenaltyRecurring",
                                          "KeywardRotationFailing",
                                          "KeywardRotationOverdue",
                                          "KeywardHoldEscalated",
                                          "KeywardWindowNeverOpens",
                                          "KeywardApiKeyDegraded",
                                          "KeywardBrokerWithoutLeader",
                                          "KeywardWebhookErrors"};
  std::set<std::string> names;
  for (const auto& alert : alerts_of(file["groups"])) {
    const std::string name = alert["alert"];
    SCOPED_TRACE(name);
    names.insert(name);
    const std::string severity = alert["labels"].value("severity", "");
    EXPECT_TRUE(severity == "critical" || severity == "warning") << severity;
    const json annotations = alert.value("annotations", json::object());
    for (const char* key : {"summary", "description", "runbook_url"}) {
      EXPECT_FALSE(annotations.value(key, "").empty()) << "no annotation " << key;
    }
    EXPECT_EQ(annotations.value("runbook_url", ""),
              std::string(kDefaultRunbookBase) + "#" + lower(name));
    EXPECT_NE(annotations.value("description", "").find("kubectl"), std::string::npos)
        << "the description says what to run next";
    // The runbook's anchor: a heading named after the alert in docs/monitoring.md.
    EXPECT_NE(docs.find("\n### " + name + "\n"), std::string::npos)
        << "docs/monitoring.md has no section '### " << name << "'";
  }
  EXPECT_EQ(names, expected);
}

TEST_F(MonitoringTest, PrometheusRuleTakesTheRunbookBaseAndTheOverrides) {
  const json rule =
      render(all_on({"monitoring.runbookBaseUrl=https://wiki.desk.example/keyward/",
                     "monitoring.prometheusRule.labels.role=alert-rules",
                     "monitoring.prometheusRule.alerts.KeywardTokenExpiringWithoutReplacement."
                     "threshold=600",
                     "monitoring.prometheusRule.alerts.KeywardApiKeyDegraded.for=30m"}))
          .one("PrometheusRule");
  EXPECT_EQ(rule["metadata"]["labels"]["role"], "alert-rules");
  const json file = yaml_file(source_dir() / "charts/keyward/files/alerts.yaml");
  std::map<std::string, json> original;
  for (const auto& a : alerts_of(file["groups"])) original[a["alert"]] = a;
  for (const auto& a : alerts_of(rule["spec"]["groups"])) {
    const std::string name = a["alert"];
    SCOPED_TRACE(name);
    EXPECT_EQ(a["annotations"]["runbook_url"], "https://wiki.desk.example/keyward#" + lower(name));
    const std::string expr = a["expr"];
    if (name == "KeywardTokenExpiringWithoutReplacement") {
      EXPECT_NE(expr.find("< 600"), std::string::npos) << expr;
      EXPECT_EQ(expr.find("240"), std::string::npos) << expr;
    } else {
      EXPECT_EQ(expr, original[name]["expr"]);
    }
    if (name == "KeywardApiKeyDegraded") {
      EXPECT_EQ(a["for"], "30m");
    } else {
      EXPECT_EQ(a.value("for", ""), original[name].value("for", ""));
    }
  }
  // Only the documented knobs: a threshold where the expression has none, or an unknown alert,
  // is refused.
  for (const char* bad : {"monitoring.prometheusRule.alerts.KeywardSidecarNotReady.threshold=1",
                          "monitoring.prometheusRule.alerts.KeywardNoSuchAlert.for=1m",
                          "monitoring.prometheusRule.alerts.KeywardApiKeyDegraded.for=soon",
                          "monitoring.serviceMonitor.interval=often", "monitoring.podMonitr.x=1"}) {
    SCOPED_TRACE(bad);
    auto r = run_helm({"template", "rel", chart_dir(), "--set", bad});
    EXPECT_NE(r.exit_code, 0);
  }
}

TEST_F(MonitoringTest, DashboardParsesAndEveryPanelQueries) {
  Rendered r = render(all_on({"monitoring.dashboard.annotations.grafana_folder=Trading"}));
  const auto maps = dashboard_config_maps(r);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0]["metadata"].value("annotations", json::object()).value("grafana_folder", ""),
            "Trading");
  ASSERT_EQ(maps[0]["data"].size(), 1u);
  const std::string text = maps[0]["data"].begin()->get<std::string>();
  const json dashboard = json::parse(text, nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded()) << "the dashboard is not JSON";
  EXPECT_EQ(dashboard,
            json::parse(read_text_file(source_dir() / "charts/keyward/files/dashboard.json")));
  EXPECT_FALSE(dashboard.value("uid", "").empty());
  EXPECT_GE(dashboard.value("schemaVersion", 0), 36);

  std::set<std::string> variables;
  const json templating = dashboard.value("templating", json::object());
  for (const auto& v : templating.value("list", json::array())) {
    variables.insert(v["name"].get<std::string>());
    if (v["name"] == "datasource") {
      EXPECT_EQ(v["type"], "datasource");
      EXPECT_EQ(v["query"], "prometheus");
    }
  }
  EXPECT_EQ(variables, (std::set<std::string>{"datasource", "namespace", "apikey"}));

  const auto panels = panels_of(dashboard);
  EXPECT_GE(panels.size(), 8u);
  for (const auto& p : panels) {
    const std::string title = p.value("title", "");
    SCOPED_TRACE(title);
    EXPECT_FALSE(title.empty());
    EXPECT_EQ(p.value("datasource", json::object()).value("uid", ""), "${datasource}");
    ASSERT_FALSE(p.value("targets", json::array()).empty()) << "a panel without a query";
    for (const auto& t : p["targets"]) {
      EXPECT_FALSE(t.value("expr", "").empty()) << t.dump();
      EXPECT_EQ(t.value("datasource", json::object()).value("uid", ""), "${datasource}");
      EXPECT_FALSE(metric_names_in(t.value("expr", "")).empty()) << t.dump();
    }
  }

  // The Grafana sidecar's label is configurable.
  Rendered custom = render(all_on({"monitoring.dashboard.labelKey=dashboards.example/grafana",
                                   "monitoring.dashboard.labelValue=keyward",
                                   "monitoring.dashboard.namespace=grafana"}));
  const auto moved = dashboard_config_maps(custom, "dashboards.example/grafana", "keyward");
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0]["metadata"]["namespace"], "grafana");
  EXPECT_TRUE(dashboard_config_maps(custom).empty());
}

// One source for each fact: every metric the alerts and the dashboard use is in the metrics
// table of docs/monitoring.md.
TEST_F(MonitoringTest, EveryMetricUsedIsDocumented) {
  const std::set<std::string> used = chart_metric_names(source_dir());
  EXPECT_GE(used.size(), 20u);
  const std::set<std::string> documented =
      metric_names_in(read_text_file(source_dir() / "docs/monitoring.md"));
  for (const auto& name : used) {
    EXPECT_TRUE(documented.count(name)) << name << " is used but not in docs/monitoring.md";
  }
  EXPECT_TRUE(used.count("keyward_reconcile_duration_seconds")) << "histogram suffix stripped";
  EXPECT_FALSE(used.count("keyward_reconcile_duration_seconds_bucket"));
  EXPECT_FALSE(used.count("keyward_dev_apikey"));
}

TEST(MetricNames, FindsNamesAndStripsHistogramSuffixes) {
  EXPECT_EQ(metric_names_in("histogram_quantile(0.99, sum by (le) "
                            "(rate(keyward_reconcile_duration_seconds_bucket[5m]))) + "
                            "keyward_leader == 1 or keyward_rotations_total"),
            (std::set<std::string>{"keyward_reconcile_duration_seconds", "keyward_leader",
                                   "keyward_rotations_total"}));
  EXPECT_TRUE(metric_names_in("__meta_kubernetes_pod_label_keyward_dev_apikey").empty());
  EXPECT_TRUE(metric_names_in("the keyward_sidecar_* series").empty());
  EXPECT_EQ(metric_names_in("keyward_webhook_admission_duration_seconds_count"),
            (std::set<std::string>{"keyward_webhook_admission_duration_seconds"}));
}

TEST_F(MonitoringTest, PromtoolChecksAndTestsTheRules) {
  const std::string promtool = find_promtool();
  ASSERT_FALSE(promtool.empty()) << kNoPromtool;
  const std::string rules = (source_dir() / "charts/keyward/files/alerts.yaml").string();
  auto check = run_command(promtool, {"check", "rules", rules});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  auto tested = run_command(
      promtool, {"test", "rules", (source_dir() / "tests/chart/alerts_test.yaml").string()});
  EXPECT_EQ(tested.exit_code, 0) << tested.out << tested.err;

  // The groups the chart renders with overrides are valid rules too.
  const json rule =
      render(all_on({"monitoring.prometheusRule.alerts.KeywardPenaltyRecurring.threshold=10",
                     "monitoring.prometheusRule.alerts.KeywardSidecarNotReady.for=10m"}))
          .one("PrometheusRule");
  const fs::path file = fs::temp_directory_path() /
                        ("keyward-rendered-rules-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(file) << json({{"groups", rule["spec"]["groups"]}}).dump(2);
  auto rendered = run_command(promtool, {"check", "rules", file.string()});
  EXPECT_EQ(rendered.exit_code, 0) << rendered.out << rendered.err;
  fs::remove(file);
}

}  // namespace
}  // namespace keyward::chart_testing
