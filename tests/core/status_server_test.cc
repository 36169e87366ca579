#include "common/core/status_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

namespace keyward {
namespace {

TEST(StatusServer, ServesProbesMetricsAndExtraRoutes) {
  MetricsRegistry metrics;
  metrics.counter("keyward_demo_total", "demo").inc();
  std::atomic<bool> ready{false};
  StatusServer server(
      make_null_logger(), metrics, [] { return ok(); },
      [&]() -> Status {
        if (ready) return ok();
        return fail("NoToken", "no valid token yet");
      });
  server.add_route({"GET", "/v1/status", [](const HttpRequest& req) {
                      HttpResponse r;
                      r.status = 200;
                      r.body = R"({"path":")" + req.path + "\"}";
                      return r;
                    }});
  ASSERT_TRUE(server.start("127.0.0.1", 0));
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client.Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_NE(res->body.find("NoToken"), std::string::npos);
  ready = true;
  EXPECT_EQ(client.Get("/readyz")->status, 200);
  res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("keyward_demo_total 1"), std::string::npos);
  res = client.Get("/v1/status?x=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_NE(res->body.find("/v1/status?x=1"), std::string::npos);
  server.stop();
  EXPECT_FALSE(client.Get("/healthz"));
}

// The pool is small (2 workers), so it must not let clients hold workers: two keep-alive
// clients that keep their connections open (a Prometheus scraper does) must not starve the
// kubelet's probe, which has a 1 s timeout.
TEST(StatusServer, KeepAliveClientsDoNotStarveProbes) {
  MetricsRegistry metrics;
  StatusServer server(
      make_null_logger(), metrics, [] { return ok(); }, [] { return ok(); },
      StatusServerLimits{2, Seconds{2}});
  ASSERT_TRUE(server.start("127.0.0.1", 0));
  httplib::Client a("127.0.0.1", server.port());
  httplib::Client b("127.0.0.1", server.port());
  a.set_keep_alive(true);
  b.set_keep_alive(true);
  ASSERT_EQ(a.Get("/metrics")->status, 200);
  ASSERT_EQ(b.Get("/metrics")->status, 200);
  httplib::Client probe("127.0.0.1", server.port());
  probe.set_read_timeout(1, 0);
  auto res = probe.Get("/readyz");
  ASSERT_TRUE(res) << "the probe was not answered within 1 s: keep-alive clients hold the workers";
  EXPECT_EQ(res->status, 200);
  // The keep-alive clients still work (they reconnect when the server closed the connection).
  EXPECT_EQ(a.Get("/healthz")->status, 200);
}

TEST(StatusServer, RejectsAPoolWithoutWorkers) {
  MetricsRegistry metrics;
  StatusServer server(
      make_null_logger(), metrics, [] { return ok(); }, [] { return ok(); },
      StatusServerLimits{0, Seconds{2}});
  auto s = server.start("127.0.0.1", 0);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().reason, "InvalidLimits");
}

}  // namespace
}  // namespace keyward
