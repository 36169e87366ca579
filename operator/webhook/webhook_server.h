#pragma once
// The admission webhook's HTTPS server (cpp-httplib SSLServer over OpenSSL):
//   POST /mutate-pods       AdmissionReview -> PodAdmissionHandler
//   POST /validate-apikeys  AdmissionReview -> ApiKeyValidator
//   GET  /healthz           200 "ok" while a certificate is loaded
// It runs on HttpsServer (common/core/https_server.h, shared with the token broker): the
// certificate comes from a CertificateStore that is re-read every reload_interval and swapped in
// for new handshakes, without dropping open connections.

#include <chrono>
#include <string>

#include "common/core/certificate_store.h"
#include "common/core/clock.h"
#include "common/core/https_server.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/result.h"
#include "operator/webhook/apikey_validator.h"
#include "operator/webhook/pod_admission_handler.h"

namespace keyward::webhook {

struct WebhookServerConfig {
  std::string host = "0.0.0.0";
  int port = 8443;  // 0 = any free port (tests)
  std::chrono::seconds reload_interval{10};
  std::size_t max_body_bytes = std::size_t{4} * 1024 * 1024;
};

class WebhookServer {
 public:
  // metrics: where keyward_webhook_admissions_total{webhook="mutate-pods"|"validate-apikeys",
  // result="allowed"|"refused"|"error"} and
  // keyward_webhook_admission_duration_seconds go (none in tests that do not look).
  WebhookServer(const WebhookServerConfig& config, CertificateStore& certificates,
                const PodAdmissionHandler& pods, const ApiKeyValidator& apikeys, Clock& clock,
                Logger logger, MetricsRegistry* metrics = nullptr);
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;
  ~WebhookServer();

  // Loads the certificate (it must be valid), binds and starts serving.
  Status start();
  // Stops serving and joins both threads; returns promptly. Safe to call twice.
  void stop();
  [[nodiscard]] int port() const { return server_.port(); }

  // The answer to an AdmissionReview posted to `path`: 200 with the review's response, or 400
  // with the reason a body is not an AdmissionReview.
  [[nodiscard]] HttpResponse review(const std::string& path, const std::string& body) const;

 private:
  CertificateStore& certificates_;
  const PodAdmissionHandler& pods_;
  const ApiKeyValidator& apikeys_;
  Counter* admissions_ = nullptr;
  Histogram* admission_seconds_ = nullptr;
  HttpsServer server_;
};

}  // namespace keyward::webhook
