#pragma once
// The ApiKey reconciler, kube-rs style: reconcile(object) -> Result<Action>. A failed pass is
// retried by the work queue's rate limiter (OperatorManager's kReconcileBackoff), the one backoff,
// no earlier than the error's retry_after (the controller's error policy,
// kube::honour_retry_after). It is not told why it runs; every pass reads the world (the ApiKey,
// its Secret, its pods) and moves it one step towards the spec, so running it twice changes nothing
// the second time.
//
// One pass, in order (docs/operator.md has the crash-safety argument for each step):
//  1. finalizer keyward.dev/cleanup added (JSON patch, test + add) before anything else;
//  2. deletion: blocked while spec.consumers.workloadRef names an existing workload, else the
//     finalizer entry is removed (the Secret goes with its owner reference);
//  3. spec parsed; an invalid spec -> Degraded=True (the parse error's reason and message),
//     Ready=False, no requeue (a spec change triggers the next pass);
//  4. the Secret keyward-<name> created (version 1) or adopted (owner reference, label,
//  annotations);
//  5. rotation when due (RotationPlanner) or when a secretRef source's content changed; an http
//     source first persists an idempotency nonce on the Secret, then calls the provider, then
//     stores the returned key and clears the nonce in one write (retried on conflict with the
//     SAME key, never regenerated);
//  6. previousApiKey dropped once previousExpiresAt has passed;
//  7. stale consumers restarted (ConsumerRestarter); the previous key revoked as soon as no
//     consuming pod runs it (two-phase rotation; Event PreviousKeyRevoked);
//  8. status written through /status only when it changed;
//  9. requeue at exactly the next moment something is due (rotation, grace end, hold deadline,
//     window opening, eviction retry).
// `active: false` stops at step 4: no key is created or rotated and nothing is restarted.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/kube/informer.h"
#include "common/kube/kube_api.h"
#include "operator/apikey/apikey.h"
#include "operator/apikey/key_generator.h"
#include "operator/apikey/key_secret.h"
#include "operator/apikey/last_used.h"
#include "operator/apikey/provider_states.h"
#include "operator/controller/consumer_restarter.h"
#include "operator/controller/event_recorder.h"
#include "operator/controller/operator_metrics.h"

namespace keyward::controller {

struct Action {
  std::optional<std::chrono::seconds> requeue_after;  // nullopt: wait for a change

  static Action requeue(std::chrono::seconds after) { return Action{after}; }
  static Action await_change() { return Action{}; }
  bool operator==(const Action&) const = default;
};

// Called with a step's name before the step's write; returning false stops the pass there with
// Error{"Interrupted"}. Tests use it to "crash" between steps.
using StepHook = std::function<bool(std::string_view step)>;

// Step names passed to the StepHook.
namespace step {
inline constexpr std::string_view kAddFinalizer = "add-finalizer";
inline constexpr std::string_view kRemoveFinalizer = "remove-finalizer";
inline constexpr std::string_view kCreateSecret = "create-secret";
inline constexpr std::string_view kAdoptSecret = "adopt-secret";
inline constexpr std::string_view kPersistNonce = "persist-nonce";
inline constexpr std::string_view kCallProvider = "call-provider";
inline constexpr std::string_view kStoreKey = "store-key";
inline constexpr std::string_view kDropPrevious = "drop-previous";
inline constexpr std::string_view kRevokeAtProvider = "revoke-at-provider";
inline constexpr std::string_view kRestartConsumers = "restart-consumers";
inline constexpr std::string_view kWriteStatus = "write-status";
}  // namespace step

struct ReconcilerDeps {
  kube::KubeApi& api;
  const Clock& clock;
  Logger logger;
  EventRecorder& events;
  apikey::KeyGenerator& generator;
  // Clients for http key sources (URL and spec.source.http.caBundle); empty: http sources
  // report InvalidSpec.
  HttpTransportFactory http_transports;
  OperatorMetrics* metrics = nullptr;
  StepHook step_hook;
  // The broker's record of fetches (status.lastUsedTime); null: the field is left as it is.
  const apikey::LastUsedTimes* last_used = nullptr;
  // The broker sessions' provider states (ProviderReady); null: the condition is left alone.
  const apikey::ProviderStates* provider_states = nullptr;
  // Seals key material at rest (docs/sealing.md); null: stored as plain base64, as before sealing.
  const apikey::KeySealer* sealer = nullptr;
  // The pod informer's cache, synced before any pass: consumer pods are read from it, not
  // listed from the API on every pass. Null: listed (tests without informers).
  const kube::Store* pods = nullptr;
  // The Secret informer's cache: a key Secret in order is read from it (cached_secret). Null:
  // always read from the API.
  const kube::Store* secrets = nullptr;
};

class ApiKeyReconciler {
 public:
  explicit ApiKeyReconciler(ReconcilerDeps deps);

  // One pass over the ApiKey object as read from the cache or the API.
  Result<Action> reconcile(const kube::Object& apikey_object);

  // Forget per-key state (the ApiKey is gone).
  void forget(const std::string& key);
  // Drops the key's per-ApiKey series only ("namespace/name"; operator_metrics.h).
  void forget_metrics(const std::string& key);

  // This replica has just become the leader: its caches may still miss the previous leader's
  // last writes, so each key Secret is read from the API once before its cached copy is trusted.
  void distrust_cache();

  static constexpr std::chrono::seconds kSeedKeyRecheck{60};
  // A failed revoke call at the provider (spec.source.http.revokeUrl) is retried this often.
  static constexpr std::chrono::seconds kProviderRevokeRetry{30};
  static constexpr std::chrono::seconds kDeletionRecheck{30};
  static constexpr std::chrono::seconds kWindowNeverOpensRecheck{3600};
  // A key source that failed (unreachable, rejected, a missing source Secret) is asked again.
  static constexpr std::chrono::seconds kKeySourceRetry{300};

 private:
  struct Pass;

  Result<Action> reconcile_once(const kube::Object& apikey_object);
  Status step(std::string_view name) const;
  Result<Action> handle_deletion(Pass& pass);
  Result<Action> report_invalid_spec(Pass& pass, const Error& error);
  Result<std::optional<apikey::KeySecret>> ensure_secret(Pass& pass);
  static apikey::KeyOwner owner_of(const Pass& pass);
  // Parses the key Secret and remembers its resourceVersion as the newest this reconciler knows.
  Result<apikey::KeySecret> read_secret(const Pass& pass, const kube::Object& secret) const;
  // The key Secret from the cache, or null when it is not there or older than the newest this
  // reconciler wrote or read (read-your-writes, after controller-runtime's cache reads).
  kube::ObjectPtr cached_secret(const Pass& pass, const std::string& name) const;
  // A key Secret write failed: its cached copy is not trusted until the API is read again.
  Result<std::optional<apikey::KeySecret>> secret_write_failed(const Pass& pass, Error error);
  static constexpr const char* kUnknownVersion = "";  // never a resourceVersion
  // The key fields are plaintext, or sealed with a KEK that is no longer the primary.
  bool needs_reseal(const apikey::KeySecret& secret) const;
  Status rotate_if_due(Pass& pass);
  // Writes the key Secret (conditional on the resourceVersion read) and reads it back into pass.
  Status store_secret(Pass& pass, const kube::Object& body);
  // A previous key revoked here and still pending at the provider: retried at most every
  // kProviderRevokeRetry, whatever else the pass does (inactive, no pods).
  Status retry_pending_revoke(Pass& pass);
  // spec.source.http.revokeUrl with the previous key (version `revoked`).
  Status revoke_at_provider(Pass& pass, const apikey::HttpSource& http, std::int64_t revoked);
  Status rotate_with_key(Pass& pass, const apikey::KeyMaterial& new_key, const char* why);
  Status http_rotation(Pass& pass, const std::string& nonce);
  Status drop_expired_previous(Pass& pass);
  // Removes the previous key from the Secret now (an Event says why).
  Status revoke_previous(Pass& pass, const std::string& why);
  std::string compute_status(Pass& pass) const;  // pure: fills pass.desired
  void set_provider_ready(Pass& pass) const;
  void provider_ready_events(const Pass& pass);
  Status write_status(Pass& pass);  // compute_status, events, metric, and the write
  Result<apikey::KeyMaterial> obtain_key(Pass& pass, const std::string& idempotency_key);
  // The keyward_apikeys counts and the ApiKey's own series (operator_metrics.h).
  void record_condition_metric(const Pass& pass, const std::string& condition);
  // Counts keyward_rotation_failures_total once when a failure episode starts (or its reason
  // changes); error null: the rotation step succeeded, the episode ends.
  void note_rotation_outcome(const Pass& pass, const Error* error);

  ReconcilerDeps deps_;
  ConsumerRestarter restarter_;

  std::mutex mu_;  // guards key_conditions_, rotation_failures_ and revoke_retry_at_
  std::map<std::string, std::string> key_conditions_;     // per key: the keyward_apikeys label
  std::map<std::string, std::string> rotation_failures_;  // per key: the failing reason
  // Per key: the earliest next call of the provider's revoke endpoint after a failed one (a
  // restart forgets it: one early retry).
  struct PendingRevoke {
    SystemTime retry_at;
    Error error;  // what the last call gave, reported until the next one
  };
  std::map<std::string, PendingRevoke> revoke_retry_at_;

  mutable std::mutex seen_mu_;  // guards seen_secret_versions_ and trust_unseen_
  // Per key: the resourceVersion of its key Secret as this reconciler last wrote or read it.
  mutable std::map<std::string, std::string> seen_secret_versions_;
  // Whether a key with no entry above may be read from the cache (false after distrust_cache()).
  bool trust_unseen_ = true;
};

}  // namespace keyward::controller
