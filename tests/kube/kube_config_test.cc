#include "common/kube/kube_config.h"

#include <gtest/gtest.h>

#include "tests/support/memory_filesystem.h"
#include "tests/support/test_pki.h"

namespace keyward::kube {
namespace {

using keyward::testing::MemoryFilesystem;

std::string b64(const std::string& s) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(s[i]) << 16) |
                       (static_cast<unsigned char>(s[i + 1]) << 8) |
                       static_cast<unsigned char>(s[i + 2]);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63],
            kAlphabet[v & 63]};
  }
  if (i + 1 == s.size()) {
    const unsigned v = static_cast<unsigned char>(s[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == s.size()) {
    const unsigned v =
        (static_cast<unsigned char>(s[i]) << 16) | (static_cast<unsigned char>(s[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

class KubeConfigTest : public ::testing::Test {
 protected:
  keyward::testing::TestPki ca_ = keyward::testing::TestPki::create();
  keyward::testing::TestKeyPair client_ = ca_.issue("alice", {}, true);
  MemoryFilesystem fs_;

  std::string embedded(const std::string& extra_user = "", const std::string& ctx_ns = "bots") {
    return "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
           "clusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443\n"
           "    certificate-authority-data: " +
           b64(ca_.ca_cert_pem) +
           "\n"
           "users:\n- name: alice\n  user:\n"
           "    client-certificate-data: " +
           b64(client_.cert_pem) +
           "\n"
           "    client-key-data: " +
           b64(client_.key_pem) + "\n" + extra_user +
           "contexts:\n- name: prod\n  context: {cluster: c1, user: alice, namespace: " + ctx_ns +
           "}\n";
  }

  // Loads text as /home/u/.kube/config and expects one clear error line.
  Error broken(const std::string& text) {
    fs_.set("/home/u/.kube/config", text);
    auto r = load_kubeconfig_files({"/home/u/.kube/config"}, fs_);
    EXPECT_FALSE(r.has_value());
    if (r) return {};
    EXPECT_EQ(r.error().reason, "InvalidKubeconfig");
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("/home/u/.kube/config"), std::string::npos)
        << r.error().message;
    return r.error();
  }
};

TEST_F(KubeConfigTest, EmbeddedCertificatesAndNamespace) {
  fs_.set("/home/u/.kube/config", embedded());
  auto r = load_kubeconfig_files({"/home/u/.kube/config"}, fs_);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->server, "https://10.0.0.1:6443");
  EXPECT_EQ(r->endpoint.host, "10.0.0.1");
  EXPECT_EQ(r->endpoint.port, 6443);
  EXPECT_EQ(r->tls.ca_pem, ca_.ca_cert_pem);
  EXPECT_EQ(r->tls.client_cert_pem, client_.cert_pem);
  EXPECT_EQ(r->tls.client_key_pem, client_.key_pem);
  EXPECT_EQ(r->ns, "bots");
  EXPECT_FALSE(r->tls.insecure_skip_verify);
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_EQ(r->origin, "kubeconfig /home/u/.kube/config, context prod");
}

TEST_F(KubeConfigTest, RelativePathsResolveAgainstTheFilesDirectory) {
  fs_.set("/cfg/dir/ca.pem", ca_.ca_cert_pem);
  fs_.set("/cfg/dir/certs/alice.crt", client_.cert_pem);
  fs_.set("/cfg/dir/certs/alice.key", client_.key_pem);
  fs_.set("/cfg/dir/tok", "file-token-value\n");
  fs_.set("/cfg/dir/config",
          "current-context: x\n"
          "clusters: [{name: c, cluster: {server: 'https://api.example:443/prefix', "
          "certificate-authority: ca.pem, tls-server-name: kubernetes}}]\n"
          "users: [{name: u, user: {client-certificate: certs/alice.crt, client-key: "
          "certs/alice.key, tokenFile: tok}}]\n"
          "contexts: [{name: x, context: {cluster: c, user: u}}]\n");
  auto r = load_kubeconfig_files({"/cfg/dir/config"}, fs_);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->tls.ca_pem, ca_.ca_cert_pem);
  EXPECT_EQ(r->tls.client_cert_pem, client_.cert_pem);
  EXPECT_EQ(r->tls.server_name, "kubernetes");
  EXPECT_EQ(r->token_file, "/cfg/dir/tok");
  EXPECT_EQ(r->base_path, "/prefix");
  EXPECT_EQ(r->ns, "default");
}

TEST_F(KubeConfigTest, KubeconfigListMergesFirstWins) {
  // The first file sets no current-context but defines cluster c1; the second sets
  // current-context and redefines c1 (ignored: the first definition wins).
  fs_.set("/a", "clusters: [{name: c1, cluster: {server: 'https://first:1'}}]\n");
  fs_.set("/b",
          "current-context: ctx\n"
          "clusters: [{name: c1, cluster: {server: 'https://second:2'}}]\n"
          "users: [{name: u, user: {token: abcdefgh}}]\n"
          "contexts: [{name: ctx, context: {cluster: c1, user: u}}]\n");
  Environment env{{"KUBECONFIG", "/missing:/a::/b"}, {"HOME", "/home/u"}};
  auto r = load_kube_config(env, fs_);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->server, "https://first:1");
  EXPECT_EQ(r->token, "abcdefgh");
  EXPECT_EQ(r->origin, "kubeconfig /b, context ctx");
}

TEST_F(KubeConfigTest, ContextOverrideAndInsecureWarning) {
  fs_.set(
      "/k",
      "current-context: a\n"
      "clusters: [{name: c, cluster: {server: 'https://x:1', insecure-skip-tls-verify: true}}]\n"
      "contexts: [{name: a, context: {cluster: nope}}, {name: b, context: {cluster: c}}]\n");
  KubeConfigOptions options;
  options.kubeconfig_path = "/k";
  options.context = "b";
  auto r = load_kube_config({}, fs_, options);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_TRUE(r->tls.insecure_skip_verify);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("DISABLED"), std::string::npos);
}

TEST_F(KubeConfigTest, InClusterReadsServiceAccount) {
  fs_.set("/sa/token", "sa-token-1");
  fs_.set("/sa/ca.crt", ca_.ca_cert_pem);
  fs_.set("/sa/namespace", "keyward-system\n");
  Environment env{{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
  KubeConfigOptions options;
  options.service_account_dir = "/sa";
  auto r = load_kube_config(env, fs_, options);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->server, "https://[fd00::1]:443");
  EXPECT_EQ(r->endpoint.host, "fd00::1");
  EXPECT_EQ(r->token_file, "/sa/token");
  EXPECT_TRUE(r->token.empty());
  EXPECT_EQ(r->ns, "keyward-system");
  EXPECT_EQ(r->tls.ca_pem, ca_.ca_cert_pem);
}

TEST_F(KubeConfigTest, InClusterWithoutTokenSaysWhatToCheck) {
  fs_.set("/sa/ca.crt", ca_.ca_cert_pem);
  Environment env{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
  auto r = load_in_cluster_config(env, fs_, "/sa");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, "InClusterConfigMissing");
  EXPECT_NE(r.error().message.find("/sa/token"), std::string::npos);
  EXPECT_NE(r.error().message.find("automountServiceAccountToken"), std::string::npos);
}

TEST_F(KubeConfigTest, SelectionOrderPrefersKubeconfigEnvThenInClusterThenHome) {
  fs_.set("/env",
          "current-context: e\nclusters: [{name: c, cluster: {server: 'https://env:1'}}]\n"
          "contexts: [{name: e, context: {cluster: c}}]\n");
  fs_.set("/home/u/.kube/config",
          "current-context: h\nclusters: [{name: c, cluster: {server: 'https://home:1'}}]\n"
          "contexts: [{name: h, context: {cluster: c}}]\n");
  fs_.set("/var/run/secrets/kubernetes.io/serviceaccount/token", "t0ken-in-cluster");
  fs_.set("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", ca_.ca_cert_pem);
  Environment env{{"KUBECONFIG", "/env"},
                  {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                  {"KUBERNETES_SERVICE_PORT", "443"},
                  {"HOME", "/home/u"}};
  EXPECT_EQ(load_kube_config(env, fs_)->server, "https://env:1");
  env.erase("KUBECONFIG");
  EXPECT_EQ(load_kube_config(env, fs_)->server, "https://10.96.0.1:443");
  env.erase("KUBERNETES_SERVICE_HOST");
  EXPECT_EQ(load_kube_config(env, fs_)->server, "https://home:1");
}

TEST_F(KubeConfigTest, MalformedYaml) {
  auto e = broken("clusters: [\n  - name: x\n  cluster: {server: }}}\n");
  EXPECT_NE(e.message.find("not valid YAML (line"), std::string::npos) << e.message;
}

TEST_F(KubeConfigTest, MissingFile) {
  auto r = load_kubeconfig_files({"/nowhere/config"}, fs_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "kubeconfig /nowhere/config: cannot read the file (opening /nowhere/config failed: No "
            "such file or directory); check KUBECONFIG or the --kubeconfig path");
}

TEST_F(KubeConfigTest, ContextNamesUndefinedCluster) {
  auto e = broken("current-context: prod\ncontexts: [{name: prod, context: {cluster: c1}}]\n");
  EXPECT_EQ(e.message,
            "kubeconfig /home/u/.kube/config: context \"prod\" names cluster \"c1\" which is not "
            "defined under clusters; run kubectl config get-contexts");
}

TEST_F(KubeConfigTest, CurrentContextUndefined) {
  auto e = broken("current-context: staging\nclusters: []\ncontexts: []\n");
  EXPECT_NE(e.message.find("context \"staging\" is not defined under contexts"), std::string::npos);
}

TEST_F(KubeConfigTest, ContextNamesUndefinedUser) {
  auto e = broken(
      "current-context: p\nclusters: [{name: c, cluster: {server: 'https://a:1'}}]\n"
      "contexts: [{name: p, context: {cluster: c, user: bob}}]\n");
  EXPECT_NE(e.message.find("names user \"bob\" which is not defined under users"),
            std::string::npos);
}

TEST_F(KubeConfigTest, Base64Garbage) {
  std::string text = embedded();
  const auto pos = text.find("client-key-data: ") + 17;
  text.replace(pos, 8, "x%y*notb");
  auto e = broken(text);
  EXPECT_NE(e.message.find("users[\"alice\"].user.client-key-data is not valid base64"),
            std::string::npos)
      << e.message;
}

TEST_F(KubeConfigTest, CertificateDataThatIsNotPem) {
  std::string text = embedded();
  const auto start = text.find("certificate-authority-data: ") + 28;
  const auto end = text.find('\n', start);
  text.replace(start, end - start, b64("hello, not a certificate"));
  auto e = broken(text);
  EXPECT_NE(e.message.find("clusters[\"c1\"].cluster.certificate-authority-data is not a PEM "
                           "certificate"),
            std::string::npos)
      << e.message;
}

TEST_F(KubeConfigTest, UnreadableCertificateFile) {
  auto e = broken(
      "current-context: p\n"
      "clusters: [{name: c, cluster: {server: 'https://a:1', certificate-authority: ca.pem}}]\n"
      "contexts: [{name: p, context: {cluster: c}}]\n");
  EXPECT_NE(e.message.find("clusters[\"c\"].cluster.certificate-authority: cannot read "
                           "/home/u/.kube/ca.pem"),
            std::string::npos)
      << e.message;
}

TEST_F(KubeConfigTest, MissingServer) {
  auto e = broken(
      "current-context: p\nclusters: [{name: c, cluster: {}}]\n"
      "contexts: [{name: p, context: {cluster: c}}]\n");
  EXPECT_NE(e.message.find("clusters[\"c\"].cluster.server is missing"), std::string::npos);
}

TEST_F(KubeConfigTest, ExecPluginIsRefusedClearly) {
  auto e = broken(embedded("    exec: {command: aws}\n"));
  EXPECT_NE(e.message.find("users[\"alice\"].user.exec credential plugins are not supported"),
            std::string::npos)
      << e.message;
}

TEST_F(KubeConfigTest, CertificateWithoutKey) {
  std::string text = embedded();
  const auto start = text.find("    client-key-data: ");
  const auto end = text.find('\n', start);
  text.erase(start, end - start + 1);
  auto e = broken(text);
  EXPECT_NE(e.message.find("has client-certificate but no client-key"), std::string::npos);
}

TEST_F(KubeConfigTest, ErrorsNeverCarryTheToken) {
  auto e = broken(
      "current-context: p\n"
      "users: [{name: u, user: {token: s3cr3t-t0ken-value}}]\n"
      "contexts: [{name: p, context: {cluster: gone, user: u}}]\n");
  EXPECT_EQ(e.message.find("s3cr3t-t0ken-value"), std::string::npos);
}

}  // namespace
}  // namespace keyward::kube
