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

}  // namespace
}  // namespace keyward
