#pragma once
// The admission webhook's HTTPS server (cpp-httplib SSLServer over OpenSSL):
//   POST /mutate-pods       AdmissionReview -> PodAdmissionHandler
//   POST /validate-apikeys  AdmissionReview -> ApiKeyValidator
//   GET  /healthz           200 "ok" while a certificate is loaded
// The certificate comes from a CertificateStore; a reload thread re-reads the source every
// reload_interval (through the Clock) and swaps the pair in for new handshakes, without
// dropping open connections. start()/stop() own both threads.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "operator/webhook/apikey_validator.h"
#include "operator/webhook/certificate_store.h"
#include "operator/webhook/pod_admission_handler.h"

namespace httplib {
class SSLServer;
}

namespace keyward::webhook {

struct WebhookServerConfig {
  std::string host = "0.0.0.0";
  int port = 8443;  // 0 = any free port (tests)
  std::chrono::seconds reload_interval{10};
  std::size_t max_body_bytes = 4 * 1024 * 1024;
};

class WebhookServer {
 public:
  WebhookServer(WebhookServerConfig config, CertificateStore& certificates,
                const PodAdmissionHandler& pods, const ApiKeyValidator& apikeys, Clock& clock,
                Logger logger);
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;
  ~WebhookServer();

  // Loads the certificate (it must be valid), binds and starts serving.
  Status start();
  // Stops serving and joins both threads; returns promptly. Safe to call twice.
  void stop();
  [[nodiscard]] int port() const { return port_; }

  // The body a handler answers for an AdmissionReview (exposed for tests and inject).
  [[nodiscard]] std::string review(const std::string& path, const std::string& body,
                                   int& status) const;

 private:
  void reload_loop(std::stop_token stop);

  WebhookServerConfig config_;
  CertificateStore& certificates_;
  const PodAdmissionHandler& pods_;
  const ApiKeyValidator& apikeys_;
  Clock& clock_;
  Logger logger_;
  std::unique_ptr<httplib::SSLServer> server_;
  int port_ = 0;
  Wakeup reload_wakeup_;
  std::jthread serve_thread_;
  std::jthread reload_thread_;
};

}  // namespace keyward::webhook
