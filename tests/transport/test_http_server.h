#pragma once
// An httplib server on 127.0.0.1, port 0, run on its own thread for the lifetime of the object.
// Plain or TLS (server certificate, optionally requiring client certificates from a CA).

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/core/openssl_ptr.h"

namespace keyward::testing {

class TestHttpServer {
 public:
  TestHttpServer() : server_(std::make_unique<httplib::Server>()) {}

  TestHttpServer(const std::string& cert_pem, const std::string& key_pem,
                 const std::string& client_ca_pem = "") {
    auto cert = read_cert(cert_pem);
    auto key = read_key(key_pem);
    X509_STORE* store = nullptr;
    if (!client_ca_pem.empty()) {
      store = X509_STORE_new();  // SSLServer takes ownership
      auto ca = read_cert(client_ca_pem);
      X509_STORE_add_cert(store, ca.get());
    }
    server_ = std::make_unique<httplib::SSLServer>(cert.get(), key.get(), store);
    if (!server_->is_valid()) throw std::runtime_error("SSLServer setup failed");
  }

  ~TestHttpServer() { stop(); }
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  httplib::Server& server() { return *server_; }

  // Binds port 0 and serves on a thread; returns once the accept loop runs.
  int start() {
    server_->set_tcp_nodelay(
        true);  // as the operator's servers: no Nagle wait on reused connections
    port_ = server_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("bind failed");
    thread_ = std::jthread([this] { server_->listen_after_bind(); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server_->is_running()) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("server not up");
      std::this_thread::yield();
    }
    return port_;
  }

  void stop() {
    if (thread_.joinable()) {
      server_->stop();
      thread_.join();
    }
  }

  [[nodiscard]] int port() const { return port_; }

 private:
  static openssl::X509Ptr read_cert(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    openssl::X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    if (!cert) throw std::runtime_error("bad cert PEM");
    return cert;
  }
  static openssl::PkeyPtr read_key(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    openssl::PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    if (!key) throw std::runtime_error("bad key PEM");
    return key;
  }

  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::jthread thread_;
};

// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
inline int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace keyward::testing
