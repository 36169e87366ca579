// kubectl-keyward, the desk's kubectl plugin, run for real (the keyward-operator binary under the
// plugin's name, and once through kubectl itself) against the stand-in API server: every verb,
// -o json|yaml, completion, and the bad input a desk will type.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>

#include "common/core/yaml_json.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/child_process.h"
#include "tests/support/wait_and_files.h"

namespace keyward::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string plugin_binary() {
  return (fs::path(KEYWARD_OPERATOR_BINARY).parent_path() / "kubectl-keyward").string();
}

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

struct PluginRun {
  int code = -1;
  std::string output;  // stdout and stderr
};

class KubectlPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("kubectl-keyward-" + std::to_string(rd()));
    fs::create_directories(dir_);
    FakeApiServerOptions options;
    options.crd_files = {std::string(KEYWARD_SOURCE_DIR) + "/crds/apikey.yaml"};
    server_ = std::make_unique<FakeApiServer>(options);
    ASSERT_TRUE(server_->start());
    ASSERT_TRUE(write((dir_ / "kubeconfig").string(), render_kubeconfig(server_->url(), "", "")));
    server_->apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bots"}}}});
    server_->apply(apikey());
    json user_keyed = apikey();
    user_keyed["metadata"]["name"] = "user-keyed";
    user_keyed["spec"]["source"] = {{"secretRef", {{"name", "desk-key"}}}};
    user_keyed.erase("status");
    server_->apply(user_keyed);
    server_->apply(pod("alpha-bot-1", "3", {}));
    server_->apply(pod("alpha-bot-2", "2",
                       {{"keyward.dev/hold", "open positions"},
                        {"keyward.dev/hold-since", format_rfc3339(held_since())}}));
    // Named by the inject annotation only (a pod the webhook has not labelled): a consumer too.
    json unlabelled = pod("alpha-bot-3", "2", {{"keyward.dev/inject", "alpha"}});
    unlabelled["metadata"].erase("labels");
    server_->apply(unlabelled);
    json web = pod("web", "", {});
    web["metadata"].erase("labels");
    server_->apply(web);
  }

  void TearDown() override {
    server_->stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Ten minutes ago: the hold (holdTimeoutSeconds 3600) protects the pod for 50 more minutes.
  static SystemTime held_since() {
    static const SystemTime t =
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) -
        std::chrono::minutes(10);
    return t;
  }
  static std::string hold_deadline() {
    return format_rfc3339(held_since() + std::chrono::hours(1));
  }

  // An ApiKey as the operator reports it: key version 3 rotated an hour ago, the next rotation in
  // a window that opens on New Year only, one pod held, the provider asking for a captcha.
  static json apikey() {
    return {{"apiVersion", "keyward.dev/v1alpha1"},
            {"kind", "ApiKey"},
            {"metadata", {{"name", "alpha"}, {"namespace", "bots"}}},
            {"spec",
             {{"displayName", "Alpha bot"},
              {"source", {{"generate", {{"prefix", "nt_"}}}}},
              {"rotation",
               {{"intervalSeconds", 86400},
                {"windows", json::array({{{"name", "new-year"},
                                          {"start", "0 0 1 1 *"},
                                          {"durationSeconds", 60},
                                          {"timeZone", "UTC"}}})}}},
              {"consumers", {{"restartStrategy", "Evict"}, {"holdTimeoutSeconds", 3600}}}}},
            {"status",
             {{"observedGeneration", 1},
              {"keyVersion", 3},
              {"keyHint", "nt_A…x9"},
              {"secretName", "keyward-alpha"},
              {"lastRotationTime", "2026-12-01T13:00:00Z"},
              {"nextRotationTime", "2027-01-01T00:00:00Z"},
              {"consumers", {{"upToDate", 1}, {"stale", 1}, {"held", 1}, {"pending", 0}}},
              {"conditions",
               json::array({condition("Ready", "True", "KeyAvailable", "key version 3"),
                            condition("Rotating", "True", "ConsumersHeld",
                                      "2 pod(s) on an older "
                                      "key version, 1 held"),
                            condition("Degraded", "False", "AsExpected", "nothing needs attention"),
                            condition("ProviderReady", "False", "CaptchaRequired",
                                      "the provider asks for a captcha; log in once by hand")})}}}};
  }
  static json condition(const char* type, const char* status, const char* reason,
                        const char* message) {
    return {{"type", type},
            {"status", status},
            {"reason", reason},
            {"message", message},
            {"lastTransitionTime", "2026-12-01T13:00:00Z"},
            {"observedGeneration", 1}};
  }
  static json pod(const std::string& name, const std::string& version, json annotations) {
    if (!version.empty()) annotations["keyward.dev/key-version"] = version;
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata",
             {{"name", name},
              {"namespace", "bots"},
              {"labels", {{"keyward.dev/apikey", "alpha"}}},
              {"annotations", annotations}}},
            {"spec", {{"containers", json::array({{{"name", "bot"}, {"image", "bot:1"}}})}}}};
  }

  PluginRun run_program(std::vector<std::string> argv, std::vector<std::string> env = {}) {
    if (env.empty()) env = {"KUBECONFIG=" + (dir_ / "kubeconfig").string(), "USER=desk"};
    env.push_back("HOME=" + dir_.string());
    const std::string log = (dir_ / "plugin.log").string();
    ChildProcess p(std::move(argv), env, log);
    EXPECT_TRUE(p.started());
    auto code = p.wait_exit(std::chrono::seconds(30));
    return {code ? *code : -1, slurp(log)};
  }
  PluginRun plugin(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), plugin_binary());
    return run_program(std::move(args), std::move(env));
  }
  json pod_annotations(const std::string& name) {
    auto p = server_->get("v1", "Pod", "bots", name);
    return p ? (*p)["metadata"].value("annotations", json::object()) : json();
  }

  fs::path dir_;
  std::unique_ptr<FakeApiServer> server_;
};

TEST_F(KubectlPluginTest, StatusShowsKeyScheduleWindowConsumersAndProvider) {
  auto r = plugin({"status", "alpha", "-n", "bots"});
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string since = format_rfc3339(held_since());
  for (const std::string& want :
       {std::string("ApiKey bots/alpha (demo)"),
        std::string("version 3, hint nt_A…x9, Secret keyward-alpha"), std::string("every 86400 s"),
        std::string("2027-01-01T00:00:00Z"), std::string("closed; next opens 2027-01-01T00:00:00Z"),
        std::string("1 up to date, 1 stale, 1 held, 0 pending (the operator's count)"),
        "alpha-bot-2  key version 2  held  hold \"open positions\" since " + since,
        "protected until " + hold_deadline(),
        std::string("NOT READY (CaptchaRequired): the provider asks for a captcha")}) {
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  }
  EXPECT_EQ(r.output.find("web"), std::string::npos) << "a pod that is not a consumer is listed";

  auto j = plugin({"status", "alpha", "-n", "bots", "-o", "json"});
  ASSERT_EQ(j.code, 0) << j.output;
  json report = json::parse(j.output);
  EXPECT_EQ(report["keyVersion"], 3);
  EXPECT_EQ(report["consumers"]["held"], 1);
  EXPECT_EQ(report["consumers"]["stale"], 1);
  EXPECT_EQ(report["pods"][1]["hold"]["reason"], "open positions");
  EXPECT_EQ(report["provider"]["reason"], "CaptchaRequired");
  EXPECT_EQ(report["window"]["nextOpen"], "2027-01-01T00:00:00Z");

  auto y = plugin({"status", "alpha", "--namespace=bots", "--output", "yaml"});
  ASSERT_EQ(y.code, 0) << y.output;
  auto docs = load_yaml_documents(y.output);
  ASSERT_TRUE(docs && docs->size() == 1) << y.output;
  EXPECT_EQ((*yaml_to_json((*docs)[0]))["keyVersion"], 3) << y.output;
}

TEST_F(KubectlPluginTest, ExplainGivesOneSentencePerCause) {
  auto r = plugin({"explain", "alpha", "-n", "bots"});
  ASSERT_EQ(r.code, 0) << r.output;
  for (const std::string& want :
       {std::string("- The next rotation is due 2027-01-01T00:00:00Z"),
        std::string("- Rotations and restarts wait for a maintenance window; the next opens "
                    "2027-01-01T00:00:00Z"),
        "- Pod alpha-bot-2 holds key version 2 (\"open positions\" since " +
            format_rfc3339(held_since()) +
            "): it is not restarted until it is released (kubectl keyward release alpha-bot-2 "
            "-n bots) or, at the latest, at " +
            hold_deadline() + ".",
        std::string("- 1 pod(s) run an older key version and are being evicted, at most 1 at a "
                    "time"),
        std::string("- The provider session is not ready (CaptchaRequired)")}) {
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  }
  auto j = plugin({"explain", "alpha", "-n", "bots", "-o", "json"});
  ASSERT_EQ(j.code, 0) << j.output;
  EXPECT_EQ(json::parse(j.output)["causes"].size(), 5u) << j.output;
}

TEST_F(KubectlPluginTest, RotateHoldAndReleaseWriteTheAnnotationsTheOperatorReads) {
  auto r = plugin({"rotate", "alpha", "-n", "bots", "--requested-by", "alice@desk"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("rotation of ApiKey bots/alpha requested"), std::string::npos)
      << r.output;
  auto key = server_->get("keyward.dev/v1alpha1", "ApiKey", "bots", "alpha");
  ASSERT_TRUE(key);
  const json annotations = (*key)["metadata"]["annotations"];
  EXPECT_FALSE(annotations.value("keyward.dev/rotate", "").empty());
  EXPECT_EQ(annotations.value("keyward.dev/rotate-requested-by", ""), "alice@desk");

  auto hold = plugin({"hold", "alpha-bot-3", "-n", "bots", "--reason", "flat by 16:00"});
  ASSERT_EQ(hold.code, 0) << hold.output;
  EXPECT_EQ(pod_annotations("alpha-bot-3").value("keyward.dev/hold", ""), "flat by 16:00");

  auto release = plugin({"release", "alpha-bot-2", "-n", "bots", "-o", "json"});
  ASSERT_EQ(release.code, 0) << release.output;
  EXPECT_EQ(json::parse(release.output)["previousHold"], "open positions");
  EXPECT_FALSE(pod_annotations("alpha-bot-2").contains("keyward.dev/hold"));
  EXPECT_TRUE(pod_annotations("alpha-bot-2").contains("keyward.dev/hold-since"))
      << "hold-since is the operator's to remove";
  auto again = plugin({"release", "alpha-bot-2", "-n", "bots"});
  EXPECT_EQ(again.code, 0);
  EXPECT_NE(again.output.find("held nothing"), std::string::npos) << again.output;
}

TEST_F(KubectlPluginTest, BadInputGetsAClearErrorAndExitCode) {
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"status", "nope", "-n", "bots"},
       1,
       "no ApiKey bots/nope; list them with kubectl get apikeys"},
      {{"hold", "web", "-n", "bots", "--reason", "x"}, 1, "is not a Keyward consumer"},
      {{"hold", "ghost", "-n", "bots", "--reason", "x"}, 1, "no pod bots/ghost"},
      {{"hold", "alpha-bot-1", "-n", "bots"}, 2, "hold needs --reason"},
      {{"status", "-n", "bots"}, 2, "status takes one NAME"},
      {{"status", "alpha", "-o", "xml"}, 2, "--output xml is not one of text, json, yaml"},
      {{"frobnicate"}, 2, "unknown verb frobnicate"},
      {{"status", "alpha", "--bogus"}, 2, "unknown flag --bogus"},
      {{"status", "alpha", "--end-grace"}, 2, "--end-grace and --requested-by belong to rotate"},
      {{"rotate", "alpha", "-n", "bots", "--reason", "x"}, 2, "--reason belongs to hold"},
      {{"rotate", "user-keyed", "-n", "bots"}, 1, "which Keyward does not issue"},
      {{}, 2, "usage: kubectl keyward VERB"},
  };
  for (const auto& c : cases) {
    auto r = plugin(c.args);
    EXPECT_EQ(r.code, c.code) << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << c.says << "\n" << r.output;
  }
  // No kubeconfig at all (nothing in KUBECONFIG, none in HOME, not in a pod).
  auto none = plugin({"status", "alpha"}, {"KUBECONFIG=" + (dir_ / "missing").string()});
  EXPECT_EQ(none.code, 1) << none.output;
  EXPECT_NE(none.output.find("cannot load the Kubernetes configuration"), std::string::npos)
      << none.output;
  EXPECT_NE(none.output.find("point --kubeconfig or KUBECONFIG at a kubeconfig"), std::string::npos)
      << none.output;
  EXPECT_EQ(
      plugin({"status", "alpha", "-n", "bots", "--kubeconfig", (dir_ / "missing").string()}).code,
      1);
  // An empty reason is refused before any cluster is asked.
  EXPECT_EQ(plugin({"hold", "alpha-bot-1", "--reason", ""}, {"KUBECONFIG=/nonexistent"}).code, 2);
  auto version = plugin({"-o", "json", "version"});
  EXPECT_EQ(version.code, 0) << version.output;
  EXPECT_TRUE(json::parse(version.output, nullptr, false).contains("version")) << version.output;
}

TEST_F(KubectlPluginTest, CompletionNamesVerbsApiKeysAndConsumerPods) {
  auto verbs = plugin({"__complete", ""});
  EXPECT_NE(verbs.output.find("status\nexplain\nrotate\nhold\nrelease\n"), std::string::npos)
      << verbs.output;
  auto keys = plugin({"__complete", "status", ""});
  EXPECT_EQ(keys.output, ":4\n") << "the context's namespace is default: no ApiKey there";
  keys = plugin({"__complete", "-n", "bots", "status", ""});
  EXPECT_EQ(keys.output, "alpha\nuser-keyed\n:4\n");
  // What kubectl itself calls: kubectl_complete-keyward.
  auto pods = run_program(
      {(fs::path(KEYWARD_OPERATOR_BINARY).parent_path() / "kubectl_complete-keyward").string(),
       "hold", "-n", "bots", ""});
  EXPECT_EQ(pods.output, "alpha-bot-1\nalpha-bot-2\nalpha-bot-3\n:4\n") << pods.output;
  auto namespaces = plugin({"__complete", "status", "-n", ""});
  EXPECT_NE(namespaces.output.find("bots\n"), std::string::npos) << namespaces.output;
  EXPECT_EQ(plugin({"__complete", "inject", "-f", ""}).output, ":0\n") << "files for inject";
  auto script = plugin({"completion", "bash"});
  ASSERT_EQ(script.code, 0);
  EXPECT_NE(script.output.find("complete -F _kubectl_keyward kubectl-keyward"), std::string::npos);
  EXPECT_EQ(plugin({"completion", "fish"}).code, 2);
}

TEST_F(KubectlPluginTest, KubectlFindsThePluginOnPathAndInjectWorksOffline) {
  const std::string kubectl = find_on_path("kubectl");
  ASSERT_FALSE(kubectl.empty()) << "kubectl is not on PATH; scripts/setup.sh installs it";
  const std::string path = fs::path(plugin_binary()).parent_path().string() + ":" +
                           fs::path(kubectl).parent_path().string();
  auto r = run_program({kubectl, "keyward", "status", "alpha", "-n", "bots"},
                       {"PATH=" + path, "KUBECONFIG=" + (dir_ / "kubeconfig").string()});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("ApiKey bots/alpha"), std::string::npos) << r.output;

  // Offline: the ApiKey travels in the same file as the pod that names it.
  json key = apikey();
  key.erase("status");
  ASSERT_TRUE(write((dir_ / "bot.yaml").string(),
                    json_to_yaml(key) + "\n---\n" +
                        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bot\n  namespace: bots\n"
                        "  annotations: {keyward.dev/inject: alpha}\nspec:\n  containers:\n"
                        "    - {name: bot, image: \"bot:1\"}\n"));
  auto injected = plugin({"inject", "-f", (dir_ / "bot.yaml").string(), "--broker-url",
                          "https://keyward.keyward-system.svc:8444"});
  ASSERT_EQ(injected.code, 0) << injected.output;
  EXPECT_NE(injected.output.find("keyward-sidecar"), std::string::npos) << injected.output;
}

}  // namespace
}  // namespace keyward::testing
