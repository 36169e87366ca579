// `keyward-operator inject`: multi-document manifests in, injected manifests out.

#include "operator/webhook/inject_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/core/yaml_json.h"
#include "tests/webhook/fixtures.h"

namespace keyward::webhook {
namespace {

using namespace keyward::webhook::testing;
using nlohmann::json;

const char* kManifests = R"(apiVersion: keyward.dev/v1alpha1
kind: ApiKey
metadata: {name: alpha, namespace: bots}
spec:
  displayName: Alpha
  source: {generate: {prefix: nt_, length: 40}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: bots}
data:
  flag: "true"   # a comment
  count: "3"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: alpha-bot, namespace: bots}
spec:
  selector: {matchLabels: {app: alpha-bot}}
  template:
    metadata:
      labels: {app: alpha-bot}
      annotations: {keyward.dev/inject: alpha}
    spec:
      containers: [{name: app, image: "bot:1"}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: bots}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "db:1"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: feed, namespace: bots}
spec:
  selector: {matchLabels: {app: feed}}
  template:
    metadata: {labels: {app: feed}, annotations: {keyward.dev/inject: alpha}}
    spec:
      containers: [{name: feed, image: "feed:1"}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: nightly, namespace: bots}
spec:
  template:
    metadata: {annotations: {keyward.dev/inject: alpha}}
    spec:
      restartPolicy: Never
      containers: [{name: report, image: "report:1"}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: hourly, namespace: bots}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {annotations: {keyward.dev/inject: alpha}}
        spec:
          restartPolicy: OnFailure
          containers: [{name: sweep, image: "sweep:1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: bots, annotations: {keyward.dev/inject: alpha}}
spec:
  containers: [{name: app, image: "bot:1"}]
)";

std::vector<json> parse_all(const std::string& text) {
  auto nodes = load_yaml_documents(text);
  EXPECT_TRUE(nodes);
  std::vector<json> out;
  for (const auto& n : *nodes) out.push_back(*yaml_to_json(n));
  return out;
}

InjectOptions options_for(ServerVersion v) {
  InjectOptions o;
  o.server_version = v;
  return o;
}

TEST(InjectCommand, InjectsEveryWorkloadKindAndPassesTheRestThrough) {
  auto out = inject_manifests(kManifests, {}, options_for({1, 30}));
  ASSERT_TRUE(out) << out.error().to_string();
  auto in_docs = parse_all(kManifests);
  auto docs = parse_all(*out);
  ASSERT_EQ(docs.size(), in_docs.size());
  EXPECT_EQ(docs[0], in_docs[0]) << "ApiKey unchanged";
  EXPECT_EQ(docs[1], in_docs[1]) << "ConfigMap unchanged";
  EXPECT_EQ(docs[1]["data"]["flag"], "true") << "quoted strings stay strings";
  EXPECT_EQ(docs[3], in_docs[3]) << "StatefulSet without the annotation unchanged";

  auto sidecar_of = [](const json& spec) {
    return find_container({{"spec", spec}}, "initContainers", "keyward-sidecar");
  };
  const json& deploy_tpl = docs[2]["spec"]["template"];
  EXPECT_FALSE(sidecar_of(deploy_tpl["spec"]).is_null());
  EXPECT_EQ(deploy_tpl["metadata"]["annotations"]["keyward.dev/injected"], "true");
  EXPECT_EQ(deploy_tpl["metadata"]["labels"]["keyward.dev/apikey"], "alpha");
  EXPECT_EQ(deploy_tpl["metadata"]["labels"]["app"], "alpha-bot");
  EXPECT_EQ(docs[2]["spec"]["selector"], in_docs[2]["spec"]["selector"])
      << "only the template changes";
  EXPECT_FALSE(sidecar_of(docs[4]["spec"]["template"]["spec"]).is_null()) << "DaemonSet";
  EXPECT_FALSE(sidecar_of(docs[5]["spec"]["template"]["spec"]).is_null()) << "Job";
  EXPECT_FALSE(sidecar_of(docs[6]["spec"]["jobTemplate"]["spec"]["template"]["spec"]).is_null())
      << "CronJob";
  EXPECT_EQ(docs[6]["spec"]["schedule"], "0 * * * *");
  EXPECT_FALSE(sidecar_of(docs[7]["spec"]).is_null()) << "Pod";
  EXPECT_EQ(docs[7]["kind"], "Pod");
  EXPECT_FALSE(docs[7]["metadata"]["annotations"].contains("keyward.dev/key-version"))
      << "no key version is baked into rendered manifests: the operator records what the "
         "sidecar delivers";
}

TEST(InjectCommand, OldServerJobsGetInitOnlyModeAndDeploymentsClassicSidecars) {
  auto out = inject_manifests(kManifests, {}, options_for({1, 27}));
  ASSERT_TRUE(out) << out.error().to_string();
  auto docs = parse_all(*out);
  const json job_spec = docs[5]["spec"]["template"]["spec"];
  json init = find_container({{"spec", job_spec}}, "initContainers", "keyward-sidecar");
  ASSERT_FALSE(init.is_null());
  EXPECT_TRUE(has_arg(init, "--once"));
  EXPECT_EQ(job_spec["containers"].size(), 1u);
  const json deploy_spec = docs[2]["spec"]["template"]["spec"];
  EXPECT_EQ(deploy_spec["containers"][0]["name"], "keyward-sidecar");
}

TEST(InjectCommand, InjectingTwiceChangesNothing) {
  auto once = inject_manifests(kManifests, {}, options_for({1, 30}));
  ASSERT_TRUE(once);
  auto twice = inject_manifests(*once, {}, options_for({1, 30}));
  ASSERT_TRUE(twice);
  EXPECT_EQ(parse_all(*once), parse_all(*twice));
}

TEST(InjectCommand, ApiKeysFromFilesAndNoBakedKeyVersion) {
  std::string only_deployment =
      std::string(kManifests).substr(std::string(kManifests).find("apiVersion: apps/v1"));
  auto missing = inject_manifests(only_deployment, {}, options_for({1, 30}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, "ApiKeyNotFound");
  EXPECT_NE(missing.error().message.find("document 1 (Deployment/alpha-bot)"), std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("--apikey-file"), std::string::npos);

  InjectOptions o = options_for({1, 30});
  json with_status = apikey("bots", "alpha");
  with_status["status"] = {{"keyVersion", 12}};
  auto found = inject_manifests(only_deployment, {with_status.dump()}, o);  // JSON is YAML
  ASSERT_TRUE(found) << found.error().to_string();
  auto docs = parse_all(*found);
  // Not even the ApiKey's status.keyVersion: a rendered pod would be stale forever after the
  // next rotation (and evicted every pass with Evict).
  EXPECT_FALSE(
      docs[0]["spec"]["template"]["metadata"]["annotations"].contains("keyward.dev/key-version"));
}

TEST(InjectCommand, RefusalsNameTheDocument) {
  std::string text = std::string(kManifests);
  text.replace(text.find("displayName: Alpha"), 18, "displayName: Alpha\n  active: false");
  auto out = inject_manifests(text, {}, options_for({1, 30}));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().reason, "ApiKeyInactive");
  EXPECT_NE(out.error().message.find("document 3 (Deployment/alpha-bot)"), std::string::npos)
      << out.error().message;

  auto bad = inject_manifests("a: [1\n", {}, options_for({1, 30}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason, "InvalidYaml");
}

TEST(InjectCommand, Arguments) {
  auto o =
      parse_inject_arguments({"-f", "x.yaml", "--server-version", "1.28", "--apikey-file", "k.yaml",
                              "--mode", "direct", "--sidecar-image", "img@sha256:ab"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->file, "x.yaml");
  EXPECT_EQ(o->server_version, (ServerVersion{1, 28}));
  EXPECT_EQ(o->apikey_files, std::vector<std::string>{"k.yaml"});
  EXPECT_EQ(o->defaults.mode, "direct");
  EXPECT_EQ(o->sidecar_image, "img@sha256:ab");
  EXPECT_FALSE(parse_inject_arguments({}));
  EXPECT_FALSE(parse_inject_arguments({"-f"}));
  auto gone = parse_inject_arguments({"-f", "x", "--key-version", "3"});
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message.find("--key-version is gone"), std::string::npos);
  EXPECT_FALSE(parse_inject_arguments({"-f", "x", "--mode", "sideways"}));
  auto unknown = parse_inject_arguments({"-f", "x", "--bogus"});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("--bogus"), std::string::npos);
}

TEST(InjectCommand, RunReadsTheFileAndPrintsYaml) {
  char tmpl[] = "/tmp/keyward-inject-XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream f(tmpl);
    f << kManifests;
  }
  std::vector<std::string> words = {"keyward-operator", "inject", "-f", tmpl,
                                    "--server-version", "1.30"};
  std::vector<char*> argv;
  argv.reserve(words.size());
  for (auto& w : words) argv.push_back(w.data());
  ::testing::internal::CaptureStdout();
  int rc = run_inject_command(static_cast<int>(argv.size()), argv.data());
  std::string printed = ::testing::internal::GetCapturedStdout();
  std::filesystem::remove(tmpl);
  EXPECT_EQ(rc, 0);
  auto docs = parse_all(printed);
  ASSERT_EQ(docs.size(), 8u);
  EXPECT_EQ(docs[2]["spec"]["template"]["metadata"]["annotations"]["keyward.dev/injected"], "true");

  std::vector<std::string> bad = {"keyward-operator", "inject", "-f", "/nonexistent/file.yaml"};
  std::vector<char*> bad_argv;
  bad_argv.reserve(bad.size());
  for (auto& w : bad) bad_argv.push_back(w.data());
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_inject_command(static_cast<int>(bad_argv.size()), bad_argv.data()), 1);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("/nonexistent/file.yaml"),
            std::string::npos);
}

}  // namespace
}  // namespace keyward::webhook
