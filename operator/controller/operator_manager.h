#pragma once
// OperatorManager: the operator's manager, after controller-runtime's Manager. It wires the
// operator together: informers for ApiKeys, their Secrets and pods; a work queue and
// controller workers calling ApiKeyReconciler; leader election gating every reconcile.
//
// Event mapping (what enqueues which ApiKey "namespace/name"):
//   ApiKey add/update/delete                     -> itself
//   Secret with label keyward.dev/apikey=<name>  -> <ns>/<name>
//   Secret named by an ApiKey's spec.source.secretRef in its namespace -> that ApiKey
//   Pod with label keyward.dev/apikey or annotation keyward.dev/inject -> that ApiKey
// Time-driven work comes back through Action::requeue_after (the queue's add_after).
//
// Leadership: the informers run on every replica (a standby is warm); a reconcile first checks
// LeaderElector::is_leader() and does nothing on a standby, so losing the lease stops
// reconciling at once. On winning the lease every cached ApiKey is enqueued.
//
// Listeners (the token broker): key listeners get every key the event mapping enqueues (also
// the Secret named by spec.tokenExchange.credentialsSecretRef); leadership listeners get
// true/false as the Lease is won or lost (true at start() without --leader-elect). The caches
// are readable through apikey_store(), secret_store(), pod_store(), namespace_store().
//
// Reads: a pass reads ApiKeys, key Secrets and pods from the caches (only after all three have
// synced) and writes through the API. Namespaces (cluster-scoped, every one: few, and read by the
// webhook for keyward.dev/trading) are cached too but enqueue nothing and gate nothing; readers
// fall back to the API for one the cache does not hold yet.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/result.h"
#include "common/io/random.h"
#include "common/kube/informer.h"
#include "common/kube/kube_api.h"
#include "common/kube/work_queue.h"
#include "operator/apikey/key_generator.h"
#include "operator/apikey/last_used.h"
#include "operator/apikey/provider_states.h"
#include "operator/controller/apikey_reconciler.h"
#include "operator/controller/event_recorder.h"
#include "operator/controller/leader_elector.h"
#include "operator/controller/operator_metrics.h"
#include "operator/controller/secret_references.h"

namespace keyward::controller {

// The one backoff for a failed reconcile, applied by the work queue's rate limiter: 5 s, 10 s,
// 20 s ... capped at 5 minutes, reset by the next success (the queue forgets the key).
inline constexpr kube::WorkQueueOptions kReconcileBackoff{std::chrono::seconds(5),
                                                          std::chrono::minutes(5)};

struct OperatorOptions {
  std::string watch_namespace;  // "" = all namespaces
  int workers = 2;
  bool leader_elect = true;
  LeaderElectionConfig leader;
};

class OperatorManager {
 public:
  OperatorManager(kube::KubeApi& api, Clock& clock, Random& random, Logger logger,
                  MetricsRegistry& registry, apikey::KeyGenerator& generator,
                  HttpTransportFactory http_transports, OperatorOptions options,
                  const apikey::KeySealer* sealer = nullptr);
  ~OperatorManager();
  OperatorManager(const OperatorManager&) = delete;
  OperatorManager& operator=(const OperatorManager&) = delete;

  void start();
  // Stops the election (releasing the Lease), the workers and the informers. Idempotent.
  void stop();

  // Ready: every informer has synced, and this replica leads or is a healthy standby.
  [[nodiscard]] Status readiness() const;
  [[nodiscard]] bool leading() const;

  // One reconcile of a key, as the workers run it (tests call it directly).
  kube::ReconcileResult reconcile_key(const std::string& key);

  // Before start(); listeners run on informer or election threads and must be quick.
  void add_key_listener(std::function<void(const std::string& key)> listener);
  void add_leadership_listener(std::function<void(bool leading)> listener);
  // Reconcile this key soon (the broker: lastUsedTime moved).
  void request_reconcile(const std::string& key);

  [[nodiscard]] const kube::Store& apikey_store() const { return apikeys_.store(); }
  [[nodiscard]] const kube::Store& secret_store() const { return secrets_.store(); }
  [[nodiscard]] const kube::Store& pod_store() const { return pods_.store(); }
  [[nodiscard]] const kube::Store& namespace_store() const { return namespaces_.store(); }
  [[nodiscard]] apikey::LastUsedTimes& last_used() { return last_used_; }
  // The broker sessions' provider states, published as ProviderReady.
  [[nodiscard]] apikey::ProviderStates& provider_states() { return provider_states_; }

 private:
  void enqueue(const std::string& key);
  void notify_leadership(bool leading);
  void enqueue_for_secret(const kube::Object& secret);
  void enqueue_for_pod(const kube::Object& pod);
  void enqueue_all();
  [[nodiscard]] bool caches_synced() const;
  // An informer's first list is in: when it was the last, every ApiKey is queued.
  void enqueue_all_once_synced();

  Clock& clock_;
  Logger logger_;
  OperatorOptions options_;
  std::atomic<std::uint64_t> leadership_losses_{0};  // notify_leadership(false) calls
  OperatorMetrics metrics_;
  EventRecorder events_;
  apikey::LastUsedTimes last_used_;         // before reconciler_, which reads it
  apikey::ProviderStates provider_states_;  // likewise
  SecretReferences references_;             // filled by the ApiKey informer's handlers
  kube::WorkQueue queue_;
  kube::Informer apikeys_;
  kube::Informer secrets_;
  kube::Informer pods_;
  kube::Informer namespaces_;
  ApiKeyReconciler reconciler_;  // after pods_: it reads the pod cache
  kube::Controller controller_;
  std::unique_ptr<LeaderElector> elector_;  // null without --leader-elect
  std::atomic<bool> started_{false};
  std::vector<std::function<void(const std::string&)>> key_listeners_;  // set before start()
  std::vector<std::function<void(bool)>> leadership_listeners_;         // set before start()
};

}  // namespace keyward::controller
