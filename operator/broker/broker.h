#pragma once
// Broker: the operator's token broker as keyward-operator runs it (docs/operator.md, "Token
// broker"). One component owning, in start-up order:
//   SessionManager  one upstream session per ApiKey, fed by OperatorRunner's caches and events,
//                   running only while this replica leads;
//   TokenReviewer   caller authentication (TokenReview, cached by token hash);
//   BrokerService   the GET endpoint: authorization, the session's current token, last use;
//   HttpsServer     TLS with certificate reload (shared with the webhook).
//
//   broker::Broker broker(api, runner, clock, random, registry, logger, transports, config);
//   broker.attach();         // before runner.start(): hooks into the runner's events
//   broker.start();          // after: binds and serves
//   broker.stop();

#include <memory>
#include <string>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/io/random.h"
#include "common/kube/kube_api.h"
#include "operator/broker/broker_service.h"
#include "operator/broker/live_gate.h"
#include "operator/broker/session_manager.h"
#include "operator/broker/token_reviewer.h"
#include "operator/controller/operator_runner.h"
#include "operator/webhook/certificate_store.h"
#include "operator/webhook/https_server.h"

namespace keyward::broker {

struct BrokerConfig {
  webhook::HttpsServerConfig server{.name = "broker",
                                    .host = "0.0.0.0",
                                    .port = 8444,
                                    .reload_interval = std::chrono::seconds(10),
                                    .max_body_bytes = 1024,
                                    .keep_alive_seconds = 5,
                                    .io_timeout = Seconds(5)};
  std::string cert_file = "/var/run/keyward/webhook-tls/tls.crt";
  std::string key_file = "/var/run/keyward/webhook-tls/tls.key";
  TokenReviewOptions review;
  BrokerServiceOptions service;
  RefresherOptions refresher;
};

class Broker {
 public:
  Broker(kube::KubeApi& api, controller::OperatorRunner& runner, Clock& clock, Random& random,
         MetricsRegistry& metrics, Logger logger, HttpTransportFactory transports,
         const BrokerConfig& config);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Registers with the runner (events, leadership, last-used publishing). Before runner.start().
  void attach();
  Status start();
  void stop();
  [[nodiscard]] int port() const { return server_.port(); }
  [[nodiscard]] SessionManager& sessions() { return sessions_; }
  [[nodiscard]] BrokerService& service() { return service_; }

 private:
  Result<std::optional<kube::Object>> find_pod(const std::string& ns, const std::string& name);

  kube::KubeApi& api_;
  controller::OperatorRunner& runner_;
  Logger logger_;
  RequestBudgets budgets_;  // per upstream account, outlives every session
  SessionManager sessions_;
  LiveGate live_gate_;
  TokenReviewer reviewer_;
  BrokerService service_;
  webhook::FileCertificateSource cert_source_;
  webhook::CertificateStore certificates_;
  webhook::HttpsServer server_;
};

}  // namespace keyward::broker
