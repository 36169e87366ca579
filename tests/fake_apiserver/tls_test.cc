// TLS serving with a test CA, and client-certificate authentication next to bearer tokens.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/fake_apiserver/test_helpers.h"
#include "tests/support/test_pki.h"

namespace keyward::testing {
namespace {

namespace fs = std::filesystem;

// A directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("fake-apiserver-tls-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    auto file = path_ / name;
    std::ofstream(file) << content;
    return file.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class TlsTest : public ::testing::Test {
 protected:
  void start(bool client_ca, const std::string& token) {
    auto [cert, key] = pki_.issue("fake-apiserver", {"localhost", "127.0.0.1"}, false);
    FakeApiServerOptions options;
    options.tls = true;
    options.cert_pem = cert;
    options.key_pem = key;
    if (client_ca) options.client_ca_pem = pki_.ca_cert_pem;
    options.required_bearer_token = token;
    server_ = std::make_unique<FakeApiServer>(options);
    ASSERT_TRUE(server_->start());
    ca_path_ = dir_.write("ca.crt", pki_.ca_cert_pem);
  }
  std::unique_ptr<httplib::SSLClient> client() const {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port());
    c->set_ca_cert_path(ca_path_.c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(std::chrono::seconds(5));
    return c;
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  TestPki pki_ = TestPki::create();
  TempDir dir_;
  std::string ca_path_;
  std::unique_ptr<FakeApiServer> server_;
};

TEST_F(TlsTest, ServesHttpsWithACertificateTheTestCaSigned) {
  start(false, "");
  EXPECT_EQ(server_->url().rfind("https://127.0.0.1:", 0), 0u);
  auto c = client();
  auto r = c->Get("/version");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);

  // A client trusting another CA refuses the server.
  TestPki other = TestPki::create("other-ca");
  httplib::SSLClient stranger("127.0.0.1", server_->port());
  stranger.set_ca_cert_path(dir_.write("other.crt", other.ca_cert_pem).c_str());
  stranger.enable_server_certificate_verification(true);
  EXPECT_FALSE(stranger.Get("/version"));
}

TEST_F(TlsTest, ClientCertificateAuthenticatesAndTokenStillWorks) {
  start(true, "secret-token");
  auto [client_cert, client_key] = pki_.issue("keyward-operator", {}, true);
  httplib::SSLClient with_cert("127.0.0.1", server_->port(), dir_.write("c.crt", client_cert),
                               dir_.write("c.key", client_key));
  with_cert.set_ca_cert_path(ca_path_.c_str());
  with_cert.enable_server_certificate_verification(true);
  auto r = with_cert.Get("/api/v1/namespaces");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);

  auto anonymous = client();
  auto denied = anonymous->Get("/api/v1/namespaces");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  auto body = nlohmann::json::parse(denied->body);
  EXPECT_EQ(body["kind"], "Status");
  EXPECT_EQ(body["reason"], "Unauthorized");

  auto with_token = client();
  auto ok = with_token->Get("/api/v1/namespaces", {{"Authorization", "Bearer secret-token"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(TlsTest, ClientCertificateFromAnotherCaIsRefused) {
  start(true, "secret-token");
  TestPki other = TestPki::create("other-ca");
  auto [cert, key] = other.issue("intruder", {}, true);
  httplib::SSLClient intruder("127.0.0.1", server_->port(), dir_.write("i.crt", cert),
                              dir_.write("i.key", key));
  intruder.set_ca_cert_path(ca_path_.c_str());
  intruder.enable_server_certificate_verification(true);
  auto r = intruder.Get("/api/v1/namespaces");
  EXPECT_TRUE(!r || r->status == 401) << "handshake refused or unauthenticated";
}

TEST_F(TlsTest, BadCertificateFailsToStart) {
  FakeApiServerOptions options;
  options.tls = true;
  options.cert_pem = "not a certificate";
  options.key_pem = "nor a key";
  FakeApiServer server(options);
  auto started = server.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().reason, "InvalidCertificate");
}

TEST(TestPkiTest, IssuesCertificatesWithIpAndDnsSans) {
  TestPki pki = TestPki::create();
  EXPECT_NE(pki.ca_cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(pki.ca_key_pem.find("PRIVATE KEY"), std::string::npos);
  auto [cert, key] = pki.issue("svc", {"svc.ns.svc", "10.0.0.1"}, false);
  EXPECT_NE(cert.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(key.find("PRIVATE KEY"), std::string::npos);
  EXPECT_NE(cert, pki.ca_cert_pem);
}

}  // namespace
}  // namespace keyward::testing
