#include "sidecar/broker_token_source.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"
#include "tests/support/scripted_transport.h"

namespace keyward::sidecar {
namespace {

class BrokerTest : public ::testing::Test {
 protected:
  keyward::testing::FakeClock clock;
  keyward::testing::ScriptedTransport transport;
  std::shared_ptr<MemorySink> sink = std::make_shared<MemorySink>();
  Logger logger{"broker", sink, std::make_shared<Redactor>()};
  std::string sa_token = "sa-token-abcdef\n";
  BrokerTokenSource source{transport,
                           {"", "bots", "alpha-bot"},
                           [this]() -> Result<std::string> { return sa_token; },
                           clock,
                           logger};
};

TEST_F(BrokerTest, FetchesWithTheServiceAccountToken) {
  HttpResponse r;
  r.status = 200;
  r.body =
      R"({"accessToken":"broker-tok-1","mdAccessToken":"md-1","expirationTime":"2027-01-15T12:00:00Z",
               "keyVersion":4,"provider":"tradovate","active":true})";
  r.headers.emplace("Date", "Fri, 15 Jan 2027 10:30:00 GMT");
  transport.push(r);
  auto got = source.fetch(nullptr);
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(got->kind, FetchResult::Kind::Token);
  EXPECT_EQ(got->token.token, "broker-tok-1");
  EXPECT_EQ(got->token.key_version, 4);
  EXPECT_EQ(got->token.provider, "tradovate");
  EXPECT_TRUE(got->token.provider_time);
  const auto req = transport.requests().at(0);
  EXPECT_EQ(req.path, "/v1/namespaces/bots/apikeys/alpha-bot/token");
  EXPECT_EQ(req.headers.find("Authorization")->second, "Bearer sa-token-abcdef");
  logger.info("x", {{"t", "broker-tok-1 sa-token-abcdef"}});
  EXPECT_EQ(sink->joined().find("broker-tok-1"), std::string::npos);
  EXPECT_EQ(sink->joined().find("sa-token-abcdef"), std::string::npos);
}

TEST_F(BrokerTest, RefusalsTheOperatorsBrokerGivesAreClearErrors) {
  transport.push(401, R"({"reason":"Unauthenticated"})");
  transport.push(404, R"({"reason":"ApiKeyNotFound"})");
  transport.push(409, R"({"reason":"NoExchange"})");
  auto unauthenticated = source.fetch(nullptr);
  ASSERT_FALSE(unauthenticated);
  EXPECT_EQ(unauthenticated.error().reason, "Unauthenticated");
  auto missing = source.fetch(nullptr);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, "ApiKeyNotFound");
  auto none = source.fetch(nullptr);
  ASSERT_FALSE(none) << "provider none is not 'inactive'";
  EXPECT_EQ(none.error().reason, "NoExchange");
  EXPECT_NE(none.error().message.find("direct mode"), std::string::npos);
}

TEST_F(BrokerTest, StatusCodesMapToOutcomes) {
  transport.push(403, "{}");
  transport.push(409, R"({"reason":"Inactive"})");
  HttpResponse busy;
  busy.status = 503;
  busy.headers.emplace("Retry-After", "17");
  busy.body =
      R"({"reason":"NoToken","message":"no token: RateLimited: POST /v1/auth/accesstokenrequest answered HTTP 429"})";
  transport.push(busy);
  transport.push(200, R"({"accessToken":"x-abcdef","active":false})");
  transport.push(200, "<html>proxy error</html>");
  transport.push(500, "{}");

  auto forbidden = source.fetch(nullptr);
  ASSERT_FALSE(forbidden);
  EXPECT_EQ(forbidden.error().reason, "Forbidden");
  EXPECT_NE(forbidden.error().message.find("bots/alpha-bot"), std::string::npos);
  EXPECT_EQ(source.fetch(nullptr)->kind, FetchResult::Kind::Inactive);
  auto retry = source.fetch(nullptr);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->kind, FetchResult::Kind::RetryLater);
  EXPECT_EQ(retry->retry_after, Seconds(17));
  EXPECT_NE(retry->message.find("no token: RateLimited"), std::string::npos)
      << "the broker's reason reaches the sidecar's status: " << retry->message;
  EXPECT_EQ(source.fetch(nullptr)->kind, FetchResult::Kind::Inactive);
  EXPECT_EQ(source.fetch(nullptr).error().reason, "InvalidBrokerAnswer");
  EXPECT_EQ(source.fetch(nullptr).error().reason, "BrokerError");
}

TEST_F(BrokerTest, MissingServiceAccountTokenIsClear) {
  BrokerTokenSource s(
      transport, {"", "bots", "a"},
      []() -> Result<std::string> { return fail("NotFound", "opening /x failed"); }, clock, logger);
  auto r = s.fetch(nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "MissingServiceAccountToken");
  EXPECT_TRUE(transport.requests().empty());
}

}  // namespace
}  // namespace keyward::sidecar
