#include "operator/controller/operator_metrics.h"

#include <chrono>

namespace keyward::controller {

OperatorMetrics::OperatorMetrics(MetricsRegistry& registry)
    : reconcile_total(registry.counter("keyward_reconcile_total",
                                       "ApiKey reconciles by result (success, requeue, error).")),
      reconcile_errors_total(
          registry.counter("keyward_reconcile_errors_total", "ApiKey reconcile errors by reason.")),
      reconcile_duration_seconds(registry.histogram("keyward_reconcile_duration_seconds",
                                                    "Time one ApiKey reconcile took.")),
      workqueue_depth(
          registry.gauge("keyward_workqueue_depth", "ApiKeys waiting in the work queue.")),
      rotations_total(registry.counter("keyward_rotations_total",
                                       "Key rotations performed (new key versions written).")),
      restarts_total(registry.counter("keyward_restarts_total",
                                      "Consumer restarts triggered, by ApiKey and strategy.")),
      apikeys(registry.gauge("keyward_apikeys", "ApiKeys by condition.")),
      apikey_condition(registry.gauge(
          "keyward_apikey_condition",
          "1 for each ApiKey's condition (Ready, NotReady, Degraded, Inactive) and its reason.")),
      next_rotation_timestamp_seconds(
          registry.gauge("keyward_apikey_next_rotation_timestamp_seconds",
                         "Unix time the ApiKey's next rotation is planned for, from its last "
                         "rotation (window-aware; in the past while an overdue rotation has not "
                         "happened).")),
      consumers(registry.gauge("keyward_consumers",
                               "Pods using the ApiKey by state (current, stale, held).")),
      rotation_failures_total(
          registry.counter("keyward_rotation_failures_total",
                           "Rotation failure episodes by ApiKey and reason: counted when the key "
                           "source starts failing (or fails for another reason), once until a "
                           "rotation step succeeds.")),
      rotation_failing(registry.gauge(
          "keyward_rotation_failing",
          "1 while the ApiKey's rotation step keeps failing, with the reason (the operator asks "
          "its key source again every 5 minutes or after its Retry-After).")),
      hold_escalations_total(registry.counter(
          "keyward_hold_escalations_total",
          "Held pods escalated: their hold will time out or their key expire within minutes.")),
      leader(registry.gauge("keyward_leader",
                            "1 while this replica is the leader (reconciles and serves tokens).")) {
}

void record_apikey_metrics(OperatorMetrics& metrics, const std::string& ns, const std::string& name,
                           const ApiKeyMetricState& state) {
  const Labels key{{"namespace", ns}, {"name", name}};
  Labels condition = key;
  condition["condition"] = state.condition;
  condition["reason"] = state.reason;
  if (!metrics.apikey_condition.has(condition)) {
    metrics.apikey_condition.erase_matching(key);
    metrics.apikey_condition.set(condition, 1);
  }
  if (state.next_rotation) {
    metrics.next_rotation_timestamp_seconds.set(
        key, std::chrono::duration<double>(state.next_rotation->time_since_epoch()).count());
  } else {
    metrics.next_rotation_timestamp_seconds.erase_matching(key);
  }
  const auto set_consumers = [&](const char* st, std::int32_t n) {
    Labels l = key;
    l["state"] = st;
    metrics.consumers.set(l, n);
  };
  set_consumers("current", state.consumers.up_to_date);
  set_consumers("stale", state.consumers.stale);
  set_consumers("held", state.consumers.held);
}

void forget_all_apikey_metrics(OperatorMetrics& metrics) {
  metrics.apikey_condition.erase_matching({});
  metrics.next_rotation_timestamp_seconds.erase_matching({});
  metrics.consumers.erase_matching({});
  metrics.rotation_failing.erase_matching({});
  metrics.apikeys.erase_matching({});
}

void forget_apikey_metrics(OperatorMetrics& metrics, const std::string& ns,
                           const std::string& name) {
  const Labels key{{"namespace", ns}, {"name", name}};
  metrics.apikey_condition.erase_matching(key);
  metrics.next_rotation_timestamp_seconds.erase_matching(key);
  metrics.consumers.erase_matching(key);
  metrics.rotation_failing.erase_matching(key);
}

}  // namespace keyward::controller
