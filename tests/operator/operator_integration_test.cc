// The whole operator (informers, work queue, workers, leader election, reconciler) against the
// fake API server over real HTTP, with a FakeClock driving rotations.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "common/io/filesystem.h"
#include "common/io/random.h"
#include "common/kube/kube_client.h"
#include "common/kube/object_meta.h"
#include "operator/controller/operator_manager.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/operator/operator_fixture.h"

namespace keyward::testing {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

// Waits (bounded, real time) for a condition that other threads make true.
// Advances the FakeClock a second per poll while waiting: requeues (leader renewal, error
// backoff, stale rechecks) run on it.
template <class F>
bool ticking(FakeClock& clock, F&& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    clock.advance(std::chrono::seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval, not a sync point
  }
  return condition();
}

template <class F>
bool eventually(F&& condition, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval, not a sync point
  }
  return condition();
}

class FixedRandom final : public Random {
 public:
  double uniform01() override { return 0.5; }
};

class OperatorIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeApiServerOptions options;
    options.crd_files = {std::string(KEYWARD_SOURCE_DIR) + "/crds/apikey.yaml"};
    server = std::make_unique<FakeApiServer>(options);
    ASSERT_TRUE(server->start());
    server->enable_controller_simulation(true);
    // Stands in for each new pod's sidecar delivering the current key at start and the broker
    // recording it (docs/contracts.md, "Which key version a pod runs"): the current version.
    server->set_pod_mutator([this](const nlohmann::json& pod) {
      nlohmann::json p = pod;
      p["metadata"]["annotations"]["keyward.dev/key-version"] =
          std::to_string(current_version.load());
      return p;
    });
    server->apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bots"}}}});
  }

  std::unique_ptr<kube::KubeClient> client() {
    kube::KubeConfig config;
    config.server = server->url();
    config.endpoint = *HttpEndpoint::parse(config.server);
    auto made = kube::make_kube_client(config, fs, clock, logger.child("kube"));
    EXPECT_TRUE(made) << made.error().to_string();
    return std::move(*made);
  }

  std::unique_ptr<controller::OperatorManager> runner(kube::KubeApi& api,
                                                      const std::string& identity,
                                                      MetricsRegistry* metrics = nullptr) {
    controller::OperatorOptions options;
    options.watch_namespace = "bots";
    options.leader.lease_namespace = "bots";
    options.leader.identity = identity;
    return std::make_unique<controller::OperatorManager>(api, clock, random, logger.child(identity),
                                                         metrics ? *metrics : registry, generator,
                                                         nullptr, options);
  }

  std::string tail_of_logs() {
    const std::string all = sink->joined();
    return all.size() > 20000 ? all.substr(all.size() - 20000) : all;
  }
  std::optional<nlohmann::json> secret() {
    return server->get("v1", "Secret", "bots", "keyward-alpha");
  }
  std::int64_t version() {
    auto s = secret();
    if (!s) return 0;
    return std::stoll(kube::annotation(*s, "keyward.dev/key-version"));
  }
  nlohmann::json apikey() {
    return *server->get("keyward.dev/v1alpha1", "ApiKey", "bots", "alpha");
  }
  // status.<field> (or status.consumers.<field>), -1 while absent.
  std::int64_t status_int(const std::string& field, bool consumers = false) {
    nlohmann::json st = apikey().value("status", nlohmann::json::object());
    if (consumers)
      st = st.is_object() ? st.value("consumers", nlohmann::json::object())
                          : nlohmann::json::object();
    if (!st.is_object() || !st.contains(field) || !st[field].is_number()) return -1;
    return st[field].get<std::int64_t>();
  }
  std::string condition_reason(const std::string& type) {
    for (const auto& c : apikey()["status"].value("conditions", nlohmann::json::array())) {
      if (c["type"] == type) return c.value("reason", "");
    }
    return "";
  }
  std::set<std::string> pod_names() {
    std::set<std::string> names;
    for (const auto& p : server->list("v1", "Pod", "bots"))
      names.insert(p["metadata"]["name"].get<std::string>());
    return names;
  }

  void apply_workload() {
    server->apply({{"apiVersion", "apps/v1"},
                   {"kind", "Deployment"},
                   {"metadata", {{"name", "alpha-bot"}, {"namespace", "bots"}}},
                   {"spec",
                    {{"replicas", 2},
                     {"selector", {{"matchLabels", {{"app", "alpha-bot"}}}}},
                     {"template",
                      {{"metadata",
                        {{"labels", {{"app", "alpha-bot"}, {"keyward.dev/apikey", "alpha"}}},
                         {"annotations", {{"keyward.dev/inject", "alpha"}}}}},
                       {"spec", {{"containers", {{{"name", "bot"}, {"image", "bot:1"}}}}}}}}}}});
    server->apply(make_apikey(
        "alpha",
        {{"rotation", {{"intervalSeconds", 3600}, {"gracePeriodSeconds", 600}}},
         {"consumers", {{"workloadRef", {{"kind", "Deployment"}, {"name", "alpha-bot"}}}}}}));
  }

  FakeClock clock{SystemTime(std::chrono::seconds(1803902400))};
  std::shared_ptr<MemorySink> sink = std::make_shared<MemorySink>();
  Logger logger{"it", sink, std::make_shared<Redactor>(), LogLevel::Debug, &clock};
  PosixFilesystem fs;
  FixedRandom random;
  MetricsRegistry registry;
  CountingKeyGenerator generator;
  std::atomic<int> current_version{1};
  std::unique_ptr<FakeApiServer> server;
};

TEST_F(OperatorIntegrationTest, RotatesAndRestartsTheStaleDeploymentThroughTheRealApi) {
  apply_workload();
  auto api = client();
  auto op = runner(*api, "op-a");
  op->start();
  ASSERT_TRUE(eventually([&] { return version() == 1; }));
  ASSERT_TRUE(eventually([&] {
    return status_int("keyVersion") == 1 && status_int("upToDate", true) == 2;
  })) << apikey().dump();
  ASSERT_TRUE(eventually([&] { return op->readiness().has_value(); }));
  const auto before = pod_names();
  ASSERT_EQ(before.size(), 2u);
  // Consumer pods come from the operator's pod cache: the rotation lists no pods from the API
  // (it listed them on every pass before).
  const auto pod_reads = server->request_count("GET", "/namespaces/bots/pods");

  current_version = 2;  // pods created from now on start with version 2 (the webhook would say so)
  clock.advance(hours(1));
  ASSERT_TRUE(ticking(clock, [&] { return version() == 2; }));
  ASSERT_TRUE(ticking(clock, [&] {
    auto d = server->get("apps/v1", "Deployment", "bots", "alpha-bot");
    return d && (*d)["spec"]["template"]["metadata"]["annotations"].contains(
                    "kubectl.kubernetes.io/restartedAt");
  }));
  ASSERT_TRUE(ticking(clock, [&] {
    return status_int("keyVersion") == 2 && status_int("upToDate", true) == 2 &&
           status_int("stale", true) == 0;
  })) << apikey().dump();
  const auto after = pod_names();
  for (const auto& name : after) EXPECT_FALSE(before.contains(name)) << name;
  EXPECT_EQ(server->request_count("GET", "/namespaces/bots/pods"), pod_reads);
  EXPECT_EQ(generator.count(), 2);
  const std::string logs = sink->joined();
  for (const auto& key : generator.issued()) EXPECT_EQ(logs.find(key), std::string::npos);
  op->stop();
}

// Every API request the operator made, watches included (a watch counts once, when it starts).
std::uint64_t all_requests(const FakeApiServer& server) { return server.request_count(""); }

TEST_F(OperatorIntegrationTest, APassOverAnUpToDateKeyMakesNoApiRequest) {
  apply_workload();
  auto api = client();
  auto op = runner(*api, "op-a");
  op->start();
  ASSERT_TRUE(eventually([&] {
    return status_int("keyVersion") == 1 && status_int("upToDate", true) == 2;
  })) << apikey().dump();
  ASSERT_TRUE(eventually([&] { return op->readiness().has_value(); }));
  auto passes = [&] {
    const std::string logs = sink->joined();
    std::size_t n = 0;
    for (auto at = logs.find("\"reconciled\""); at != std::string::npos;
         at = logs.find("\"reconciled\"", at + 1))
      ++n;
    return n;
  };
  // Let the passes the first writes caused run out, then ask for more passes.
  std::size_t settled = passes();
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (passes() == settled && i > 5) break;
    settled = passes();
  }
  const auto before = all_requests(*server);
  for (int i = 0; i < 3; ++i) {
    const std::size_t done = passes();
    op->request_reconcile("bots/alpha");
    ASSERT_TRUE(eventually([&] { return passes() > done; }));
  }
  EXPECT_EQ(all_requests(*server), before)
      << "a pass over a key whose Secret, status and pods are in order asked the API server";
  op->stop();
}

TEST_F(OperatorIntegrationTest, WatchCutAndConflictsMidRotationStillRotateOnce) {
  apply_workload();
  auto api = client();
  auto op = runner(*api, "op-a");
  op->start();
  ASSERT_TRUE(eventually([&] { return status_int("keyVersion") == 1; }));
  server->fail_next(3, 409, "PUT", "/secrets/");
  server->fail_next(2, 409, "PUT", "/status");
  clock.advance(hours(1));
  server->cut_watches();
  // Failed passes come back after the queue's one backoff (5s, 10s, 20s on the FakeClock).
  ASSERT_TRUE(ticking(clock, [&] { return status_int("keyVersion") == 2; })) << apikey().dump();
  server->cut_watches();
  // Let the backoff timers run out; nothing may rotate again before the next due time.
  for (int i = 0; i < 10; ++i) clock.advance(seconds(30));
  ASSERT_TRUE(eventually([&] { return status_int("keyVersion") == 2; }));
  EXPECT_EQ(version(), 2);
  op->stop();
}

TEST_F(OperatorIntegrationTest, StandbyTakesOverAfterTheLeaderStopsWithoutDoubleRotation) {
  apply_workload();
  auto api_a = client();
  auto api_b = client();
  MetricsRegistry metrics_a;
  MetricsRegistry metrics_b;
  auto a = runner(*api_a, "op-a", &metrics_a);
  a->start();
  ASSERT_TRUE(eventually([&] { return a->leading(); }));
  auto b = runner(*api_b, "op-b", &metrics_b);
  b->start();
  ASSERT_TRUE(eventually([&] { return version() == 1; }));
  EXPECT_FALSE(b->leading());
  // keyward_leader: what the KeywardBrokerWithoutLeader alert sums over the replicas.
  const auto leader = [](MetricsRegistry& m) { return m.gauge("keyward_leader", "").value(); };
  EXPECT_EQ(leader(metrics_a), 1);
  EXPECT_EQ(leader(metrics_b), 0);
  a->stop();  // graceful: the Lease is released
  ASSERT_TRUE(eventually([&] {
    clock.advance(seconds(2));  // b's retry period
    return b->leading();
  }));
  EXPECT_EQ(leader(metrics_a), 0);
  EXPECT_EQ(leader(metrics_b), 1);
  EXPECT_EQ(metrics_a.render().find("keyward_apikey_condition{"), std::string::npos)
      << "a replica that stopped leading still reports per-ApiKey state";
  clock.advance(hours(1));
  ASSERT_TRUE(ticking(clock, [&] { return version() == 2; }))
      << tail_of_logs() << "\nSECRET " << secret()->dump() << "\nNOW "
      << format_rfc3339(clock.now());
  for (int i = 0; i < 10; ++i) clock.advance(seconds(30));
  ASSERT_TRUE(eventually([&] { return status_int("keyVersion") == 2; }));
  EXPECT_EQ(version(), 2);
  EXPECT_EQ(generator.count(), 2);
  b->stop();
}

// A pod with keyward.dev/hold is never deleted, evicted or replaced by a rollout until it is
// released, whatever the restart strategy and the owner's kind; its unheld stale siblings move
// to the new key inside the window, one eviction at a time, and the owner is never rolled.
struct HeldCase {
  std::string kind;
  std::string strategy;
};
// Readable test names in ctest's listing, not the object's bytes.
void PrintTo(const HeldCase& c, std::ostream* os) { *os << c.kind << "/" << c.strategy; }

class HeldPodTest : public OperatorIntegrationTest, public ::testing::WithParamInterface<HeldCase> {
 protected:
  void apply_held_workload() {
    const HeldCase& c = GetParam();
    if (c.kind == "DaemonSet") {
      for (int i = 0; i < 3; ++i) {
        server->apply({{"apiVersion", "v1"},
                       {"kind", "Node"},
                       {"metadata", {{"name", "node-" + std::to_string(i)}}}});
      }
    }
    Json spec = {{"selector", {{"matchLabels", {{"app", "alpha-bot"}}}}},
                 {"template",
                  {{"metadata",
                    {{"labels", {{"app", "alpha-bot"}, {"keyward.dev/apikey", "alpha"}}},
                     {"annotations", {{"keyward.dev/inject", "alpha"}}}}},
                   {"spec", {{"containers", {{{"name", "bot"}, {"image", "bot:1"}}}}}}}}};
    if (c.kind != "DaemonSet") spec["replicas"] = 3;
    server->apply({{"apiVersion", "apps/v1"},
                   {"kind", c.kind},
                   {"metadata", {{"name", "alpha-bot"}, {"namespace", "bots"}}},
                   {"spec", spec}});
    server->apply(make_apikey(
        "alpha", {{"rotation", {{"intervalSeconds", 3600}, {"gracePeriodSeconds", 7200}}},
                  {"consumers",
                   {{"workloadRef", {{"kind", c.kind}, {"name", "alpha-bot"}}},
                    {"restartStrategy", c.strategy},
                    {"maxUnavailable", 1},
                    {"holdTimeoutSeconds", 7200}}}}));
  }
  // uid -> name of the live pods.
  std::map<std::string, std::string> pod_uids() {
    std::map<std::string, std::string> out;
    for (const auto& p : server->list("v1", "Pod", "bots")) {
      if (p["metadata"].contains("deletionTimestamp")) continue;
      out[p["metadata"]["uid"]] = p["metadata"]["name"];
    }
    return out;
  }
  bool rolled() {
    const HeldCase& c = GetParam();
    auto w = server->get("apps/v1", c.kind, "bots", "alpha-bot");
    return w && (*w)["spec"]["template"]["metadata"]
                    .value("annotations", Json::object())
                    .contains("kubectl.kubernetes.io/restartedAt");
  }
};

TEST_P(HeldPodTest, AHeldPodIsNeverDisruptedAndItsSiblingsMoveOneByOne) {
  apply_held_workload();
  auto api = client();
  auto op = runner(*api, "op-a");
  op->start();
  ASSERT_TRUE(eventually([&] {
    return status_int("keyVersion") == 1 && status_int("upToDate", true) == 3;
  })) << apikey().dump();
  auto before = pod_uids();
  ASSERT_EQ(before.size(), 3u);
  // The bot in one pod opens positions and holds its restart.
  const std::string held_uid = before.begin()->first;
  const std::string held_name = before.begin()->second;
  Json held = *server->get("v1", "Pod", "bots", held_name);
  held["metadata"]["annotations"]["keyward.dev/hold"] = "open positions";
  server->apply(held);

  current_version = 2;
  clock.advance(hours(1));
  ASSERT_TRUE(ticking(clock, [&] { return version() == 2; }));
  // The two unheld pods are replaced (evicted one at a time); the held one stays.
  ASSERT_TRUE(ticking(clock, [&] {
    return status_int("upToDate", true) == 2 && status_int("stale", true) == 1 &&
           status_int("held", true) == 1;
  })) << apikey().dump();
  auto during = pod_uids();
  EXPECT_TRUE(during.contains(held_uid)) << "the held pod was disrupted";
  for (const auto& [uid, name] : before) {
    if (uid != held_uid) {
      EXPECT_FALSE(during.contains(uid)) << name << " was not replaced";
    }
  }
  EXPECT_FALSE(rolled()) << "a rollout restart would replace the held pod";
  EXPECT_EQ(condition_reason("Rotating"), "ConsumersHeld");
  // More time inside the grace: still untouched.
  for (int i = 0; i < 20; ++i) clock.advance(seconds(30));
  ASSERT_TRUE(eventually([&] { return pod_uids().contains(held_uid); }));
  EXPECT_TRUE(pod_uids().contains(held_uid));

  // Positions closed: the hold goes, and so does the last stale pod.
  Json released = *server->get("v1", "Pod", "bots", held_name);
  released["metadata"]["annotations"].erase("keyward.dev/hold");
  server->apply(released);
  ASSERT_TRUE(ticking(clock, [&] {
    return !pod_uids().contains(held_uid) && status_int("upToDate", true) == 3 &&
           status_int("stale", true) == 0;
  })) << apikey().dump();
  EXPECT_FALSE(rolled()) << "the owner was rolled although some pods were already current";
  EXPECT_EQ(pod_uids().size(), 3u);
  op->stop();
}

INSTANTIATE_TEST_SUITE_P(Owners, HeldPodTest,
                         ::testing::Values(HeldCase{"Deployment", "RolloutRestart"},
                                           HeldCase{"Deployment", "Evict"},
                                           HeldCase{"StatefulSet", "RolloutRestart"},
                                           HeldCase{"DaemonSet", "RolloutRestart"}),
                         [](const ::testing::TestParamInfo<HeldCase>& p) {
                           return p.param.kind + p.param.strategy;
                         });

}  // namespace
}  // namespace keyward::testing
