#include "operator/controller/operator_metrics.h"

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
      restarts_total(
          registry.counter("keyward_restarts_total", "Consumer restarts triggered, by strategy.")),
      apikeys(registry.gauge("keyward_apikeys", "ApiKeys by condition.")) {}

}  // namespace keyward::controller
