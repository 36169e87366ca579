// A slow provider over real HTTP: the attempt fails within the request timeout instead of
// hanging the refresher.

#include <gtest/gtest.h>

#include "common/core/http_transport_httplib.h"
#include "common/token/tradovate_provider.h"
#include "tests/provider_sim/provider_simulator.h"

namespace keyward {
namespace {

TEST(SlowProviderTest, TimesOutAsUnreachableThenWorksWhenFastAgain) {
  RealClock clock;
  sim::ProviderSimulator sim(clock, sim::SimConfig{.lifetime = Seconds(600)});
  sim.add_user({"alice", "pw-0123456789", "8", "sec-0123456789", 1});
  auto port = sim.start("127.0.0.1", 0);
  ASSERT_TRUE(port);
  auto ep = HttpEndpoint::parse(sim.url());
  ASSERT_TRUE(ep);
  auto transport = HttplibTransport::create(*ep, {});
  ASSERT_TRUE(transport) << transport.error().message;
  TradovateProvider provider(**transport, "/v1", clock, make_null_logger(), Millis(200));
  Credentials c;
  c.username = "alice";
  c.password = "pw-0123456789";
  c.client_id = "8";
  c.api_key = "sec-0123456789";

  sim.set_delay(Millis(700));
  const auto t0 = std::chrono::steady_clock::now();
  auto slow = provider.request(c);
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().reason, "Unreachable") << slow.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(650));

  sim.set_delay(Millis(0));
  auto fast = provider.request(c);
  ASSERT_TRUE(fast) << fast.error().message;
  EXPECT_TRUE(std::holds_alternative<AccessToken>(*fast));
  sim.stop();
}

}  // namespace
}  // namespace keyward
