#include "common/core/metrics.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

TEST(MetricsRegistry, RendersCountersGaugesAndHistogramsWithLabels) {
  MetricsRegistry registry;
  auto& refreshes = registry.counter("keyward_token_refreshes_total", "Token refreshes.");
  refreshes.inc({{"provider", "tradovate"}});
  refreshes.inc({{"provider", "tradovate"}});
  registry.gauge("keyward_token_seconds_to_expiry", "Seconds left.").set(5100);
  auto& h = registry.histogram("keyward_reconcile_duration_seconds", "Reconcile time.", {0.1, 1});
  h.observe({{"result", "ok"}}, 0.05);
  h.observe({{"result", "ok"}}, 0.5);
  h.observe({{"result", "ok"}}, 3);
  EXPECT_EQ(&refreshes, &registry.counter("keyward_token_refreshes_total", "again"));

  const std::string text = registry.render();
  EXPECT_NE(text.find("# TYPE keyward_token_refreshes_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("keyward_token_refreshes_total{provider=\"tradovate\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("keyward_token_seconds_to_expiry 5100\n"), std::string::npos);
  EXPECT_NE(text.find("keyward_reconcile_duration_seconds_bucket{result=\"ok\",le=\"0."
                      "10000000000000001\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("keyward_reconcile_duration_seconds_bucket{result=\"ok\",le=\"1\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("keyward_reconcile_duration_seconds_bucket{result=\"ok\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("keyward_reconcile_duration_seconds_count{result=\"ok\"} 3\n"),
            std::string::npos);
  EXPECT_EQ(h.count({{"result", "ok"}}), 3U);
}

TEST(MetricsRegistry, EscapesLabelValues) {
  MetricsRegistry registry;
  registry.counter("x_total", "x").inc({{"object", "a\"b\\c\nd"}});
  EXPECT_NE(registry.render().find("x_total{object=\"a\\\"b\\\\c\\nd\"} 1"), std::string::npos);
}

TEST(Counter, NeverGoesDown) {
  MetricsRegistry registry;
  auto& c = registry.counter("c_total", "c");
  c.inc({}, 2);
  c.inc({}, -1);
  EXPECT_EQ(c.value(), 2);
}

}  // namespace
}  // namespace keyward
