#pragma once
// Broker: the operator's token broker as keyward-operator runs it (docs/operator.md, "Token
// broker"). One component owning, in start-up order:
//   SessionManager  one upstream session per ApiKey, fed by OperatorManager's caches and events,
//                   running only while this replica leads;
//   TokenReviewer   caller authentication (TokenReview, cached by token hash);
//   BrokerService   the GET endpoint: authorization, the session's current token, last use;
//   HttpsServer     TLS with certificate reload (shared with the webhook).
//
//   broker::Broker broker(api, view, clock, random, registry, logger, transports, config);
//   runner.add_key_listener([&](const std::string& k) { broker.on_key_event(k); });
//   runner.add_leadership_listener([&](bool leading) { broker.set_leading(leading); });
//   broker.start();          // binds and serves
//   broker.stop();
//
// The broker knows the operator only through an OperatorView (its caches, the shared records
// the reconciler publishes, a way to enqueue a key); keyward-operator's main composes the two.

#include <functional>
#include <memory>
#include <string>

#include "common/core/certificate_store.h"
#include "common/core/clock.h"
#include "common/core/https_server.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/io/random.h"
#include "common/kube/kube_api.h"
#include "operator/apikey/last_used.h"
#include "operator/apikey/provider_states.h"
#include "operator/broker/broker_service.h"
#include "operator/broker/live_gate.h"
#include "operator/broker/session_manager.h"
#include "operator/broker/session_store.h"
#include "operator/broker/token_reviewer.h"

namespace keyward::broker {

struct BrokerConfig {
  HttpsServerConfig server{.name = "broker",
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

// What the broker reads from the operator: its informers' caches (synced by the operator), the
// records the reconciler publishes in status, and how to enqueue a key for a reconcile.
struct OperatorView {
  const kube::Store& apikeys;
  const kube::Store& secrets;
  const kube::Store& pods;
  apikey::LastUsedTimes& last_used;
  apikey::ProviderStates& provider_states;
  std::function<void(const std::string& key)> request_reconcile;
  // The operator's key sealer (docs/sealing.md); null: key Secrets are plain base64.
  const apikey::KeySealer* sealer = nullptr;
};

class Broker {
 public:
  Broker(kube::KubeApi& api, OperatorView view, Clock& clock, Random& random,
         MetricsRegistry& metrics, Logger logger, HttpTransportFactory transports,
         const BrokerConfig& config);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // An event of the ApiKey "namespace/name" or of one of its objects (the operator's key
  // listener): the key's session is brought in line.
  void on_key_event(const std::string& key) { sessions_.sync(key); }
  // Leadership changed (the operator's leadership listener): sessions run only on the leader.
  void set_leading(bool leading);
  Status start();
  void stop();
  [[nodiscard]] int port() const { return server_.port(); }
  // Whether GET .../key delivers keys that have a token exchange (the operator injects direct
  // mode: its sidecars log in themselves). Off by default: broker-mode pods get tokens only.
  // Before start().
  void set_exchange_keys_delivered(bool delivered) { exchange_keys_delivered_ = delivered; }
  [[nodiscard]] SessionManager& sessions() { return sessions_; }
  [[nodiscard]] BrokerService& service() { return service_; }

 private:
  Result<std::optional<kube::Object>> find_pod(const std::string& ns, const std::string& name);
  void wire_service();  // the service's hooks into the operator's records

  kube::KubeApi& api_;
  OperatorView view_;
  Logger logger_;
  RequestBudgets budgets_;  // per upstream account, outlives every session
  // Sessions outlive their leader (sealed, so only with a KEK); null: a new leader logs in.
  std::unique_ptr<SecretSessionStore> session_store_;
  SessionManager sessions_;
  LiveGate live_gate_;
  TokenReviewer reviewer_;
  BrokerService service_;
  FileCertificateSource cert_source_;
  CertificateStore certificates_;
  HttpsServer server_;
  bool exchange_keys_delivered_ = false;
};

}  // namespace keyward::broker
