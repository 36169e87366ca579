#pragma once
// The admission webhook as keyward-operator runs it: settings from the chart's ConfigMap
// (--webhook-config FILE, see charts/keyward/templates/configmap.yaml), and one component that
// owns the certificate store, the version cache, both handlers and the HTTPS server.
//
//   auto settings = keyward::webhook::load_webhook_settings(path);   // Result<WebhookSettings>
//   keyward::webhook::Webhook webhook(kube_api, clock, logger.child("webhook"), *settings);
//   if (auto s = webhook.start(); !s) { ... }   // serves on every replica, leader or not
//   ...
//   webhook.stop();                              // also done by the destructor

#include <memory>
#include <string>

#include "common/core/certificate_store.h"
#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/kube/kube_api.h"
#include "operator/webhook/apikey_validator.h"
#include "operator/webhook/pod_admission_handler.h"
#include "operator/webhook/server_version_cache.h"
#include "operator/webhook/webhook_server.h"

namespace keyward::webhook {

struct WebhookSettings {
  WebhookServerConfig server;  // from "listen: host:port" and "reloadIntervalSeconds"
  std::string cert_file = "/var/run/keyward/webhook-tls/tls.crt";
  std::string key_file = "/var/run/keyward/webhook-tls/tls.key";
  // Broker mode: the CA bundle rendered into pods for the sidecar to trust the broker
  // (load_webhook_settings reads it into injection.defaults.broker_ca_pem).
  std::string broker_ca_file;
  InjectionConfig injection;
};

// Parses the settings YAML; unknown keys and wrong types are Error{"InvalidWebhookConfig"}
// naming the key. Required: sidecarImage.
Result<WebhookSettings> parse_webhook_settings(const std::string& yaml_text);
Result<WebhookSettings> load_webhook_settings(const std::string& path);

class Webhook {
 public:
  // caches: the operator's ApiKey and Namespace caches, read before the API (see
  // pod_admission_handler.h).
  // metrics: the admission counter and latency (webhook_server.h); none in tests.
  Webhook(kube::KubeApi& api, Clock& clock, const Logger& logger, WebhookSettings settings,
          AdmissionCaches caches = {}, MetricsRegistry* metrics = nullptr);
  Webhook(const Webhook&) = delete;
  Webhook& operator=(const Webhook&) = delete;
  ~Webhook();

  Status start();
  void stop();
  [[nodiscard]] int port() const { return server_.port(); }

 private:
  WebhookSettings settings_;
  FileCertificateSource source_;
  CertificateStore certificates_;
  ServerVersionCache versions_;
  PodAdmissionHandler pods_;
  ApiKeyValidator apikeys_;
  WebhookServer server_;
};

}  // namespace keyward::webhook
