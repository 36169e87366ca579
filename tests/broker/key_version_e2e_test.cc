// End to end: which key version a pod runs is what its sidecar first delivered, never a guess
// made at admission (docs/contracts.md, "Which key version a pod runs").
//
// The fake API server with its deployment/replicaset/kubelet simulation and the real PodMutator
// as its admission step, the real keyward-operator binary running the broker over HTTPS, the
// provider simulator, the real kubectl applying an ApiKey and its Deployment in ONE apply (the
// GitOps case: the pods are admitted before the key Secret exists), and one real keyward-sidecar
// (broker mode) per pod. Proves: every pod ends current with zero restarts; after a rotation one
// rollout restart replaces the pods, every new pod is current, and there is no second restart.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/core/http_transport_httplib.h"
#include "common/core/yaml_json.h"
#include "operator/apikey/key_generator.h"
#include "operator/webhook/pod_mutator.h"
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
using Process = keyward::testing::ChildProcess;

using testing::eventually;
using testing::slurp;
using testing::write;

std::string find_kubectl() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/kubectl";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// A bot Deployment whose pods ask for the ApiKey of the same name.
std::string deployment_yaml(const std::string& name, int replicas) {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name +
         ", namespace: bots}\nspec:\n  replicas: " + std::to_string(replicas) +
         "\n  selector: {matchLabels: {app: " + name +
         "}}\n  template:\n    metadata:\n"
         "      labels: {app: " +
         name + "}\n      annotations: {keyward.dev/inject: " + name +
         "}\n    spec:\n      serviceAccountName: bot\n      containers:\n"
         "        - {name: bot, image: \"bot:1\", command: [/bot]}\n";
}

// The manifests a desk keeps in one folder and applies at once: the ApiKey and its bot.
std::string bot_manifests(const std::string& endpoint) {
  return R"(apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata: {name: alpha, namespace: bots}
spec:
  displayName: Alpha bot
  source:
    secretRef: {name: alpha-source}
  consumers:
    workloadRef: {kind: Deployment, name: alpha}
    restartStrategy: RolloutRestart
    maxUnavailable: 3
  tokenExchange:
    provider: tradovate
    endpoint: )" +
         endpoint + R"(
    lifetimeSeconds: 60
    refreshLeadSeconds: 2
    credentialsSecretRef: {name: alpha-login}
    tradovate: {appId: Bot}
---
)" + deployment_yaml("alpha", 3);
}

class KeyVersionEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    kubectl_ = find_kubectl();
    ASSERT_FALSE(kubectl_.empty()) << "kubectl is not on PATH; scripts/setup.sh installs it";
    ASSERT_TRUE(testing::write_localhost_tls(tmp_.path()));

    simulator_.add_user({"alice", testing::kPassword, "8", testing::kKey1, 42});
    auto sim_port = simulator_.start_tls("127.0.0.1", 0, tmp_ / "tls.crt", tmp_ / "tls.key");
    ASSERT_TRUE(sim_port) << sim_port.error().message;

    api_ = std::make_unique<testing::FakeApiServer>(testing::e2e_cluster_options());
    ASSERT_TRUE(api_->start());
    testing::seed_alpha(*api_);
    api_->enable_controller_simulation(true);
    ASSERT_TRUE(write(tmp_ / "kubeconfig", testing::render_kubeconfig(api_->url(), "", "")));

    std::vector<std::string> flags{"--log-level", "debug"};
    for (const auto& f : extra_operator_args()) flags.push_back(f);
    operator_ = std::make_unique<Process>(
        testing::operator_with_broker(KEYWARD_OPERATOR_BINARY, tmp_.path(), flags),
        std::vector<std::string>{"SSL_CERT_FILE=" + tmp_ / "ca.crt"}, tmp_ / "operator.log");
    ASSERT_TRUE(operator_->started());
    ASSERT_TRUE(eventually([&] {
      std::smatch m;
      const std::string log = slurp(tmp_ / "operator.log");
      static const std::regex listening(R"("message":"broker server listening"[^\n]*"port":(\d+))");
      if (!std::regex_search(log, m, listening)) return false;
      broker_url_ = "https://127.0.0.1:" + std::string(m[1]);
      return true;
    })) << slurp(tmp_ / "operator.log");

    // The webhook's part, with the real mutator: what the operator would answer at admission.
    // It sees the ApiKey (applied first in the same kubectl apply) but no key Secret yet.
    api_->set_pod_mutator([this](const Json& pod) {
      webhook::MutationContext ctx;
      std::lock_guard lock(apikey_mu_);
      const auto ref = webhook::PodMutator::requested_apikey(pod);
      auto found = ref ? apikeys_.find(ref->name) : apikeys_.end();
      ctx.apikey = found != apikeys_.end() ? Result<apikey::ApiKey>(found->second)
                                           : fail("NotFound", "no such ApiKey");
      ctx.sidecar_image = "keyward-sidecar:test";
      ctx.defaults.mode = "broker";
      ctx.defaults.broker_url = broker_url_;
      webhook::PodMutator mutator;
      const bool accepting =
          !ref &&
          pod["metadata"].value("annotations", Json::object()).contains("keyward.dev/accepts");
      auto result = accepting
                        ? mutator.mutate_accepting(pod, pod["metadata"].value("namespace", ""), ctx)
                        : mutator.mutate(pod, pod["metadata"].value("namespace", ""), ctx);
      if (!result.is_allowed() || result.patch.is_null()) return pod;
      return pod.patch(result.patch);
    });
  }

  // ApiKey gamma (a generate source assigned to Deployment gamma, whose two pods are applied in the
  // same kubectl apply); the webhook's lookup sees the same ApiKey. Returns when both pods exist
  // and the key Secret holds version 1.
  void apply_gamma(const std::string& restart_strategy,
                   const std::string& generate = "{prefix: nt_, length: 40}") {
    const std::string apikey_yaml = R"(apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata: {name: gamma, namespace: bots}
spec:
  displayName: Gamma bot
  source:
    generate: )" + generate + R"(
  consumers:
    workloadRef: {kind: Deployment, name: gamma}
    restartStrategy: )" + restart_strategy +
                                    "\n";
    auto docs = load_yaml_documents(apikey_yaml);
    ASSERT_TRUE(docs);
    auto apikey = yaml_to_json((*docs)[0]);
    ASSERT_TRUE(apikey);
    set_apikey_for_admission(*apikey);
    ASSERT_TRUE(write(tmp_ / "gamma.yaml", apikey_yaml + "---\n" + deployment_yaml("gamma", 2)));
    ASSERT_EQ(kubectl_apply(tmp_ / "gamma.yaml"), 0) << slurp(tmp_ / "kubectl.log");
    ASSERT_TRUE(eventually([&] {
      return pods("gamma").size() == 2 && secret_version("gamma") == 1;
    })) << logs();
  }

  // More flags for the operator (a fixture that seals key Secrets adds --kek-dir).
  virtual std::vector<std::string> extra_operator_args() { return {}; }

  void TearDown() override {
    sidecars_.clear();
    if (operator_) operator_->stop();
    simulator_.stop();
  }

  void set_apikey_for_admission(const Json& apikey) {
    auto key = webhook::apikey_for_injection(apikey);
    ASSERT_TRUE(key) << key.error().message;
    std::lock_guard lock(apikey_mu_);
    apikeys_[key->metadata.name] = *key;
  }

  int kubectl_apply(const std::string& file) { return kubectl({"apply", "-f", file}); }
  int kubectl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kubectl_, "--kubeconfig", tmp_ / "kubeconfig", "--cache-dir",
                                     tmp_ / "cache"};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, {"HOME=" + tmp_.path()}, tmp_ / "kubectl.log");
    if (!p.started()) return -1;
    auto code = p.wait_exit(60s);
    return code ? *code : -1;
  }

  // The live pods of a Deployment (label app=<name>), by name.
  std::map<std::string, Json> pods(const std::string& app = "alpha") {
    std::map<std::string, Json> out;
    for (const Json& p : api_->list("v1", "Pod", "bots")) {
      if (p["metadata"].contains("deletionTimestamp")) continue;
      if (p["metadata"].value("labels", Json::object()).value("app", "") != app) continue;
      out[p["metadata"]["name"]] = p;
    }
    return out;
  }

  // A sidecar for every pod that has none yet, with a bound token for the broker's audience.
  // Broker mode by default; with key_dir_of, direct mode (provider none) reading the key files
  // the kubelet would project from the key Secret (or, when it returns "", taking the key from
  // the broker with --key-from-broker), reporting its version to the broker.
  void start_sidecars(const std::string& app = "alpha",
                      const std::function<std::string(const std::string&)>& key_dir_of = {},
                      const std::vector<std::string>& extra = {}) {
    for (const auto& [name, pod] : pods(app)) {
      if (sidecars_.contains(name)) continue;
      const std::string token = "eyJhbGciOiJSUzI1NiJ9.sa-" + name + ".sig";
      auto identity =
          testing::TokenIdentity::bound_pod("bots", "bot", name, pod["metadata"]["uid"]);
      identity.audiences = {"keyward.dev/broker"};
      api_->add_token(token, identity);
      secrets_.push_back(token);
      ASSERT_TRUE(write(tmp_ / ("sa-" + name), token));
      std::vector<std::string> args = {KEYWARD_SIDECAR_BINARY,
                                       "run",
                                       "--apikey",
                                       app,
                                       "--namespace",
                                       "bots",
                                       "--service-account-token-file",
                                       tmp_ / ("sa-" + name),
                                       "--out",
                                       tmp_ / ("out-" + name),
                                       "--listen",
                                       "off"};
      std::vector<std::string> mode =
          key_dir_of ? std::vector<std::string>{"--mode",           "direct",
                                                "--provider",       "none",
                                                "--report-url",     broker_url_,
                                                "--report-ca-file", tmp_ / "ca.crt"}
                     : std::vector<std::string>{"--mode",    "broker",    "--broker-url",
                                                broker_url_, "--ca-file", tmp_ / "ca.crt"};
      if (key_dir_of) {
        // A key directory as the kubelet projects it, or "" for the key from the broker.
        const std::string dir = key_dir_of(name);
        const std::vector<std::string> from = dir.empty()
                                                  ? std::vector<std::string>{"--key-from-broker"}
                                                  : std::vector<std::string>{"--key-dir", dir};
        mode.insert(mode.end(), from.begin(), from.end());
      }
      args.insert(args.end(), mode.begin(), mode.end());
      args.insert(args.end(), extra.begin(), extra.end());
      sidecars_[name] = std::make_unique<Process>(args, std::vector<std::string>{},
                                                  tmp_ / ("sidecar-" + name + ".log"));
      ASSERT_TRUE(sidecars_[name]->started());
    }
  }

  std::int64_t secret_version(const std::string& apikey = "alpha") {
    auto s = api_->get("v1", "Secret", "bots", "keyward-" + apikey);
    if (!s) return 0;
    return std::stoll((*s)["metadata"]["annotations"].value("keyward.dev/key-version", "0"));
  }
  // Every live pod carries `version` as the version its sidecar delivered, and that sidecar's
  // token file says the same.
  bool all_pods_on(std::int64_t version, std::size_t count, const std::string& app = "alpha") {
    auto all = pods(app);
    if (all.size() != count) return false;
    for (const auto& [name, pod] : all) {
      const Json a = pod["metadata"].value("annotations", Json::object());
      if (a.value("keyward.dev/key-version", "") != std::to_string(version)) return false;
      Json t = Json::parse(slurp(tmp_ / ("out-" + name) + "/token.json"), nullptr, false);
      if (t.is_discarded() || t.value("keyVersion", 0) != version) return false;
    }
    return true;
  }
  Json consumers(const std::string& apikey = "alpha") {
    auto a = api_->get("keyward.dev/v1alpha1", "ApiKey", "bots", apikey);
    if (!a || !(*a)["status"].is_object()) return Json::object();
    return (*a)["status"].value("consumers", Json::object());
  }
  std::string restarted_at() {
    auto d = api_->get("apps/v1", "Deployment", "bots", "alpha");
    if (!d) return "";
    return (*d)["spec"]["template"]["metadata"]
        .value("annotations", Json::object())
        .value("kubectl.kubernetes.io/restartedAt", "");
  }
  std::string logs() {
    std::string all = slurp(tmp_ / "operator.log");
    for (const auto& [name, _] : sidecars_) all += slurp(tmp_ / ("sidecar-" + name + ".log"));
    return all;
  }

  testing::TempDir tmp_;
  RealClock clock_;
  sim::ProviderSimulator simulator_{clock_, sim::SimConfig{.lifetime = Seconds(60)}};
  std::unique_ptr<testing::FakeApiServer> api_;
  std::unique_ptr<Process> operator_;
  std::map<std::string, std::unique_ptr<Process>> sidecars_;
  std::vector<std::string> secrets_ = {testing::kPassword, testing::kKey1, testing::kKey2};
  std::string kubectl_;
  std::string broker_url_;
  std::mutex apikey_mu_;  // guards apikeys_ (read on the server's request threads)
  std::map<std::string, apikey::ApiKey> apikeys_;
};

TEST_F(KeyVersionEndToEnd, AppliedTogetherEveryPodCurrentWithoutRestartsAndOneRolloutPerRotation) {
  const std::string manifests = bot_manifests(simulator_.url() + "/v1");
  ASSERT_TRUE(write(tmp_ / "bot.yaml", manifests));
  {
    // What the webhook will look up at admission: the ApiKey as kubectl creates it.
    set_apikey_for_admission(
        Json{{"apiVersion", "keyward.dev/v1alpha1"},
             {"kind", "ApiKey"},
             {"metadata", {{"name", "alpha"}, {"namespace", "bots"}}},
             {"spec",
              {{"source", {{"secretRef", {{"name", "alpha-source"}}}}},
               {"consumers", {{"workloadRef", {{"kind", "Deployment"}, {"name", "alpha"}}}}},
               {"tokenExchange",
                {{"provider", "tradovate"}, {"endpoint", simulator_.url() + "/v1"}}}}}});
  }
  ASSERT_EQ(kubectl_apply(tmp_ / "bot.yaml"), 0) << slurp(tmp_ / "kubectl.log");

  // Admitted at once, before the operator wrote the key Secret: no version on them, no guess.
  ASSERT_TRUE(eventually([&] { return pods().size() == 3; }));
  for (const auto& [name, pod] : pods()) {
    EXPECT_EQ(pod["metadata"]["labels"].value("keyward.dev/apikey", ""), "alpha") << name;
    EXPECT_FALSE(
        pod["metadata"].value("annotations", Json::object()).contains("keyward.dev/key-version"))
        << name << ": the webhook stamped a key version at admission";
  }
  const auto first_pods = pods();

  start_sidecars();
  ASSERT_TRUE(eventually([&] { return secret_version() == 1 && all_pods_on(1, 3); })) << logs();
  ASSERT_TRUE(eventually([&] {
    Json c = consumers();
    return c.value("upToDate", -1) == 3 && c.value("stale", -1) == 0 && c.value("pending", -1) == 0;
  })) << consumers().dump()
      << logs();
  // Zero restarts: the same three pods, and the Deployment was never rolled.
  std::set<std::string> before, after;
  for (const auto& [n, _] : first_pods) before.insert(n);
  for (const auto& [n, _] : pods()) after.insert(n);
  EXPECT_EQ(before, after) << "a pod was restarted";
  EXPECT_EQ(restarted_at(), "") << "the Deployment was rolled although every pod was current";

  // A rotation: the desk puts a new key into the source Secret.
  simulator_.add_user({"alice", testing::kPassword, "8", testing::kKey2, 42});
  api_->apply(testing::source_secret(testing::kKey2));
  ASSERT_TRUE(eventually([&] { return secret_version() == 2; })) << logs();
  // The stale pods are replaced by one rollout restart.
  ASSERT_TRUE(eventually([&] {
    auto now = pods();
    if (now.size() != 3 || restarted_at().empty()) return false;
    for (const auto& [n, _] : now)
      if (before.contains(n)) return false;
    return true;
  })) << logs();
  const std::string rollout = restarted_at();
  for (const auto& [name, _] : first_pods) sidecars_.erase(name);  // their pods are gone
  start_sidecars();
  ASSERT_TRUE(eventually([&] { return all_pods_on(2, 3); })) << logs();
  ASSERT_TRUE(eventually([&] {
    Json c = consumers();
    return c.value("upToDate", -1) == 3 && c.value("stale", -1) == 0;
  })) << consumers().dump();
  // No second restart: the new pods stay, and the rollout annotation is the one of version 2.
  const auto settled = pods();
  std::this_thread::sleep_for(2s);  // a window in which a wrong second restart would show
  std::set<std::string> settled_names, later_names;
  for (const auto& [n, _] : settled) settled_names.insert(n);
  for (const auto& [n, _] : pods()) later_names.insert(n);
  EXPECT_EQ(settled_names, later_names) << "a new pod was restarted again";
  EXPECT_EQ(restarted_at(), rollout) << "a second rollout restart";

  // Nothing secret in what the programs printed.
  const std::string printed = logs();
  for (const auto& secret : secrets_) {
    EXPECT_EQ(printed.find(secret), std::string::npos) << "a secret was printed";
  }
}

// GitOps: manifests rendered offline with `keyward-operator inject -f` carry no key version, so
// a rotation brings their pods up to date like admitted ones: exactly one restart.
TEST_F(KeyVersionEndToEnd, OfflineInjectedPodsConvergeAfterARotationWithOneRestart) {
  ASSERT_TRUE(write(tmp_ / "bot.yaml", bot_manifests(simulator_.url() + "/v1")));
  Process inject({KEYWARD_OPERATOR_BINARY, "inject", "-f", tmp_ / "bot.yaml", "--mode", "broker",
                  "--broker-url", broker_url_},
                 {}, tmp_ / "injected.yaml");
  ASSERT_TRUE(inject.started());
  auto code = inject.wait_exit(std::chrono::seconds(30));
  ASSERT_TRUE(code && *code == 0) << slurp(tmp_ / "injected.yaml");
  const std::string injected = slurp(tmp_ / "injected.yaml");
  ASSERT_NE(injected.find("keyward-sidecar"), std::string::npos) << injected;
  EXPECT_EQ(injected.find("keyward.dev/key-version"), std::string::npos)
      << "a baked-in key version would make the pods stale forever after a rotation";
  // No webhook in the path: the rendered template is what the pods get.
  api_->set_pod_mutator([](const Json& pod) { return pod; });
  ASSERT_EQ(kubectl_apply(tmp_ / "injected.yaml"), 0) << slurp(tmp_ / "kubectl.log");
  ASSERT_TRUE(eventually([&] { return pods().size() == 3; }));
  start_sidecars();
  ASSERT_TRUE(eventually([&] { return all_pods_on(1, 3); })) << logs();
  EXPECT_EQ(restarted_at(), "");

  simulator_.add_user({"alice", testing::kPassword, "8", testing::kKey2, 42});
  api_->apply(testing::source_secret(testing::kKey2));
  ASSERT_TRUE(eventually([&] { return secret_version() == 2 && !restarted_at().empty(); }))
      << logs();
  const std::string rollout = restarted_at();
  ASSERT_TRUE(eventually([&] {
    auto now = pods();
    for (const auto& [name, _] : sidecars_)
      if (now.contains(name)) return false;
    return now.size() == 3;
  })) << logs();
  sidecars_.clear();
  start_sidecars();
  ASSERT_TRUE(eventually([&] { return all_pods_on(2, 3); })) << logs();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a window for a wrong second restart
  EXPECT_EQ(restarted_at(), rollout) << "a second restart";
  EXPECT_TRUE(all_pods_on(2, 3));
}

// spec.active: false through the real kubectl reaches every broker-mode sidecar within its
// recheck interval (the broker answers Inactive from memory): the files go Inactive, nothing is
// restarted; reactivation resumes delivery.
TEST_F(KeyVersionEndToEnd, DeactivationReachesEveryBrokerModeSidecarWithoutARestart) {
  ASSERT_TRUE(write(tmp_ / "bot.yaml", bot_manifests(simulator_.url() + "/v1")));
  set_apikey_for_admission(Json{
      {"apiVersion", "keyward.dev/v1alpha1"},
      {"kind", "ApiKey"},
      {"metadata", {{"name", "alpha"}, {"namespace", "bots"}}},
      {"spec",
       {{"source", {{"secretRef", {{"name", "alpha-source"}}}}},
        {"tokenExchange", {{"provider", "tradovate"}, {"endpoint", simulator_.url() + "/v1"}}}}}});
  ASSERT_EQ(kubectl_apply(tmp_ / "bot.yaml"), 0) << slurp(tmp_ / "kubectl.log");
  ASSERT_TRUE(eventually([&] { return pods().size() == 3; }));
  start_sidecars("alpha", {}, {"--recheck-seconds", "1"});
  ASSERT_TRUE(eventually([&] { return all_pods_on(1, 3); })) << logs();
  const auto before = pods();
  auto states = [&](const std::string& want) {
    for (const auto& [name, _] : pods()) {
      Json t = Json::parse(slurp(tmp_ / ("out-" + name) + "/token.json"), nullptr, false);
      if (t.is_discarded() || t.value("state", "") != want) return false;
      if (want == "Inactive" && !slurp(tmp_ / ("out-" + name) + "/token").empty()) return false;
    }
    return true;
  };
  ASSERT_EQ(kubectl({"-n", "bots", "patch", "apikey", "alpha", "--type", "merge", "-p",
                     R"({"spec":{"active":false}})"}),
            0)
      << slurp(tmp_ / "kubectl.log");
  ASSERT_TRUE(eventually([&] { return states("Inactive"); })) << logs();
  ASSERT_EQ(kubectl({"-n", "bots", "patch", "apikey", "alpha", "--type", "merge", "-p",
                     R"({"spec":{"active":true}})"}),
            0)
      << slurp(tmp_ / "kubectl.log");
  ASSERT_TRUE(eventually([&] { return states("Valid"); })) << logs();
  std::set<std::string> names_before, names_after;
  for (const auto& [n, _] : before) names_before.insert(n);
  for (const auto& [n, _] : pods()) names_after.insert(n);
  EXPECT_EQ(names_before, names_after) << "a deactivation restarted a pod";
  EXPECT_EQ(restarted_at(), "");
  for (const auto& [name, proc] : sidecars_) {
    EXPECT_FALSE(proc->wait_exit(std::chrono::milliseconds(1))) << name << " exited";
  }
}

// Direct mode (provider none: the key itself is delivered, as for the keys Keyward issues): the
// sidecar reads the version from the key Secret's files and reports it to the broker after its
// first delivery; the operator records it on the pod.
TEST_F(KeyVersionEndToEnd, DirectModeSidecarsReportTheVersionTheyDelivered) {
  ASSERT_NO_FATAL_FAILURE(apply_gamma("RolloutRestart"));
  // What the kubelet projects from the key Secret into each pod's key volume.
  auto secret = api_->get("v1", "Secret", "bots", "keyward-gamma");
  ASSERT_TRUE(secret);
  const std::string key = *keyward::base64_decode((*secret)["data"]["apiKey"].get<std::string>());
  secrets_.push_back(key);
  ASSERT_EQ(*keyward::base64_decode((*secret)["data"]["keyVersion"].get<std::string>()), "1")
      << "the key Secret carries its version as data";
  auto key_dir_of = [&](const std::string& pod) {
    std::string dir = tmp_ / ("key-" + pod);
    std::filesystem::create_directories(dir);
    for (const char* field : {"apiKey", "keyVersion"}) {
      EXPECT_TRUE(write(dir + "/" + field,
                        *keyward::base64_decode((*secret)["data"][field].get<std::string>())));
    }
    return dir;
  };
  start_sidecars("gamma", key_dir_of);
  ASSERT_TRUE(eventually([&] { return all_pods_on(1, 2, "gamma"); })) << logs();
  ASSERT_TRUE(eventually([&] {
    Json c = consumers("gamma");
    return c.value("upToDate", -1) == 2 && c.value("pending", -1) == 0;
  })) << consumers("gamma").dump();

  // An emergency rotation through the command a desk would run: at once, with who asked.
  auto rotate = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {KEYWARD_OPERATOR_BINARY, "rotate"};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, {"HOME=" + tmp_.path()}, tmp_ / "rotate.log");
    auto code = p.wait_exit(std::chrono::seconds(30));
    return code ? *code : -1;
  };
  ASSERT_EQ(
      rotate({"bots/gamma", "--kubeconfig", tmp_ / "kubeconfig", "--requested-by", "alice@desk"}),
      0)
      << slurp(tmp_ / "rotate.log");
  EXPECT_NE(slurp(tmp_ / "rotate.log").find("rotation of ApiKey bots/gamma requested"),
            std::string::npos)
      << slurp(tmp_ / "rotate.log");
  ASSERT_TRUE(eventually([&] { return secret_version("gamma") == 2; })) << logs();
  EXPECT_TRUE(eventually([&] {
    for (const auto& e : api_->list("v1", "Event", "bots")) {
      if (e.value("reason", "") == "KeyRotated" &&
          e.value("message", "").find("requested by alice@desk") != std::string::npos) {
        return true;
      }
    }
    return false;
  })) << "no KeyRotated event naming who asked";
  // Bad input: an unknown ApiKey, a name without namespace, no cluster to talk to.
  EXPECT_EQ(rotate({"bots/nope", "--kubeconfig", tmp_ / "kubeconfig"}), 1);
  EXPECT_NE(slurp(tmp_ / "rotate.log")
                .find("no ApiKey bots/nope; list them with kubectl get "
                      "apikeys -n bots"),
            std::string::npos)
      << slurp(tmp_ / "rotate.log");
  EXPECT_EQ(rotate({"gamma", "--kubeconfig", tmp_ / "kubeconfig"}), 2);
  EXPECT_NE(slurp(tmp_ / "rotate.log").find("NAMESPACE/NAME"), std::string::npos);
  EXPECT_EQ(rotate({"bots/gamma", "--kubeconfig", tmp_ / "no-such-kubeconfig"}), 1);
  EXPECT_NE(slurp(tmp_ / "rotate.log").find("cannot load the Kubernetes configuration"),
            std::string::npos)
      << slurp(tmp_ / "rotate.log");
  EXPECT_EQ(secret_version("gamma"), 2);

  const std::string printed = logs();
  for (const auto& s : secrets_) EXPECT_EQ(printed.find(s), std::string::npos) << "printed";
}

// The operator seals its key Secrets (--kek-dir): the Secret in the API holds envelopes only, the
// webhook renders direct-mode pods with --key-from-broker and no Secret volume, and the sidecars
// receive the key from the broker, also after a rotation, without the plaintext ever being in a
// Secret, a pod spec or a log.
class SealedKeyEndToEnd : public KeyVersionEndToEnd {
 protected:
  std::vector<std::string> extra_operator_args() override {
    std::filesystem::create_directories(tmp_ / "kek");
    EXPECT_TRUE(write(tmp_ / "kek/k1", keyward::base64_encode(std::string(32, 'k'))));
    return {"--kek-dir", tmp_ / "kek"};
  }
};

TEST_F(SealedKeyEndToEnd, DirectModeSidecarsGetTheSealedKeyFromTheBrokerAcrossARotation) {
  // A key pair: the key and its secret are one version, delivered as files switched together.
  ASSERT_NO_FATAL_FAILURE(apply_gamma("None", "{prefix: nt_, length: 40, secretLength: 32}"));
  auto sealed_field = [&](const char* field) {
    auto secret = api_->get("v1", "Secret", "bots", "keyward-gamma");
    if (!secret || !(*secret)["data"].contains(field)) return std::string();
    return *keyward::base64_decode((*secret)["data"][field].get<std::string>());
  };
  EXPECT_EQ(sealed_field("apiKey").rfind("kw1.k1.", 0), 0u) << "the key Secret is not sealed";
  // What the webhook rendered: the key comes from the broker; no Secret is mounted.
  for (const auto& [name, pod] : pods("gamma")) {
    const std::string spec = pod["spec"].dump();
    EXPECT_NE(spec.find("--key-from-broker"), std::string::npos) << spec;
    EXPECT_EQ(spec.find("keyward-gamma"), std::string::npos) << "a Secret volume: " << spec;
    EXPECT_EQ(spec.find("--key-dir"), std::string::npos) << spec;
  }
  // The sidecars as rendered, in direct mode with the key from the broker.
  start_sidecars("gamma", [](const std::string&) { return std::string(); },
                 {"--recheck-seconds", "1"});
  ASSERT_TRUE(eventually([&] { return all_pods_on(1, 2, "gamma"); })) << logs();
  // What each pod's apps see, read through one resolution of ..data as an app that opens the
  // files of one version does: "apiKey apiSecret".
  auto delivered = [&] {
    std::set<std::string> pairs;
    for (const auto& [name, _] : pods("gamma")) {
      const std::string dir = tmp_ / ("out-" + name);
      std::error_code ec;
      const auto data = std::filesystem::read_symlink(dir + "/..data", ec);
      if (ec) {
        pairs.insert("");
        continue;
      }
      const std::string version_dir = dir + "/" + data.string();
      pairs.insert(slurp(version_dir + "/apiKey") + " " + slurp(version_dir + "/apiSecret"));
    }
    return pairs;
  };
  std::set<std::string> first = delivered();
  ASSERT_EQ(first.size(), 1u) << "the pods got different keys";
  const std::string pair1 = *first.begin();
  const std::string key1 = pair1.substr(0, pair1.find(' '));
  const std::string secret1 = pair1.substr(pair1.find(' ') + 1);
  EXPECT_EQ(key1.rfind("nt_", 0), 0u) << key1;
  EXPECT_EQ(key1.size(), 43u) << key1;
  EXPECT_EQ(secret1.size(), 32u) << "no apiSecret delivered";
  for (const auto& [name, _] : pods("gamma")) {
    EXPECT_EQ(slurp(tmp_ / ("out-" + name) + "/token"), key1);
    EXPECT_NE(slurp(tmp_ / ("out-" + name) + "/token.env").find("_SECRET='" + secret1 + "'"),
              std::string::npos);
  }
  secrets_.push_back(key1);
  secrets_.push_back(secret1);

  // A rotation reaches the running sidecars within their recheck, with no restart.
  ASSERT_EQ(kubectl({"annotate", "apikey", "-n", "bots", "gamma", "keyward.dev/rotate=now-1"}), 0)
      << slurp(tmp_ / "kubectl.log");
  ASSERT_TRUE(eventually([&] { return secret_version("gamma") == 2; })) << logs();
  // Every pair an app sees on the way is whole: the first one or the second, never mixed.
  std::set<std::string> seen;
  ASSERT_TRUE(eventually([&] {
    const auto pairs = delivered();
    seen.insert(pairs.begin(), pairs.end());
    return pairs.size() == 1 && *pairs.begin() != pair1;
  })) << logs();
  const std::string pair2 = *delivered().begin();
  const std::string key2 = pair2.substr(0, pair2.find(' '));
  const std::string secret2 = pair2.substr(pair2.find(' ') + 1);
  EXPECT_NE(secret2, secret1) << "the secret was not rotated with the key";
  EXPECT_EQ(secret2.size(), 32u);
  for (const auto& pair : seen) {
    EXPECT_TRUE(pair == pair1 || pair == pair2 || pair.empty()) << "a mixed pair: " << pair;
  }
  secrets_.push_back(key2);
  secrets_.push_back(secret2);
  EXPECT_EQ(sealed_field("previousApiKey").rfind("kw1.k1.", 0), 0u);
  EXPECT_EQ(sealed_field("previousApiSecret").rfind("kw1.k1.", 0), 0u);

  // The plaintext is in no object of the API server and in nothing printed.
  std::string everything;
  for (const char* kind : {"Secret", "Pod", "Event"}) {
    for (const auto& o : api_->list("v1", kind, "bots")) everything += o.dump();
  }
  for (const auto& o : api_->list("keyward.dev/v1alpha1", "ApiKey", "bots")) everything += o.dump();
  for (const std::string& key : {key1, key2, secret1, secret2}) {
    EXPECT_EQ(everything.find(key), std::string::npos) << "a key in the API server's objects";
  }
  const std::string printed = logs();
  for (const auto& secret : secrets_) {
    EXPECT_EQ(printed.find(secret), std::string::npos) << "printed";
  }
}

// A service that accepts the keys ApiKey gamma issues (keyward.dev/accepts): the webhook gives
// its pod the accept sidecar, which keeps the SHA-256 digests of the valid key versions on a
// tmpfs. After a rotation both versions are listed; when every bot has moved the operator revokes
// the previous one, the broker's verify refuses it at once, and its digest leaves the files
// within the sidecar's recheck, in one swap. The keys themselves never reach the service's pod.
TEST_F(SealedKeyEndToEnd, AnAcceptingServiceSeesThePreviousDigestGoWhenItIsRevoked) {
  ASSERT_NO_FATAL_FAILURE(apply_gamma("RolloutRestart"));
  auto start_bots = [&] {
    start_sidecars("gamma", [](const std::string&) { return std::string(); },
                   {"--recheck-seconds", "1"});
  };
  start_bots();
  ASSERT_TRUE(eventually([&] { return all_pods_on(1, 2, "gamma"); })) << logs();
  const std::string key1 = slurp(tmp_ / ("out-" + pods("gamma").begin()->first) + "/token");
  ASSERT_EQ(key1.rfind("nt_", 0), 0u);
  secrets_.push_back(key1);

  // The accepting service, applied with kubectl; the webhook renders the accept sidecar.
  ASSERT_TRUE(write(tmp_ / "gateway.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: gateway-0
  namespace: bots
  labels: {app: gateway}
  annotations: {keyward.dev/accepts: gamma}
spec:
  serviceAccountName: gateway
  containers:
    - {name: gateway, image: "gateway:1"}
)"));
  ASSERT_EQ(kubectl_apply(tmp_ / "gateway.yaml"), 0) << slurp(tmp_ / "kubectl.log");
  auto gateway = api_->get("v1", "Pod", "bots", "gateway-0");
  ASSERT_TRUE(gateway);
  Json accept_container;
  for (const auto& c : (*gateway)["spec"].value("initContainers", Json::array())) {
    if (c.value("name", "") == "keyward-accept") accept_container = c;
  }
  ASSERT_TRUE(accept_container.is_object()) << gateway->dump();
  const std::string app_mounts = (*gateway)["spec"]["containers"][0]["volumeMounts"].dump();
  EXPECT_NE(app_mounts.find("/var/run/keyward/accepted-keys"), std::string::npos) << app_mounts;
  EXPECT_EQ(gateway->dump().find("keyward-gamma"), std::string::npos) << "a key Secret mounted";

  // The sidecar as rendered, its paths moved into the test's directory.
  const std::string token = "eyJhbGciOiJSUzI1NiJ9.sa-gateway-0.sig";
  auto identity = testing::TokenIdentity::bound_pod("bots", "gateway", "gateway-0",
                                                    (*gateway)["metadata"]["uid"]);
  identity.audiences = {"keyward.dev/broker"};
  api_->add_token(token, identity);
  secrets_.push_back(token);
  ASSERT_TRUE(write(tmp_ / "sa-gateway", token));
  const std::map<std::string, std::string> moved = {
      {"/var/run/keyward/accepted-keys", tmp_ / "accepted"},
      {"/var/run/keyward/broker-token/token", tmp_ / "sa-gateway"},
      {"0.0.0.0:9090", "off"}};
  std::vector<std::string> args = {KEYWARD_SIDECAR_BINARY};
  for (const auto& arg : accept_container["args"]) {
    const std::string a = arg.get<std::string>();
    args.push_back(moved.contains(a) ? moved.at(a) : a);
  }
  args.insert(args.end(), {"--ca-file", tmp_ / "ca.crt"});
  sidecars_["gateway-accept"] = std::make_unique<Process>(args, std::vector<std::string>{},
                                                          tmp_ / "sidecar-gateway-accept.log");
  ASSERT_TRUE(sidecars_["gateway-accept"]->started());

  // What the service reads: the digests of one swap (..data resolved once).
  auto digests = [&] {
    std::error_code ec;
    const auto data = std::filesystem::read_symlink(tmp_ / "accepted/..data", ec);
    if (ec) return std::string("none");
    return slurp(tmp_ / "accepted" + "/" + data.string() + "/gamma.sha256");
  };
  const std::string digest1 = *apikey::content_hash(key1);
  ASSERT_TRUE(eventually([&] { return digests() == digest1 + "\n"; }))
      << digests() << slurp(tmp_ / "sidecar-gateway-accept.log");
  EXPECT_EQ(slurp(tmp_ / "accepted/gamma.sha256").find(key1), std::string::npos);

  // The gateway's own verify call, with its pod's token.
  auto endpoint = HttpEndpoint::parse(broker_url_);
  ASSERT_TRUE(endpoint);
  TlsClientConfig tls;
  tls.ca_pem = slurp(tmp_ / "ca.crt");
  auto client = HttplibTransport::create(*endpoint, tls);
  ASSERT_TRUE(client) << client.error().message;
  auto verify = [&](const std::string& key) {
    HttpRequest req;
    req.method = "POST";
    req.path = "/v1/namespaces/bots/apikeys/gamma/verify";
    req.headers.emplace("Authorization", "Bearer " + token);
    req.content_type = "application/json";
    req.body = Json{{"key", key}}.dump();
    auto res = (*client)->send(req);
    if (!res) return Json{{"error", res.error().message}};
    Json body = Json::parse(res->body, nullptr, false);
    if (!body.is_object()) return Json{{"error", res->body}};
    if (res->status != 200) body["error"] = res->status;
    return body;
  };
  EXPECT_EQ(verify(key1).value("valid", false), true) << verify(key1).dump();

  // A rotation: both versions are valid while the bots move over (one rollout restart).
  ASSERT_EQ(kubectl({"annotate", "apikey", "-n", "bots", "gamma", "keyward.dev/rotate=now-1"}), 0)
      << slurp(tmp_ / "kubectl.log");
  ASSERT_TRUE(eventually([&] { return secret_version("gamma") == 2; })) << logs();
  auto secret = api_->get("v1", "Secret", "bots", "keyward-gamma");
  ASSERT_TRUE(secret && (*secret)["data"].contains("previousApiKey")) << "no grace period";
  ASSERT_TRUE(eventually([&] {
    const std::string now = digests();
    return now.size() == 2 * 65 && now.find(digest1) == 65;
  })) << digests();
  const std::string digest2 = digests().substr(0, 64);
  EXPECT_EQ(verify(key1).value("current", true), false) << "the previous key is still valid";

  // The bots' pods are replaced and start on version 2: the operator revokes version 1.
  ASSERT_TRUE(eventually([&] {
    for (auto it = sidecars_.begin(); it != sidecars_.end();) {
      const bool bot = it->first != "gateway-accept";
      it = bot && !pods("gamma").contains(it->first) ? sidecars_.erase(it) : std::next(it);
    }
    start_bots();
    auto now = api_->get("v1", "Secret", "bots", "keyward-gamma");
    return now && !(*now)["data"].contains("previousApiKey");
  })) << logs();
  // Refused at once by verify; gone from the files within the recheck (5 s), in one swap.
  EXPECT_EQ(verify(key1).value("reason", ""), "UnknownKey");
  EXPECT_EQ(verify(key1).value("valid", true), false);
  ASSERT_TRUE(eventually([&] { return digests() == digest2 + "\n"; })) << digests();
  const Json listed = Json::parse(slurp(tmp_ / "accepted/gamma.json"));
  EXPECT_EQ(listed["keyVersion"], 2);
  EXPECT_EQ(listed["digests"].size(), 1u);

  const std::string printed = logs();
  for (const auto& s : secrets_) EXPECT_EQ(printed.find(s), std::string::npos) << "printed";
}

}  // namespace
}  // namespace keyward::broker
