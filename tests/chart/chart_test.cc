// The Helm chart: lint, render with several value sets, parse every document and check what
// matters (TLS consistency, RBAC without wildcards, non-root containers with resources, the CRD
// equal to its single source, a strict schema).

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>

#include "common/core/base64.h"
#include "common/core/openssl_ptr.h"
#include "common/core/yaml_json.h"
#include "operator/webhook/webhook.h"
#include "tests/chart/chart_render.h"
#include "tests/chart/helm_runner.h"
#include "tests/fake_apiserver/fake_apiserver.h"

namespace keyward::chart_testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using openssl::X509Ptr;

X509Ptr parse_cert(const std::string& pem) {
  openssl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

openssl::PkeyPtr parse_key(const std::string& pem) {
  openssl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return openssl::PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

void for_each_pod_spec(const Rendered& r,
                       const std::function<void(const std::string&, const json&)>& fn) {
  for (const auto& d : r.docs) {
    const std::string kind = d.value("kind", "");
    const std::string name = d["metadata"].value("name", "");
    if (kind == "Pod") fn("Pod/" + name, d["spec"]);
    if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "Job") {
      fn(kind + "/" + name, d["spec"]["template"]["spec"]);
    }
  }
}

class ChartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (find_helm().empty()) {
      FAIL()
          << "helm not found: run scripts/setup.sh (installs .tools/bin/helm) or put helm on PATH";
    }
  }
};

using ValueSets = std::vector<std::pair<std::string, std::vector<std::string>>>;

// A function-local static: built on first use, not during static initialisation.
const ValueSets& value_sets() {
  static const ValueSets kValueSets = {
      {"defaults", {}},
      {"cert-manager", {"webhook.tls.mode=certManager"}},
      {"cert-manager with issuer",
       {"webhook.tls.mode=certManager", "webhook.tls.certManager.issuerRef.name=corp-ca",
        "webhook.tls.certManager.issuerRef.kind=ClusterIssuer"}},
      {"custom images",
       {"image.operator.repository=registry.example/kw/operator", "image.operator.tag=9.9.9",
        "image.sidecar.repository=registry.example/kw/sidecar",
        "image.sidecar.digest=sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
      {"restricted namespace", {"watchNamespace=bots", "webhook.failurePolicy=Ignore"}},
  };
  return kValueSets;
}

TEST_F(ChartTest, LintStrictPassesForEveryValueSet) {
  for (const auto& [name, sets] : value_sets()) {
    SCOPED_TRACE(name);
    auto r =
        run_helm(with_sets({"lint", "--strict", chart_dir(), "--namespace", kNamespace}, sets));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
}

TEST_F(ChartTest, EveryDocumentParsesAndNamesFit63Characters) {
  const std::string longest_release(53, 'x');  // Helm's limit for release names
  auto sets = value_sets();
  sets.push_back({"long release", {}});
  sets.push_back({"long override", {"fullnameOverride=" + std::string(63, 'k')}});
  for (const auto& [name, values] : sets) {
    SCOPED_TRACE(name);
    Rendered r = render(values, name == "long release" ? longest_release : "rel");
    ASSERT_GT(r.docs.size(), 8u);
    for (const auto& d : r.docs) {
      ASSERT_TRUE(d.contains("apiVersion") && d.contains("kind") && d.contains("metadata"))
          << d.dump();
      const std::string n = d["metadata"].value("name", "");
      EXPECT_FALSE(n.empty());
      EXPECT_LE(n.size(), 63u) << d["kind"] << " " << n;
      EXPECT_TRUE(std::regex_match(n, std::regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"))) << n;
      if (d["metadata"].contains("labels")) {
        for (const auto& [k, v] : d["metadata"]["labels"].items()) {
          EXPECT_TRUE(v.is_string()) << k;
          if (v.is_string()) {
            EXPECT_LE(v.get<std::string>().size(), 63u) << k;
          }
        }
      }
    }
  }
}

TEST_F(ChartTest, HelmModeCaBundleMatchesTheGeneratedCertificate) {
  Rendered r = render();
  json secret;
  for (const auto& s : r.of_kind("Secret")) {
    if (s.value("type", "") == "kubernetes.io/tls") secret = s;
  }
  ASSERT_FALSE(secret.is_null());
  const std::string ca_pem =
      base64_decode(secret["data"]["ca.crt"].get<std::string>()).value_or("");
  const std::string crt_pem =
      base64_decode(secret["data"]["tls.crt"].get<std::string>()).value_or("");
  const std::string key_pem =
      base64_decode(secret["data"]["tls.key"].get<std::string>()).value_or("");
  auto ca = parse_cert(ca_pem);
  auto crt = parse_cert(crt_pem);
  auto key = parse_key(key_pem);
  ASSERT_TRUE(ca && crt && key);
  // The serving certificate is signed by the CA and matches its key.
  openssl::PkeyPtr ca_pub(X509_get_pubkey(ca.get()));
  EXPECT_EQ(X509_verify(crt.get(), ca_pub.get()), 1);
  EXPECT_EQ(X509_check_private_key(crt.get(), key.get()), 1);
  // It names the webhook Service.
  json service = r.one("Service");
  const std::string svc = service["metadata"]["name"];
  const std::string host = svc + "." + kNamespace + ".svc";
  EXPECT_EQ(X509_check_host(crt.get(), host.c_str(), host.size(), 0, nullptr), 1) << host;

  // Both webhook configurations carry exactly that CA and call that Service.
  for (const char* kind : {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}) {
    SCOPED_TRACE(kind);
    json cfg = r.one(kind);
    ASSERT_EQ(cfg["webhooks"].size(), 1u);
    const json& wh = cfg["webhooks"][0];
    auto bundle =
        parse_cert(base64_decode(wh["clientConfig"]["caBundle"].get<std::string>()).value_or(""));
    ASSERT_TRUE(bundle);
    EXPECT_EQ(X509_cmp(bundle.get(), ca.get()), 0) << "caBundle must be the CA that signed tls.crt";
    EXPECT_EQ(wh["clientConfig"]["service"]["name"], svc);
    EXPECT_EQ(wh["clientConfig"]["service"]["namespace"], kNamespace);
    EXPECT_EQ(wh["admissionReviewVersions"], json::array({"v1"}));
    EXPECT_EQ(wh["sideEffects"], "None");
    EXPECT_EQ(wh["failurePolicy"], "Fail");
  }
  EXPECT_EQ(r.one("MutatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["service"]["path"],
            "/mutate-pods");
  EXPECT_EQ(
      r.one("ValidatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["service"]["path"],
      "/validate-apikeys");
  // The operator mounts that Secret.
  json deploy = r.one("Deployment");
  bool mounted = false;
  for (const auto& v : deploy["spec"]["template"]["spec"]["volumes"]) {
    if (v.contains("secret") && v["secret"]["secretName"] == secret["metadata"]["name"])
      mounted = true;
  }
  EXPECT_TRUE(mounted);
}

TEST_F(ChartTest, CertManagerModeUsesCainjectorAndTheCertificateSecret) {
  Rendered r = render({"webhook.tls.mode=certManager"});
  json cert = r.one("Certificate");
  json issuer = r.one("Issuer");
  EXPECT_TRUE(issuer["spec"].contains("selfSigned"));
  EXPECT_EQ(cert["spec"]["issuerRef"]["name"], issuer["metadata"]["name"]);
  for (const auto& s : r.of_kind("Secret"))
    EXPECT_NE(s.value("type", ""), "kubernetes.io/tls") << "no Helm-made TLS";
  const std::string inject_from =
      std::string(kNamespace) + "/" + cert["metadata"]["name"].get<std::string>();
  for (const char* kind : {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}) {
    json cfg = r.one(kind);
    EXPECT_EQ(cfg["metadata"]["annotations"]["cert-manager.io/inject-ca-from"], inject_from);
    EXPECT_FALSE(cfg["webhooks"][0]["clientConfig"].contains("caBundle"));
  }
  json deploy = r.one("Deployment");
  bool mounted = false;
  for (const auto& v : deploy["spec"]["template"]["spec"]["volumes"]) {
    if (v.contains("secret") && v["secret"]["secretName"] == cert["spec"]["secretName"])
      mounted = true;
  }
  EXPECT_TRUE(mounted);
  const std::string svc = r.one("Service")["metadata"]["name"];
  EXPECT_NE(std::find(cert["spec"]["dnsNames"].begin(), cert["spec"]["dnsNames"].end(),
                      svc + "." + kNamespace + ".svc"),
            cert["spec"]["dnsNames"].end());

  Rendered corp =
      render({"webhook.tls.mode=certManager", "webhook.tls.certManager.issuerRef.name=corp-ca",
              "webhook.tls.certManager.issuerRef.kind=ClusterIssuer"});
  EXPECT_TRUE(corp.of_kind("Issuer").empty());
  EXPECT_EQ(corp.one("Certificate")["spec"]["issuerRef"]["kind"], "ClusterIssuer");
}

TEST_F(ChartTest, RbacHasNoWildcardsAndRestrictedModeUsesRoles) {
  for (const auto& [name, sets] : value_sets()) {
    SCOPED_TRACE(name);
    Rendered r = render(sets);
    for (const char* kind : {"ClusterRole", "Role"}) {
      for (const auto& role : r.of_kind(kind)) {
        for (const auto& rule : role["rules"]) {
          for (const char* field :
               {"verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs"}) {
            if (!rule.contains(field)) continue;
            for (const auto& v : rule[field])
              EXPECT_EQ(v.get<std::string>().find('*'), std::string::npos) << rule.dump();
          }
          for (const auto& v : rule["verbs"]) {
            EXPECT_NE(v, "escalate");
            EXPECT_NE(v, "bind");
            EXPECT_NE(v, "impersonate");
          }
        }
      }
    }
  }
  // The rules file justifies every rule with a comment.
  std::ifstream rbac(source_dir() / "charts/keyward/templates/rbac.yaml");
  std::string line, previous;
  while (std::getline(rbac, line)) {
    if (line.find("- apiGroups:") != std::string::npos) {
      EXPECT_NE(previous.find('#'), std::string::npos)
          << "rule without a justifying comment: " << line;
    }
    previous = line;
  }

  Rendered restricted = render({"watchNamespace=bots"});
  // The cluster-wide grants left, both for cluster-scoped resources no Role can grant:
  // TokenReview for the broker and reading a pod's Namespace (live or demo), nothing else.
  for (const auto& role : restricted.of_kind("ClusterRole")) {
    ASSERT_EQ(role["rules"].size(), 2u) << role.dump();
    EXPECT_EQ(role["rules"][0]["resources"], json::array({"tokenreviews"}));
    EXPECT_EQ(role["rules"][0]["verbs"], json::array({"create"}));
    EXPECT_EQ(role["rules"][1]["resources"], json::array({"namespaces"}));
    EXPECT_EQ(role["rules"][1]["verbs"], json::array({"get", "list", "watch"}));
  }
  // Direct mode runs the broker too (direct-mode sidecars report their key version to it), so
  // the same single TokenReview grant, and nothing more.
  for (const auto& role :
       render({"watchNamespace=bots", "injection.mode=direct"}).of_kind("ClusterRole")) {
    ASSERT_EQ(role["rules"].size(), 2u) << role.dump();
    EXPECT_EQ(role["rules"][0]["resources"], json::array({"tokenreviews"}));
  }
  bool role_in_bots = false;
  for (const auto& role : restricted.of_kind("Role"))
    role_in_bots |= role["metadata"]["namespace"] == "bots";
  EXPECT_TRUE(role_in_bots);
  json ns_sel = restricted.one("MutatingWebhookConfiguration")["webhooks"][0]["namespaceSelector"];
  bool in_bots = false;
  for (const auto& e : ns_sel["matchExpressions"]) {
    if (e["operator"] == "In") in_bots = e["values"] == json::array({"bots"});
  }
  EXPECT_TRUE(in_bots) << ns_sel.dump();
  bool has_arg = false;
  const json restricted_args =
      restricted.one("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"];
  for (const auto& a : restricted_args) {
    has_arg |= a == "--namespace=bots";
  }
  EXPECT_TRUE(has_arg);
}

TEST_F(ChartTest, WebhookSelectorsExcludeSystemAndOwnNamespaces) {
  Rendered r = render({"webhook.failurePolicy=Ignore"});
  const json wh = r.one("MutatingWebhookConfiguration")["webhooks"][0];
  EXPECT_EQ(wh["failurePolicy"], "Ignore");
  json not_in = wh["namespaceSelector"]["matchExpressions"][0];
  EXPECT_EQ(not_in["key"], "kubernetes.io/metadata.name");
  EXPECT_EQ(not_in["operator"], "NotIn");
  for (const char* ns : {"kube-system", "keyward-system"}) {
    EXPECT_NE(std::find(not_in["values"].begin(), not_in["values"].end(), ns),
              not_in["values"].end())
        << ns;
  }
  EXPECT_EQ(wh["objectSelector"]["matchExpressions"][0]["operator"], "NotIn");
  EXPECT_EQ(wh["rules"][0]["resources"], json::array({"pods"}));
  EXPECT_EQ(wh["rules"][0]["operations"], json::array({"CREATE"}));
}

TEST_F(ChartTest, EveryContainerIsNonRootWithResources) {
  for (const auto& [name, sets] : value_sets()) {
    SCOPED_TRACE(name);
    Rendered r = render(sets);
    int containers = 0;
    for_each_pod_spec(r, [&](const std::string& owner, const json& spec) {
      const bool pod_non_root =
          spec.contains("securityContext") && spec["securityContext"].value("runAsNonRoot", false);
      for (const char* list : {"initContainers", "containers"}) {
        if (!spec.contains(list)) continue;
        for (const auto& c : spec[list]) {
          ++containers;
          SCOPED_TRACE(owner + " " + c.value("name", ""));
          const json sc = c.value("securityContext", json::object());
          EXPECT_TRUE(pod_non_root || sc.value("runAsNonRoot", false));
          EXPECT_EQ(sc.value("allowPrivilegeEscalation", true), false);
          EXPECT_EQ(sc.value("readOnlyRootFilesystem", false), true);
          EXPECT_EQ(sc["capabilities"]["drop"], json::array({"ALL"}));
          ASSERT_TRUE(c.contains("resources"));
          EXPECT_TRUE(c["resources"].contains("requests"));
          EXPECT_TRUE(c["resources"].contains("limits"));
        }
      }
    });
    EXPECT_GE(containers, 2) << "operator and helm test pod";
  }
}

TEST_F(ChartTest, OperatorDeploymentPdbAndHelmTest) {
  Rendered r = render();
  json deploy = r.one("Deployment");
  EXPECT_EQ(deploy["spec"]["replicas"], 2);
  const json& c = deploy["spec"]["template"]["spec"]["containers"][0];
  std::set<std::string> args;
  for (const auto& a : c["args"]) args.insert(a.get<std::string>());
  EXPECT_TRUE(args.count("--leader-elect=true"));
  EXPECT_TRUE(args.count("--lease-namespace=keyward-system"));
  EXPECT_TRUE(args.count("--webhook-config=/etc/keyward/webhook.yaml"));
  EXPECT_TRUE(c.contains("livenessProbe"));
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["scheme"], "HTTPS");
  EXPECT_EQ(r.one("PodDisruptionBudget")["spec"]["minAvailable"], 1);
  json sa = r.one("ServiceAccount");
  EXPECT_EQ(deploy["spec"]["template"]["spec"]["serviceAccountName"], sa["metadata"]["name"]);
  json test_pod = r.one("Pod");
  EXPECT_EQ(test_pod["metadata"]["annotations"]["helm.sh/hook"], "test");

  Rendered single = render({"replicaCount=1", "leaderElection.enabled=false"});
  const json single_args =
      single.one("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"];
  EXPECT_NE(std::find(single_args.begin(), single_args.end(), "--leader-elect=false"),
            single_args.end());
  EXPECT_TRUE(single.of_kind("PodDisruptionBudget").empty())
      << "a PDB with one replica would block node drains";
}

TEST_F(ChartTest, ImageValuesReachOperatorAndInjectedSidecar) {
  Rendered defaults = render();
  EXPECT_EQ(defaults.one("Deployment")["spec"]["template"]["spec"]["containers"][0]["image"],
            "ghcr.io/keyward/keyward-operator:0.1.0");
  const std::string digest =
      "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  Rendered custom = render(
      {"image.operator.repository=registry.example/kw/operator", "image.operator.tag=9.9.9",
       "image.sidecar.repository=registry.example/kw/sidecar", "image.sidecar.digest=" + digest});
  EXPECT_EQ(custom.one("Deployment")["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.example/kw/operator:9.9.9");
  auto cfg_docs =
      load_yaml_documents(custom.one("ConfigMap")["data"]["webhook.yaml"].get<std::string>());
  ASSERT_TRUE(cfg_docs);
  json cfg = *yaml_to_json((*cfg_docs)[0]);
  EXPECT_EQ(cfg["sidecarImage"], "registry.example/kw/sidecar@" + digest);
  EXPECT_EQ(cfg["mode"], "broker") << "the operator's token broker is the default";
  EXPECT_EQ(cfg["brokerUrl"], "https://rel-keyward-webhook.keyward-system.svc:8444");
  EXPECT_EQ(cfg["brokerCaFile"], "/var/run/keyward/webhook-tls/ca.crt");

  // keyward-operator reads exactly this ConfigMap: the chart and the code agree on its keys.
  auto settings = webhook::parse_webhook_settings(
      custom.one("ConfigMap")["data"]["webhook.yaml"].get<std::string>());
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->injection.sidecar_image, "registry.example/kw/sidecar@" + digest);
  EXPECT_EQ(settings->server.port, 8443);
  EXPECT_EQ(settings->injection.defaults.resources["limits"]["memory"], "64Mi");
  // ...and the TLS files it names are where the Deployment mounts the Secret.
  const json deploy = custom.one("Deployment");
  bool mounted = false;
  for (const auto& m : deploy["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]) {
    if (m["name"] == "webhook-tls")
      mounted = settings->cert_file == m["mountPath"].get<std::string>() + "/tls.crt";
  }
  EXPECT_TRUE(mounted);

  // Broker mode: the operator listens for the broker on the port the Service routes to, with
  // the webhook's certificate, and may create TokenReviews; direct mode renders none of it.
  const auto& container = deploy["spec"]["template"]["spec"]["containers"][0];
  bool listens = false;
  for (const auto& a : container["args"]) listens = listens || a == "--broker-listen=0.0.0.0:8444";
  EXPECT_TRUE(listens) << container["args"].dump();
  bool routed = false;
  const json service = custom.one("Service");
  for (const auto& p : service["spec"]["ports"])
    routed = routed || (p["port"] == 8444 && p["targetPort"] == "broker");
  EXPECT_TRUE(routed);
  bool reviews = false;
  for (const auto& doc : custom.docs) {
    if (doc.value("kind", "") != "ClusterRole") continue;
    for (const auto& rule : doc["rules"])
      reviews = reviews || (rule["resources"][0] == "tokenreviews" && rule["verbs"][0] == "create");
  }
  EXPECT_TRUE(reviews);
  // Direct mode still runs the broker: direct-mode sidecars report their key version to it.
  Rendered direct = render({"injection.mode=direct"});
  EXPECT_NE(direct.one("Deployment").dump().find("--broker-listen"), std::string::npos);
}

TEST_F(ChartTest, CrdTemplateIsIdenticalToTheSingleSource) {
  std::ifstream in(source_dir() / "crds" / "apikey.yaml");
  ASSERT_TRUE(in) << "crds/apikey.yaml missing";
  std::stringstream text;
  text << in.rdbuf();
  auto src_docs = load_yaml_documents(text.str());
  ASSERT_TRUE(src_docs);
  json source = *yaml_to_json((*src_docs)[0]);

  Rendered r = render();
  json crd = r.one("CustomResourceDefinition");
  EXPECT_EQ(crd["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");
  EXPECT_EQ(crd["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm");
  // Everything but the labels and annotations the chart adds is the source, value for value.
  json stripped = crd;
  json original = source;
  for (json* j : {&stripped, &original}) {
    j->at("metadata").erase("labels");
    j->at("metadata").erase("annotations");
  }
  // Helm's fromYaml reads numbers as floats: compare numerically.
  EXPECT_EQ(json::parse(stripped.dump()), json::parse(original.dump()))
      << json::diff(original, stripped).dump(2);
  if (source["metadata"].contains("labels")) {
    for (const auto& [k, v] : source["metadata"]["labels"].items())
      EXPECT_EQ(crd["metadata"]["labels"][k], v) << k;
  }

  // The chart carries a copy (Helm warns about symlinks on every render): byte for byte the
  // source, so it cannot drift.
  fs::path copy = source_dir() / "charts/keyward/files/crds/apikey.yaml";
  ASSERT_FALSE(fs::is_symlink(copy)) << "Helm prints 'found symbolic link in path' for a symlink";
  std::ifstream copy_in(copy);
  std::stringstream copy_text;
  copy_text << copy_in.rdbuf();
  EXPECT_EQ(copy_text.str(), text.str())
      << "charts/keyward/files/crds/apikey.yaml differs from crds/apikey.yaml: run "
         "scripts/sync-chart-crds.sh";

  Rendered no_keep = render({"crds.keep=false"});
  EXPECT_FALSE(no_keep.one("CustomResourceDefinition")["metadata"]
                   .value("annotations", json::object())
                   .contains("helm.sh/resource-policy"));
  EXPECT_TRUE(render({"crds.enabled=false"}).of_kind("CustomResourceDefinition").empty());
}

// The rendered chart installs on the stand-in, which refuses what a real API server refuses
// (the CRD's structural schema, its defaults and their CEL rules). The real kubectl applies
// `helm template`'s output; `helm install` itself needs server-side apply and protobuf, which
// the stand-in does not speak (tests/fake_apiserver/README.md).
TEST_F(ChartTest, TheRenderedChartInstallsOnTheStandIn) {
  const std::string kubectl = [] {
    std::stringstream dirs(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (::access((dir + "/kubectl").c_str(), X_OK) == 0) return dir + "/kubectl";
    }
    return std::string();
  }();
  ASSERT_FALSE(kubectl.empty()) << "kubectl is not on PATH; scripts/setup.sh installs it";
  testing::FakeApiServer server;
  ASSERT_TRUE(server.start());
  const fs::path dir =
      fs::temp_directory_path() / ("keyward-chart-install-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "kubeconfig") << testing::render_kubeconfig(server.url(), "", "");
  auto rendered = run_helm({"template", "rel", chart_dir(), "--namespace", kNamespace});
  ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
  std::ofstream(dir / "chart.yaml") << rendered.out;
  const std::vector<std::string> base = {"--kubeconfig", (dir / "kubeconfig").string(),
                                         "--cache-dir", (dir / "cache").string()};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), base.begin(), base.end());
    return run_command(kubectl, args);
  };
  auto ns = with({"create", "namespace", kNamespace});
  ASSERT_EQ(ns.exit_code, 0) << ns.err;
  auto applied = with({"apply", "-f", (dir / "chart.yaml").string()});
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_NE(applied.out.find("customresourcedefinition.apiextensions.k8s.io/apikeys.keyward.dev "
                             "created"),
            std::string::npos)
      << applied.out;
  auto crd =
      server.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "apikeys.keyward.dev");
  ASSERT_TRUE(crd);
  bool established = false;
  for (const auto& c : (*crd)["status"]["conditions"])
    established = established || (c["type"] == "Established" && c["status"] == "True");
  EXPECT_TRUE(established);
  fs::remove_all(dir);
}

TEST_F(ChartTest, ProviderCaBundleReachesTheOperator) {
  const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIBdesk\n-----END CERTIFICATE-----";
  Rendered r = render({"providerCA.bundle=" + pem});
  json bundle;
  for (const auto& cm : r.of_kind("ConfigMap"))
    if (cm["metadata"]["name"] == "rel-keyward-provider-ca") bundle = cm;
  ASSERT_FALSE(bundle.is_null()) << "no provider CA ConfigMap";
  EXPECT_NE(bundle["data"]["ca.crt"].get<std::string>().find("MIIBdesk"), std::string::npos);
  const json deployment = r.one("Deployment");
  const json& container = deployment["spec"]["template"]["spec"]["containers"][0];
  bool flag = false;
  for (const auto& a : container["args"])
    flag = flag || a == "--provider-ca-file=/etc/keyward/provider-ca/ca.crt";
  EXPECT_TRUE(flag) << container["args"].dump();
  bool mounted = false;
  for (const auto& m : container["volumeMounts"])
    mounted =
        mounted || (m["name"] == "provider-ca" && m["mountPath"] == "/etc/keyward/provider-ca");
  EXPECT_TRUE(mounted);
  // Unset: no ConfigMap, no flag.
  Rendered plain = render();
  for (const auto& cm : plain.of_kind("ConfigMap"))
    EXPECT_NE(cm["metadata"]["name"], "rel-keyward-provider-ca");
  EXPECT_EQ(plain.one("Deployment").dump().find("--provider-ca-file"), std::string::npos);
  // Not a certificate: refused by the schema.
  auto bad = run_helm(with_sets({"template", "rel", chart_dir()}, {"providerCA.bundle=hello"}));
  EXPECT_NE(bad.exit_code, 0);
}

// Sealing at rest (docs/sealing.md): by default a KEK Secret of one random 32-byte KEK, kept on
// uninstall, mounted read-only into the operator, which gets --kek-dir; a desk's own Secret
// instead; neither: no flag, no mount (the operator then warns that keys are stored unsealed).
TEST_F(ChartTest, KekSecretIsCreatedKeptAndMountedOrTakenFromTheDesk) {
  auto operator_container = [](const Rendered& r) {
    return r.one("Deployment")["spec"]["template"]["spec"]["containers"][0];
  };
  auto kek_volume = [](const Rendered& r) {
    const json deployment = r.one("Deployment");
    for (const auto& v : deployment["spec"]["template"]["spec"]["volumes"])
      if (v["name"] == "kek") return v;
    return json();
  };
  auto has_arg = [](const json& container, const std::string& arg) {
    for (const auto& a : container["args"])
      if (a == arg) return true;
    return false;
  };
  Rendered r = render();
  json kek;
  for (const auto& secret : r.of_kind("Secret"))
    if (secret["metadata"]["name"] == "rel-keyward-kek") kek = secret;
  ASSERT_FALSE(kek.is_null()) << "no KEK Secret";
  EXPECT_EQ(kek["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");
  ASSERT_TRUE(kek["data"].contains("k1")) << kek.dump();
  auto file = keyward::base64_decode(kek["data"]["k1"].get<std::string>());
  ASSERT_TRUE(file);
  auto bytes = keyward::base64_decode(*file);
  ASSERT_TRUE(bytes) << "the KEK file is not base64";
  EXPECT_EQ(bytes->size(), 32u);
  EXPECT_TRUE(has_arg(operator_container(r), "--kek-dir=/var/run/keyward/kek"));
  EXPECT_EQ(kek_volume(r)["secret"]["secretName"], "rel-keyward-kek");
  EXPECT_EQ(kek_volume(r)["secret"]["defaultMode"], 0400);
  bool mounted = false;
  const json container = operator_container(r);
  for (const auto& m : container["volumeMounts"])
    mounted = mounted || (m["name"] == "kek" && m["mountPath"] == "/var/run/keyward/kek" &&
                          m["readOnly"] == true);
  EXPECT_TRUE(mounted);

  Rendered desk = render({"kek.existingSecret=desk-kek"});
  for (const auto& secret : desk.of_kind("Secret"))
    EXPECT_NE(secret["metadata"]["name"], "rel-keyward-kek") << "created beside the desk's";
  EXPECT_EQ(kek_volume(desk)["secret"]["secretName"], "desk-kek");
  EXPECT_TRUE(has_arg(operator_container(desk), "--kek-dir=/var/run/keyward/kek"));

  Rendered unsealed = render({"kek.create=false"});
  EXPECT_TRUE(kek_volume(unsealed).is_null());
  EXPECT_EQ(unsealed.one("Deployment").dump().find("--kek-dir"), std::string::npos);

  auto bad = run_helm(with_sets({"template", "rel", chart_dir()}, {"kek.id=has space"}));
  EXPECT_NE(bad.exit_code, 0);
  auto reserved = run_helm(with_sets({"template", "rel", chart_dir()}, {"kek.id=primary"}));
  EXPECT_NE(reserved.exit_code, 0) << "\"primary\" names the primary KEK; it cannot be an id";
}

TEST_F(ChartTest, SchemaRefusesTyposAndBadValues) {
  struct Case {
    std::string set;
    std::string mention;
  };
  for (const auto& c : std::vector<Case>{{"webhok.port=1", "webhok"},
                                         {"webhook.failurePolicy=Sometimes", "failurePolicy"},
                                         {"image.sidecar.digest=latest", "digest"},
                                         {"injection.mode=telepathy", "mode"},
                                         {"webhook.tls.mode=vault", "mode"},
                                         {"crds.keeep=true", "keeep"}}) {
    SCOPED_TRACE(c.set);
    auto r = run_helm({"template", "rel", chart_dir(), "--set", c.set});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(c.mention), std::string::npos) << r.err;
  }
}

TEST_F(ChartTest, EveryValueIsDocumented) {
  std::ifstream in(source_dir() / "charts/keyward/values.yaml");
  std::string line, previous;
  int keys = 0;
  // A line that sets a leaf value (key: value) must follow a comment line; section headers
  // (key: with nothing after) are exempt when their children are documented.
  const std::regex leaf("^\\s*[A-Za-z][A-Za-z0-9]*: .+$");
  bool in_block = false;  // inside a documented multi-line value (a map or list under a comment)
  int block_indent = -1;
  while (std::getline(in, line)) {
    int indent = static_cast<int>(line.find_first_not_of(' '));
    if (in_block && indent > block_indent) {
      previous = line;
      continue;
    }
    in_block = false;
    if (std::regex_match(line, leaf)) {
      ++keys;
      EXPECT_NE(previous.find('#'), std::string::npos) << "undocumented value: " << line;
    } else if (std::regex_match(line, std::regex("^\\s*[A-Za-z][A-Za-z0-9]*:\\s*$")) &&
               previous.find('#') != std::string::npos) {
      in_block = true;  // a documented map/list value; its children need no comments of their own
      block_indent = indent;
    }
    if (!line.empty()) previous = line;  // the last non-empty line, comment or value
  }
  EXPECT_GT(keys, 20);
}

TEST_F(ChartTest, DockerfilesReferenceExistingPaths) {
  for (const char* file : {"images/operator.Dockerfile", "images/sidecar.Dockerfile"}) {
    SCOPED_TRACE(file);
    std::ifstream in(source_dir() / file);
    ASSERT_TRUE(in) << "missing " << file;
    std::string line;
    bool has_user = false;
    int stages = 0;
    while (std::getline(in, line)) {
      if (line.rfind("FROM ", 0) == 0) ++stages;
      if (line.rfind("USER ", 0) == 0)
        has_user = line.find("root") == std::string::npos && line != "USER 0";
      // COPY from the build context (not --from=stage) must name paths that exist.
      if (line.rfind("COPY ", 0) == 0 && line.find("--from=") == std::string::npos) {
        std::istringstream words(line.substr(5));
        std::vector<std::string> parts;
        std::string w;
        while (words >> w) {
          if (w.rfind("--", 0) != 0) parts.push_back(w);
        }
        ASSERT_GE(parts.size(), 2u) << line;
        for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
          EXPECT_TRUE(fs::exists(source_dir() / parts[i]))
              << "COPY source " << parts[i] << " does not exist";
        }
      }
    }
    EXPECT_GE(stages, 2) << "multi-stage build";
    EXPECT_TRUE(has_user) << "the final image runs as a non-root USER";
  }
}

}  // namespace
}  // namespace keyward::chart_testing
