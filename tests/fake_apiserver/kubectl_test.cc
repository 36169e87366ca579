// The real kubectl against the fake: apply a CRD and an ApiKey, get (printer columns), get -o
// yaml, get --watch, delete. Fails clearly when kubectl is not on PATH.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/fake_apiserver/test_helpers.h"
#include "tests/support/test_pki.h"

namespace keyward::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    fs::path candidate = fs::path(dir) / name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

// A child process with stdout and stderr on one pipe.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      std::vector<char*> args;
      args.reserve(argv.size() + 1);
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads until `needle` has appeared in the output, EOF, or the deadline.
  bool read_until(const std::string& needle, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output_.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(left)) return output_.find(needle) != std::string::npos;
    }
    return true;
  }
  // Waits for exit (killing the child at the deadline); returns the exit code, -1 if killed.
  int wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      if (!read_some(left)) break;  // EOF: the child closed its output
    }
    if (std::chrono::steady_clock::now() >= deadline) ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void terminate() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
  }
  const std::string& output() const { return output_; }

 private:
  bool read_some(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
};

class KubectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kubectl_ = find_on_path("kubectl");
    ASSERT_FALSE(kubectl_.empty())
        << "kubectl is not on PATH: this test runs the real kubectl against the fake "
           "API server; install kubectl (e.g. the Debian/Google Cloud SDK package)";
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("fake-apiserver-kubectl-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
    TestPki pki = TestPki::create();
    auto [cert, key] = pki.issue("fake-apiserver", {"localhost", "127.0.0.1"}, false);
    FakeApiServerOptions options;
    options.tls = true;
    options.cert_pem = cert;
    options.key_pem = key;
    options.required_bearer_token = "kubectl-test-token";
    server_ = std::make_unique<FakeApiServer>(options);
    ASSERT_TRUE(server_->start());
    write("kubeconfig", render_kubeconfig(server_->url(), pki.ca_cert_pem, "kubectl-test-token"));
    std::ifstream crd(apikey_crd_path());
    std::stringstream crd_text;
    crd_text << crd.rdbuf();
    write("crd.yaml", crd_text.str());
    write("apikey.yaml",
          "apiVersion: keyward.dev/v1alpha1\nkind: ApiKey\nmetadata:\n  name: alpha-bot\n  "
          "namespace: default\n"
          "spec:\n  displayName: Alpha bot\n  source:\n    generate: {prefix: nt_, length: 40, "
          "alphabet: base62}\n");
  }
  void TearDown() override {
    if (server_) server_->stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
  }
  std::vector<std::string> argv(std::vector<std::string> args) const {
    std::vector<std::string> full = {kubectl_, "--kubeconfig", (dir_ / "kubeconfig").string(),
                                     "--cache-dir", (dir_ / "cache").string()};
    full.insert(full.end(), args.begin(), args.end());
    return full;
  }
  // Runs kubectl to completion; returns (exit code, output).
  std::pair<int, std::string> run(std::vector<std::string> args) {
    Child child(argv(std::move(args)));
    int code = child.wait(30s);
    return {code, child.output()};
  }

  std::string kubectl_;
  fs::path dir_;
  std::unique_ptr<FakeApiServer> server_;
};

TEST_F(KubectlTest, ApplyGetWatchAndDeleteAnApiKey) {
  auto crd = run({"apply", "-f", (dir_ / "crd.yaml").string()});
  ASSERT_EQ(crd.first, 0) << crd.second;
  EXPECT_NE(
      crd.second.find("customresourcedefinition.apiextensions.k8s.io/apikeys.keyward.dev created"),
      std::string::npos)
      << crd.second;

  auto applied = run({"apply", "-f", (dir_ / "apikey.yaml").string()});
  ASSERT_EQ(applied.first, 0) << applied.second;
  EXPECT_NE(applied.second.find("apikey.keyward.dev/alpha-bot created"), std::string::npos)
      << applied.second;
  auto again = run({"apply", "-f", (dir_ / "apikey.yaml").string()});
  ASSERT_EQ(again.first, 0) << again.second;
  EXPECT_NE(again.second.find("unchanged"), std::string::npos) << again.second;
  auto stored = server_->get("keyward.dev/v1alpha1", "ApiKey", "default", "alpha-bot");
  ASSERT_TRUE(stored);
  EXPECT_TRUE((*stored)["metadata"]["annotations"].contains(
      "kubectl.kubernetes.io/last-applied-configuration"));

  nlohmann::json with_status = *stored;
  with_status["status"] = {{"keyVersion", 7}, {"keyHint", "nt_…9f3a"}};
  server_->apply(with_status);
  auto got = run({"get", "apikeys"});
  ASSERT_EQ(got.first, 0) << got.second;
  EXPECT_NE(got.second.find("NAME"), std::string::npos) << got.second;
  EXPECT_NE(got.second.find("ACTIVE"), std::string::npos)
      << "printer columns from the CRD: " << got.second;
  EXPECT_NE(got.second.find("HINT"), std::string::npos) << got.second;
  EXPECT_NE(got.second.find("alpha-bot"), std::string::npos) << got.second;
  EXPECT_NE(got.second.find("nt_…9f3a"), std::string::npos) << got.second;

  auto yaml = run({"get", "ak", "alpha-bot", "-o", "yaml"});
  ASSERT_EQ(yaml.first, 0) << yaml.second;
  EXPECT_NE(yaml.second.find("kind: ApiKey"), std::string::npos) << yaml.second;
  EXPECT_NE(yaml.second.find("displayName: Alpha bot"), std::string::npos) << yaml.second;
  EXPECT_NE(yaml.second.find("active: true"), std::string::npos)
      << "schema default: " << yaml.second;

  Child watch(argv({"get", "apikeys", "--watch"}));
  ASSERT_TRUE(watch.read_until("alpha-bot", 20s)) << watch.output();
  // kubectl watches from the list's resourceVersion, so whatever is written after the list
  // reaches it, even if its watch request is still on the way.
  nlohmann::json second = api_key("beta-bot");
  server_->apply(second);
  EXPECT_TRUE(watch.read_until("beta-bot", 20s)) << watch.output();
  watch.terminate();
  watch.wait(10s);

  auto deleted = run({"delete", "apikey", "alpha-bot"});
  ASSERT_EQ(deleted.first, 0) << deleted.second;
  EXPECT_NE(deleted.second.find("apikey.keyward.dev \"alpha-bot\" deleted"), std::string::npos)
      << deleted.second;
  EXPECT_FALSE(server_->get("keyward.dev/v1alpha1", "ApiKey", "default", "alpha-bot"));
}

// What a real API server (1.32) answered to the CRD of an earlier commit, and what it accepts
// now: the stand-in refuses the same, with the same message through the real kubectl.
TEST_F(KubectlTest, TheCrdAndEveryExampleApplyAndTheRealServersRefusalsAreReproduced) {
  std::ifstream in(apikey_crd_path());
  std::stringstream text;
  text << in.rdbuf();
  const std::string crd = text.str();

  // 1. A description on metadata: refused, nothing registered.
  std::string with_description = crd;
  const std::string metadata = "            metadata:\n";
  const auto at = with_description.find(metadata);
  ASSERT_NE(at, std::string::npos);
  with_description.insert(at + metadata.size(),
                          "              description: Standard object metadata.\n");
  write("crd-description.yaml", with_description);
  auto refused = run({"apply", "-f", (dir_ / "crd-description.yaml").string()});
  EXPECT_NE(refused.first, 0) << refused.second;
  EXPECT_NE(refused.second.find("The CustomResourceDefinition \"apikeys.keyward.dev\" is invalid: "
                                "spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: "
                                "must not specify anything other than name and generateName, but "
                                "metadata is implicitly specified"),
            std::string::npos)
      << refused.second;

  // 2. A CEL rule that reads an optional field without has(): refused on the default {}.
  std::string unguarded = crd;
  const std::string guarded =
      "\"!has(self.provider) || self.provider == 'none' || has(self.endpoint)\"";
  const auto rule = unguarded.find(guarded);
  ASSERT_NE(rule, std::string::npos);
  unguarded.replace(rule, guarded.size(), "\"self.provider == 'none' || has(self.endpoint)\"");
  write("crd-unguarded.yaml", unguarded);
  refused = run({"apply", "-f", (dir_ / "crd-unguarded.yaml").string()});
  EXPECT_NE(refused.first, 0) << refused.second;
  EXPECT_NE(refused.second.find("spec.validation.openAPIV3Schema.properties[spec].properties["
                                "tokenExchange].default: Invalid value: \"object\": no such key: "
                                "provider evaluating rule: endpoint is required unless provider "
                                "is none"),
            std::string::npos)
      << refused.second;
  auto none = run({"get", "apikeys"});
  EXPECT_NE(none.first, 0) << "a refused CRD must not be served: " << none.second;

  // 3. The CRD of crds/ installs, and every example applies against it.
  auto installed = run({"apply", "-f", apikey_crd_path()});
  ASSERT_EQ(installed.first, 0) << installed.second;
  auto ns = run({"create", "namespace", "bots"});
  ASSERT_EQ(ns.first, 0) << ns.second;
  int examples = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(KEYWARD_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".yaml") continue;
    ++examples;
    auto applied = run({"apply", "-f", entry.path().string()});
    EXPECT_EQ(applied.first, 0) << entry.path() << ": " << applied.second;
    EXPECT_NE(applied.second.find("created"), std::string::npos) << applied.second;
  }
  EXPECT_GE(examples, 5);

  // 4. The CRD's CEL rules hold on ApiKeys too, with the real server's message.
  write("no-endpoint.yaml",
        "apiVersion: keyward.dev/v1alpha1\nkind: ApiKey\nmetadata: {name: broken, namespace: "
        "bots}\nspec:\n  source: {generate: {}}\n  tokenExchange: {provider: tradovate}\n");
  auto broken = run({"apply", "-f", (dir_ / "no-endpoint.yaml").string()});
  EXPECT_NE(broken.first, 0) << broken.second;
  EXPECT_NE(broken.second.find("spec.tokenExchange: Invalid value: \"object\": endpoint is "
                               "required unless provider is none"),
            std::string::npos)
      << broken.second;
}

TEST_F(KubectlTest, BinaryServesTlsWritesAKubeconfigAndStopsOnSigterm) {
  fs::path tls = dir_ / "tls";
  fs::path kubeconfig = dir_ / "binary-kubeconfig";
  Child server({KEYWARD_FAKE_APISERVER_BINARY, "--crds", KEYWARD_FAKE_APISERVER_TESTDATA,
                "--tls-dir", tls.string(), "--kubeconfig-out", kubeconfig.string(), "--git-version",
                "v1.31.2"});
  ASSERT_TRUE(server.read_until("\n", 20s)) << server.output();
  auto ready =
      nlohmann::json::parse(server.output().substr(0, server.output().find('\n')), nullptr, false);
  ASSERT_EQ(ready.value("message", ""), "ready") << server.output();
  EXPECT_EQ(ready["url"].get<std::string>().rfind("https://127.0.0.1:", 0), 0u);
  EXPECT_TRUE(fs::exists(tls / "ca.crt"));
  EXPECT_EQ(fs::status(tls / "server.key").permissions() & fs::perms::others_read, fs::perms::none);
  EXPECT_EQ(fs::status(kubeconfig).permissions() & fs::perms::group_read, fs::perms::none);

  Child version({kubectl_, "--kubeconfig", kubeconfig.string(), "--cache-dir",
                 (dir_ / "cache2").string(), "get", "apikeys", "-A"});
  EXPECT_EQ(version.wait(30s), 0) << version.output();
  EXPECT_NE(version.output().find("No resources found"), std::string::npos) << version.output();

  server.terminate();
  EXPECT_EQ(server.wait(10s), 0) << server.output();
  EXPECT_NE(server.output().find("stopped"), std::string::npos) << server.output();
}

}  // namespace
}  // namespace keyward::testing
