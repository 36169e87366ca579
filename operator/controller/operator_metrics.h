#pragma once
// The operator's Prometheus metrics, registered once in a MetricsRegistry owned by main().
// docs/monitoring.md lists them with their labels; the chart's alerts and dashboard use them.

#include <optional>
#include <string>

#include "common/core/clock.h"
#include "common/core/metrics.h"
#include "operator/apikey/apikey.h"

namespace keyward::controller {

struct OperatorMetrics {
  explicit OperatorMetrics(MetricsRegistry& registry);

  Counter& reconcile_total;         // {result="success"|"error"|"requeue"}
  Counter& reconcile_errors_total;  // {reason}
  Histogram& reconcile_duration_seconds;
  Gauge& workqueue_depth;
  Counter& rotations_total;  // {namespace, name}
  Counter& restarts_total;   // {namespace, name, strategy="RolloutRestart"|"Evict"}
  Gauge& apikeys;            // {condition="Ready"|"NotReady"|"Degraded"|"Inactive"}: counts
  // Per ApiKey, {namespace, name, ...}: one series each, replaced when the key's state changes.
  Gauge& apikey_condition;                 // {condition, reason} = 1
  Gauge& next_rotation_timestamp_seconds;  // from the last rotation; absent when none is planned
  Gauge& consumers;                        // {state="current"|"stale"|"held"}
  Counter& rotation_failures_total;        // {reason}: failure episodes, once per reason
  Gauge& rotation_failing;                 // {reason} = 1 while an episode lasts
  Counter& hold_escalations_total;         // a held pod escalated before its forced restart
  Gauge& leader;                           // 1 while this replica reconciles (holds the lease)
};

// What the per-ApiKey series say after one pass.
struct ApiKeyMetricState {
  std::string condition;  // Ready, NotReady, Degraded or Inactive
  std::string reason;     // the CamelCase reason that decided it
  std::optional<SystemTime> next_rotation;
  apikey::ConsumerCounts consumers;
};

// Replaces the ApiKey's per-key series with `state`.
void record_apikey_metrics(OperatorMetrics& metrics, const std::string& ns, const std::string& name,
                           const ApiKeyMetricState& state);
// Drops every per-key series of every ApiKey and the condition counts: a replica that stops
// leading stops reporting them (the new leader does).
void forget_all_apikey_metrics(OperatorMetrics& metrics);
// Drops every per-key series of the ApiKey (it was deleted).
void forget_apikey_metrics(OperatorMetrics& metrics, const std::string& ns,
                           const std::string& name);

}  // namespace keyward::controller
