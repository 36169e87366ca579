#pragma once
// The operator's Prometheus metrics, registered once in a MetricsRegistry owned by main().

#include "common/core/metrics.h"

namespace keyward::controller {

struct OperatorMetrics {
  explicit OperatorMetrics(MetricsRegistry& registry);

  Counter& reconcile_total;         // {result="success"|"error"|"requeue"}
  Counter& reconcile_errors_total;  // {reason}
  Histogram& reconcile_duration_seconds;
  Gauge& workqueue_depth;
  Counter& rotations_total;
  Counter& restarts_total;  // {strategy="RolloutRestart"|"Evict"}
  Gauge& apikeys;           // {condition="Ready"|"NotReady"|"Degraded"|"Inactive"}
};

}  // namespace keyward::controller
