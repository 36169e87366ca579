#include "tests/provider_sim/provider_simulator.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/support/fake_clock.h"

namespace keyward::sim {
namespace {

HttpRequest req(std::string method, std::string path, std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  return r;
}

HttpRequest login(const std::string& password = "pw", std::optional<std::string> ticket = {}) {
  nlohmann::json body{
      {"name", "alice"}, {"password", password}, {"appId", "a"},   {"appVersion", "1"},
      {"cid", 8},        {"sec", "s3c"},         {"deviceId", "d"}};
  if (ticket) body["p-ticket"] = *ticket;
  return req("POST", "/v1/auth/accesstokenrequest", body.dump());
}

HttpRequest renew(const std::string& token) {
  HttpRequest r = req("GET", "/v1/auth/renewaccesstoken");
  r.headers.emplace("Authorization", "Bearer " + token);
  return r;
}

class SimTest : public ::testing::Test {
 protected:
  SimTest() { sim.add_user({"alice", "pw", "8", "s3c", 7}); }
  keyward::testing::FakeClock clock;
  ProviderSimulator sim{clock, SimConfig{.lifetime = Seconds(5400), .request_budget_per_hour = 5}};
};

TEST_F(SimTest, LoginAnswersTradovateShape) {
  auto r = sim.handle(login());
  ASSERT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_TRUE(j.contains("accessToken"));
  EXPECT_TRUE(j.contains("mdAccessToken"));
  EXPECT_EQ(j["userId"], 7);
  SystemTime exp;
  ASSERT_NO_THROW(exp = parse_rfc3339(j["expirationTime"]).value());
  EXPECT_EQ(exp, clock.now() + Seconds(5400));
  EXPECT_TRUE(r.header("Date").has_value());
  EXPECT_EQ(sim.requests("alice"), 1);
}

TEST_F(SimTest, WrongPasswordIsErrorTextAndCountsAsFailed) {
  auto j = nlohmann::json::parse(sim.handle(login("nope")).body);
  EXPECT_NE(j.value("errorText", "").find("Incorrect username or password"), std::string::npos);
  EXPECT_EQ(sim.failed_requests("alice"), 1);
}

TEST_F(SimTest, ThirdLoginClosesTheOldestSession) {
  const auto t1 = nlohmann::json::parse(sim.handle(login()).body)["accessToken"].get<std::string>();
  sim.handle(login());
  EXPECT_TRUE(sim.token_valid(t1));
  sim.handle(login());
  EXPECT_EQ(sim.live_sessions("alice"), 2);
  EXPECT_FALSE(sim.token_valid(t1));
  EXPECT_EQ(sim.handle(renew(t1)).status, 401);
}

TEST_F(SimTest, RenewalExtendsAndExpiredTokensCannotRenew) {
  const auto t1 = nlohmann::json::parse(sim.handle(login()).body)["accessToken"].get<std::string>();
  clock.advance(std::chrono::minutes(85));
  auto r = sim.handle(renew(t1));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(sim.renewals("alice"), 1);
  clock.advance(std::chrono::minutes(6));
  EXPECT_EQ(sim.handle(renew(t1)).status, 401);
  sim.set_renewals_allowed(false);
  const auto t2 = nlohmann::json::parse(r.body)["accessToken"].get<std::string>();
  EXPECT_TRUE(nlohmann::json::parse(sim.handle(renew(t2)).body).contains("errorText"));
}

TEST_F(SimTest, PenaltyTicketAcceptedOnlyAfterTheWait) {
  sim.penalize_next_login(Seconds(30));
  auto p = nlohmann::json::parse(sim.handle(login()).body);
  ASSERT_TRUE(p.contains("p-ticket"));
  EXPECT_EQ(p["p-time"], 30);
  const std::string ticket = p["p-ticket"];
  clock.advance(Seconds(10));
  auto early = nlohmann::json::parse(sim.handle(login("pw", ticket)).body);
  EXPECT_EQ(early["p-time"], 20);
  clock.advance(Seconds(20));
  auto ok = nlohmann::json::parse(sim.handle(login("pw", ticket)).body);
  EXPECT_TRUE(ok.contains("accessToken")) << ok.dump();
}

TEST_F(SimTest, BudgetOverrunEarnsAPenalty) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(nlohmann::json::parse(sim.handle(login()).body).contains("accessToken"));
  auto sixth = nlohmann::json::parse(sim.handle(login()).body);
  EXPECT_TRUE(sixth.contains("p-ticket"));
  EXPECT_EQ(sim.requests("alice"), 6);
  clock.advance(std::chrono::hours(1));
  EXPECT_TRUE(nlohmann::json::parse(sim.handle(login()).body).contains("accessToken"));
}

TEST_F(SimTest, CaptchaNeverClears) {
  sim.set_captcha(true);
  auto p = nlohmann::json::parse(sim.handle(login()).body);
  EXPECT_EQ(p["p-captcha"], true);
  clock.advance(std::chrono::hours(2));
  auto again =
      nlohmann::json::parse(sim.handle(login("pw", p["p-ticket"].get<std::string>())).body);
  EXPECT_EQ(again["p-captcha"], true);
}

TEST_F(SimTest, FaultsAndOutages) {
  sim.queue_fault(Fault::Garbage);
  sim.queue_fault(Fault::Truncated);
  EXPECT_TRUE(nlohmann::json::parse(sim.handle(login()).body, nullptr, false).is_discarded());
  EXPECT_TRUE(nlohmann::json::parse(sim.handle(login()).body, nullptr, false).is_discarded());
  sim.add_outage_window(clock.now() + Seconds(10), clock.now() + Seconds(20));
  EXPECT_FALSE(sim.down());
  clock.advance(Seconds(10));
  EXPECT_TRUE(sim.down());
  EXPECT_EQ(sim.handle(login()).status, 503);
  clock.advance(Seconds(10));
  EXPECT_FALSE(sim.down());
}

TEST_F(SimTest, OAuth2BasicAndBodyClientAuth) {
  ProviderSimulator o(clock, SimConfig{.lifetime = Seconds(600),
                                       .oauth2_client_id = "cid",
                                       .oauth2_client_secret = "a b&c"});
  HttpRequest body_auth = req("POST", "/oauth2/token",
                              "grant_type=client_credentials&client_id=cid&client_secret=a+b%26c");
  auto r = o.handle(body_auth);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["expires_in"], 600);
  HttpRequest bad = body_auth;
  bad.body = "grant_type=client_credentials&client_id=cid&client_secret=wrong";
  EXPECT_EQ(o.handle(bad).status, 401);
  EXPECT_EQ(o.oauth2_requests("cid"), 2);
}

TEST_F(SimTest, StatsCountLoginsAndRenewalsWithoutSecrets) {
  const auto t1 = nlohmann::json::parse(sim.handle(login()).body)["accessToken"].get<std::string>();
  sim.handle(login("nope"));
  sim.handle(renew(t1));
  sim.set_outage(true);  // the observer's endpoint is not part of the provider's behaviour
  sim.queue_fault(Fault::Garbage);
  auto r = sim.handle(req("GET", "/_sim/stats"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j, sim.stats());
  EXPECT_EQ(j["users"]["alice"]["accessTokenRequests"], 2);
  EXPECT_EQ(j["users"]["alice"]["failedRequests"], 1);
  EXPECT_EQ(j["users"]["alice"]["renewals"], 1);
  EXPECT_EQ(j["users"]["alice"]["liveSessions"], 1);
  EXPECT_EQ(j["totalRequests"], 3);  // stats requests are not counted
  EXPECT_EQ(sim.total_requests(), 3);
  EXPECT_EQ(r.body.find("sim-at-"), std::string::npos);
  EXPECT_EQ(r.body.find("s3c"), std::string::npos);
  // Only the exact path: a provider base path in front is an ordinary 404 (here: the outage).
  EXPECT_EQ(sim.handle(req("GET", "/v1/_sim/stats")).status, 503);
}

TEST_F(SimTest, ServesOverHttp) {
  auto port = sim.start("127.0.0.1", 0);
  ASSERT_TRUE(port) << port.error().message;
  httplib::Client cli("127.0.0.1", *port);
  auto res = cli.Post("/v1/auth/accesstokenrequest", login().body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(nlohmann::json::parse(res->body).contains("accessToken"));
  EXPECT_TRUE(res->has_header("Date"));
  auto stats = cli.Get("/_sim/stats");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->status, 200);
  EXPECT_EQ(nlohmann::json::parse(stats->body)["users"]["alice"]["accessTokenRequests"], 1);
  sim.stop();
}

}  // namespace
}  // namespace keyward::sim
