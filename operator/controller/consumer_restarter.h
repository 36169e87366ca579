#pragma once
// Disconnecting stale consumers: pods of an ApiKey (label keyward.dev/apikey=<name> or annotation
// keyward.dev/inject=<name>) whose keyward.dev/key-version is below the current key version are
// restarted. That annotation is the version the pod's sidecar first delivered, recorded by the
// operator's broker (docs/contracts.md, "Which key version a pod runs"); a pod without it has
// not received a key yet and is pending, never restarted. Stale pods are restarted, at most
// maxUnavailable at a time, only while restarts are allowed:
//  - inside a rotation window (RotationPlanner::restart_allowed), or
//  - once the stale pods' key has stopped being valid (the previous key's grace period ended):
//    then waiting for a window would only keep a broken bot running.
// How: a pod owned by a Deployment (through its ReplicaSet), StatefulSet or DaemonSet -> a rollout
// restart of the owner (pod-template annotation kubectl.kubernetes.io/restartedAt, plus
// keyward.dev/restarted-for-version on the owner so each owner restarts once per key version,
// both in one patch), but only while no pod of that owner holds and every pod of it is stale; a
// held pod is never replaced by a rollout. Otherwise, a bare pod, or strategy Evict -> the
// Eviction API, stale pods one by one within maxUnavailable (a 429 from a PodDisruptionBudget
// is retried later, with a Warning event), and the owner recreates them from the same
// template; strategy None -> report only.
// Held pods (keyward.dev/hold) wait until released, or until min(hold-since + holdTimeoutSeconds,
// key expiry); kEscalationLead before that deadline the operator escalates (Warning event +
// condition). The operator stamps keyward.dev/hold-since on a pod when it first sees the hold.
//
// plan_restarts() is the pure decision; ConsumerRestarter gathers the facts and carries it out.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/kube/informer.h"
#include "common/kube/kube_api.h"
#include "operator/apikey/apikey.h"
#include "operator/apikey/rotation_planner.h"
#include "operator/controller/event_recorder.h"
#include "operator/controller/operator_metrics.h"

namespace keyward::controller {

inline constexpr std::chrono::seconds kEscalationLead{300};
// While stale pods remain and nothing else is due, look again after this long.
inline constexpr std::chrono::seconds kStaleRecheck{15};
// After a PodDisruptionBudget refused an eviction.
inline constexpr std::chrono::seconds kEvictionRetry{10};

struct OwnerView {
  std::string kind;  // Deployment | StatefulSet | DaemonSet
  std::string name;
  std::int64_t restarted_for_version = 0;  // keyward.dev/restarted-for-version on the owner
};

struct PodView {
  std::string name;
  // The key version the pod's sidecar first delivered; nullopt: none recorded yet (pending).
  std::optional<std::int64_t> key_version;
  bool ready = false;
  bool terminating = false;
  std::optional<std::string> hold_reason;
  std::optional<SystemTime> hold_since;
  bool has_hold_since = false;     // the annotation exists (even after the hold was released)
  std::optional<OwnerView> owner;  // null: a bare pod (or one whose owner cannot roll)
  std::string uid;                 // metadata.uid: a recreated pod of the same name is another
};

struct RestartSettings {
  std::int64_t key_version = 0;
  apikey::ConsumersSpec consumers;
  const apikey::RotationPlanner* planner = nullptr;  // null: no windows
  std::optional<SystemTime> key_expiry;              // when the stale pods' key stops being valid
};

struct RestartAction {
  enum class Kind { RolloutRestart, Evict, StampHoldSince, ClearHoldSince } kind;
  std::string target;      // pod name, or owner name for RolloutRestart
  std::string owner_kind;  // RolloutRestart only
};

struct Escalation {
  std::string pod;
  std::string reason;
  SystemTime deadline;
};

struct RestartPlan {
  apikey::ConsumerCounts counts;
  // Every pod whose recorded key version is older than the current one, terminating ones
  // included (they still run it until they are gone), and pods with no version recorded yet
  // (they may have delivered a key nobody recorded): while any is left the previous key is kept.
  std::vector<std::string> on_previous;
  std::vector<apikey::Hold> holds;
  std::vector<RestartAction> actions;
  std::vector<Escalation> escalations;
  bool waiting_for_window = false;
  std::optional<SystemTime> wake_at;
};

[[nodiscard]] RestartPlan plan_restarts(const std::vector<PodView>& pods,
                                        const RestartSettings& settings, SystemTime now);

struct RestartReport {
  RestartPlan plan;
  int restarts = 0;                  // rollout restarts + evictions done in this pass
  std::vector<std::string> refused;  // pods whose eviction a PDB refused
};

class ConsumerRestarter {
 public:
  // pods: the pod informer's cache, read instead of listing pods from the API (null: listed).
  ConsumerRestarter(kube::KubeApi& api, const kube::Store* pods, const Clock& clock, Logger logger,
                    EventRecorder& events, OperatorMetrics* metrics);

  // Lists the ApiKey's pods, plans and carries out the plan. `apikey_object` is the ApiKey as
  // read (for events). API failures other than a PDB refusal are returned.
  Result<RestartReport> run(const kube::Object& apikey_object, const RestartSettings& settings);

  // The pods that belong to the ApiKey `name` in `ns`, as PodViews; owners are resolved (read
  // from the API) only when some pod does not run current_version.
  Result<std::vector<PodView>> consumer_pods(const std::string& ns, const std::string& name,
                                             std::int64_t current_version);

 private:
  Result<std::optional<OwnerView>> resolve_owner(const std::string& ns, const kube::Object& pod);

  kube::KubeApi& api_;
  const kube::Store* pods_;
  const Clock& clock_;
  Logger logger_;
  EventRecorder& events_;
  OperatorMetrics* metrics_;
  // What a write of ours makes visible on a pod: until the cached copy of that pod (same uid)
  // shows it, the cache has not seen the write and the pod is read from the API instead (never
  // evicted twice, never counted ready while it terminates, a hold never stamped twice).
  enum class Expect { Terminating, HoldSinceSet, HoldSinceCleared };
  struct Written {
    std::string uid;
    Expect expect;
  };
  static bool shows(const kube::Object& pod, const Written& written);
  bool cache_behind_our_write(const std::string& ns, const kube::Object& cached);
  void wrote_pod(const std::string& ns, const std::string& pod, const std::string& uid,
                 Expect expect);
  // Drops the records of pods in ns that are no longer in the cache.
  void prune_written(const std::string& ns, const std::vector<kube::ObjectPtr>& in_cache);

  std::mutex mu_;  // guards escalated_ and written_
  // "<ns>/<pod>@<deadline>" already escalated: one Warning event per hold deadline (best effort;
  // after an operator restart the event is aggregated into the same Event object anyway).
  std::set<std::string> escalated_;
  // "<ns>/<pod>" -> what our last write to it makes visible, until the cache shows it.
  std::map<std::string, Written> written_;
};

}  // namespace keyward::controller
