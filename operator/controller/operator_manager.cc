#include "operator/controller/operator_manager.h"

#include <algorithm>
#include <utility>

#include "operator/apikey/key_secret.h"
#include "operator/apikey/names.h"
#include "operator/apikey/pod_assignment.h"

namespace keyward::controller {

OperatorManager::OperatorManager(kube::KubeApi& api, Clock& clock, Random& random, Logger logger,
                                 MetricsRegistry& registry, apikey::KeyGenerator& generator,
                                 HttpTransportFactory http_transports, OperatorOptions options,
                                 const apikey::KeySealer* sealer)
    : clock_(clock),
      logger_(std::move(logger)),
      options_(std::move(options)),
      metrics_(registry),
      events_(api, clock, logger_.child("events")),
      queue_(clock, kReconcileBackoff),
      apikeys_(api, apikey::apikey_resource(), options_.watch_namespace, {}, clock, random,
               logger_.child("informer.apikeys")),
      secrets_(api, kube::ResourceType::secrets(), options_.watch_namespace, {}, clock, random,
               logger_.child("informer.secrets")),
      pods_(api, kube::ResourceType::pods(), options_.watch_namespace, {}, clock, random,
            logger_.child("informer.pods")),
      namespaces_(api, kube::ResourceType::namespaces(), "", {}, clock, random,
                  logger_.child("informer.namespaces")),
      reconciler_(ReconcilerDeps{api,
                                 clock,
                                 logger_.child("reconciler"),
                                 events_,
                                 generator,
                                 std::move(http_transports),
                                 &metrics_,
                                 {},
                                 &last_used_,
                                 &provider_states_,
                                 sealer,
                                 &pods_.store(),
                                 &secrets_.store()}),
      controller_(
          "apikey", queue_, [this](const std::string& key) { return reconcile_key(key); },
          kube::honour_retry_after, std::max(1, options_.workers), logger_.child("controller")) {
  metrics_.leader.set(0);  // a standby says so; notify_leadership sets 1
  if (options_.leader_elect) {
    elector_ =
        std::make_unique<LeaderElector>(api, clock, logger_.child("leader"), options_.leader);
  }
  apikeys_.add_handlers({
      [this](const kube::Object& o) {
        references_.set(o);
        enqueue(kube::object_key(o));
      },
      [this](const kube::Object&, const kube::Object& o) {
        references_.set(o);
        enqueue(kube::object_key(o));
      },
      [this](const kube::Object& o) {
        references_.remove(o);
        enqueue(kube::object_key(o));
      },
      [this] { enqueue_all_once_synced(); },
  });
  secrets_.add_handlers({
      [this](const kube::Object& o) { enqueue_for_secret(o); },
      [this](const kube::Object&, const kube::Object& o) { enqueue_for_secret(o); },
      [this](const kube::Object& o) { enqueue_for_secret(o); },
      [this] { enqueue_all_once_synced(); },
  });
  pods_.add_handlers({
      [this](const kube::Object& o) { enqueue_for_pod(o); },
      [this](const kube::Object&, const kube::Object& o) { enqueue_for_pod(o); },
      [this](const kube::Object& o) { enqueue_for_pod(o); },
      [this] { enqueue_all_once_synced(); },
  });
}

OperatorManager::~OperatorManager() { stop(); }

void OperatorManager::enqueue(const std::string& key) {
  queue_.add(key);
  metrics_.workqueue_depth.set(static_cast<double>(queue_.depth()));
  for (const auto& listener : key_listeners_) listener(key);
}

void OperatorManager::add_key_listener(std::function<void(const std::string&)> listener) {
  key_listeners_.push_back(std::move(listener));
}

void OperatorManager::add_leadership_listener(std::function<void(bool)> listener) {
  leadership_listeners_.push_back(std::move(listener));
}

void OperatorManager::notify_leadership(bool leading) {
  if (leading) reconciler_.distrust_cache();
  metrics_.leader.set(leading ? 1 : 0);
  if (!leading) {
    leadership_losses_.fetch_add(1);
    forget_all_apikey_metrics(metrics_);  // the new leader reports them
  }
  for (const auto& listener : leadership_listeners_) listener(leading);
}

void OperatorManager::request_reconcile(const std::string& key) {
  queue_.add(key);
  metrics_.workqueue_depth.set(static_cast<double>(queue_.depth()));
}

void OperatorManager::enqueue_for_secret(const kube::Object& secret) {
  const auto& md = secret.at("metadata");
  const std::string ns = md.value("namespace", "");
  const auto labels = md.value("labels", kube::Object::object());
  if (labels.contains(std::string(apikey::kApiKeyLabel)) &&
      labels[std::string(apikey::kApiKeyLabel)].is_string()) {
    enqueue(ns + "/" + labels[std::string(apikey::kApiKeyLabel)].get<std::string>());
  }
  // An http source's seed Secret (not labelled yet) and secretRef sources.
  const std::string name = md.value("name", "");
  // Its key Secret, its secretRef source, its credentials Secret (the broker's sessions read
  // it): the ApiKey model says which (one reader of the spec), indexed by SecretReferences.
  for (const auto& key : references_.apikeys_for(ns, name)) enqueue(key);
}

void OperatorManager::enqueue_for_pod(const kube::Object& pod) {
  const auto& md = pod.at("metadata");
  const std::string ns = md.value("namespace", "");
  if (auto name = apikey::assigned_apikey(pod)) enqueue(ns + "/" + *name);
}

void OperatorManager::enqueue_all() {
  for (const auto& apikey : apikeys_.store().list()) enqueue(kube::object_key(*apikey));
}

bool OperatorManager::leading() const { return !elector_ || elector_->is_leader(); }

kube::ReconcileResult OperatorManager::reconcile_key(const std::string& key) {
  metrics_.workqueue_depth.set(static_cast<double>(queue_.depth()));
  if (!leading()) {
    // A key deleted while this replica stands by is forgotten here too, so its condition is not
    // counted again when this replica leads.
    if (!apikeys_.store().get(key)) reconciler_.forget(key);
    logger_.debug("not leading; looking again later", {{"object", key}});
    // A standby (or a leader whose renewal is late) never writes. Look again after the retry
    // period rather than dropping the key: a leader that only lapsed gets no new
    // "started leading" callback when its next renewal succeeds.
    kube::ReconcileResult later;
    later.requeue_after =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.leader.retry_period);
    return later;
  }
  if (!caches_synced()) {
    // A pass reads consumer pods from the cache: never from one still being filled (it would
    // see no pods, and revoke a previous key early or count nobody stale). Every key is queued
    // again when the last cache syncs (on_synced).
    return {};
  }
  auto object = apikeys_.store().get(key);
  if (!object) {
    reconciler_.forget(key);
    return {};
  }
  const SystemTime started = clock_.now();
  const std::uint64_t losses = leadership_losses_.load();
  auto action = reconciler_.reconcile(*object);
  if (leadership_losses_.load() != losses) {
    // Leadership went while the pass ran: its per-ApiKey series belong to the new leader. (A
    // renewal that is only late is no loss: the series stay.)
    reconciler_.forget_metrics(key);
  }
  // Actions are relative to the pass's start; the queue counts from now. Take off the time the
  // pass took (or the clock jumped meanwhile) so the key comes back at the intended moment.
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started);
  auto adjusted = [&](std::chrono::seconds after) {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(after) - elapsed);
  };
  logger_.debug("reconciled",
                {{"object", key},
                 {"ok", action.has_value()},
                 {"requeueAfterSeconds",
                  action && action->requeue_after ? action->requeue_after->count() : -1}});
  kube::ReconcileResult result;
  if (!action) {
    // The one backoff for a failed reconcile: the queue's rate limiter (kReconcileBackoff).
    result.error = action.error();
    return result;
  }
  if (action->requeue_after) result.requeue_after = adjusted(*action->requeue_after);
  return result;
}

void OperatorManager::start() {
  if (started_.exchange(true)) return;
  logger_.info("starting", {{"namespace",
                             options_.watch_namespace.empty() ? "(all)" : options_.watch_namespace},
                            {"workers", options_.workers},
                            {"leaderElect", options_.leader_elect}});
  apikeys_.start();
  secrets_.start();
  pods_.start();
  namespaces_.start();
  controller_.start();
  if (elector_) {
    elector_->start(
        [this] {
          logger_.info("leading: reconciling every ApiKey", {{"identity", elector_->identity()}});
          notify_leadership(true);
          enqueue_all();
        },
        [this] {
          logger_.warn("no longer leading: reconciling stops",
                       {{"identity", elector_->identity()}});
          notify_leadership(false);
        });
  } else {
    notify_leadership(true);
  }
}

void OperatorManager::stop() {
  if (!started_.exchange(false)) return;
  if (elector_)
    elector_->stop();  // releases the Lease first: a standby takes over at once
  else
    notify_leadership(false);
  queue_.shutdown();
  controller_.stop();
  forget_all_apikey_metrics(metrics_);  // a pass in flight may have reported after the handover
  apikeys_.stop();
  secrets_.stop();
  pods_.stop();
  namespaces_.stop();
  logger_.info("stopped");
}

void OperatorManager::enqueue_all_once_synced() {
  if (caches_synced()) enqueue_all();
}

bool OperatorManager::caches_synced() const {
  return apikeys_.has_synced() && secrets_.has_synced() && pods_.has_synced();
}

Status OperatorManager::readiness() const {
  if (!caches_synced()) {
    return fail("NotSynced",
                "the ApiKey, Secret and Pod caches have not finished their first list");
  }
  return ok();  // leading, or a standby whose caches are warm: both are healthy
}

}  // namespace keyward::controller
