// Provider limits at the provider boundary: Retry-After in both forms, 429/423/5xx classified
// with their waits, the client-side request budget per upstream account, and BudgetedProvider
// in front of the real Tradovate client talking to the simulator (what is refused is not sent).

#include "common/token/provider_limits.h"

#include <gtest/gtest.h>

#include "common/token/provider_token_source.h"
#include "common/token/tradovate_provider.h"
#include "tests/provider_sim/simulator_transport.h"
#include "tests/support/fake_clock.h"

namespace keyward {
namespace {

using namespace std::chrono_literals;

TEST(RetryAfterTest, SecondsOrAnHttpDate) {
  const SystemTime now = SystemTime(std::chrono::seconds(1'800'000'000));
  EXPECT_EQ(parse_retry_after("30", now), Seconds(30));
  EXPECT_EQ(parse_retry_after(" 0 ", now), Seconds(0));
  EXPECT_EQ(parse_retry_after(format_http_date(now + 125s), now), Seconds(125));
  EXPECT_EQ(parse_retry_after(format_http_date(now - 10s), now), Seconds(0)) << "a past date";
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("12abc", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
}

HttpResponse answer(int status, std::optional<std::string> retry_after = {}) {
  HttpResponse r;
  r.status = status;
  if (retry_after) r.headers.emplace("Retry-After", *retry_after);
  return r;
}

TEST(LimitErrorTest, EachStatusWithItsWait) {
  const SystemTime now = SystemTime(std::chrono::seconds(1'800'000'000));
  const auto tradovate = ProviderLimits::tradovate();
  auto e = limit_error(answer(429, "30"), "POST /v1/auth/accesstokenrequest", tradovate, now);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, "RateLimited");
  EXPECT_EQ(e->retry_after, Seconds(30));
  EXPECT_NE(e->message.find(format_rfc3339(now + 30s)), std::string::npos) << e->message;

  e = limit_error(answer(429, "next week"), "POST x", tradovate, now);
  EXPECT_EQ(e->retry_after, Seconds(3600)) << "unreadable: Tradovate's hour";
  EXPECT_NE(e->message.find("unreadable Retry-After"), std::string::npos);
  e = limit_error(answer(429), "POST x", ProviderLimits::oauth2(), now);
  EXPECT_EQ(e->retry_after, Seconds(60));

  e = limit_error(answer(423), "POST x", tradovate, now);
  EXPECT_EQ(e->reason, "LockedOut");
  EXPECT_EQ(e->retry_after, Seconds(3600));

  e = limit_error(answer(503, "7"), "POST x", tradovate, now);
  EXPECT_EQ(e->reason, "ProviderUnavailable");
  EXPECT_EQ(e->retry_after, Seconds(7));
  e = limit_error(answer(500), "POST x", tradovate, now);
  EXPECT_EQ(e->reason, "ProviderUnavailable");
  EXPECT_EQ(e->retry_after, std::nullopt) << "no header: the caller's own backoff";

  e = limit_error(answer(429, "0"), "POST x", tradovate, now);
  EXPECT_EQ(e->retry_after, Seconds(1)) << "no tight loop on a zero";
  e = limit_error(answer(429, "99999999999"), "POST x", tradovate, now);
  EXPECT_EQ(e->retry_after, Seconds(24 * 3600)) << "no overflow on a huge one";
  // A date is read against the answer's own Date: a local clock 10 minutes ahead waits the
  // full 60 s the server meant, not nothing.
  HttpResponse dated = answer(429, format_http_date(now - 10min + 60s));
  dated.headers.emplace("Date", format_http_date(now - 10min));
  EXPECT_EQ(limit_error(dated, "POST x", tradovate, now)->retry_after, Seconds(60));

  EXPECT_FALSE(limit_error(answer(200), "POST x", tradovate, now));
  EXPECT_FALSE(limit_error(answer(400), "POST x", tradovate, now));
}

TEST(RequestBudgetTest, ARollingHourCountsEveryRequest) {
  RequestBudget budget(5, 15);
  const SystemTime t0 = SystemTime(std::chrono::seconds(1'800'000'000));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(budget.try_spend(RequestBudget::Kind::Login, t0 + i * 60s), std::nullopt) << i;
  }
  EXPECT_EQ(budget.try_spend(RequestBudget::Kind::Login, t0 + 10min), t0 + 1h)
      << "the sixth waits until the first leaves the window";
  EXPECT_EQ(budget.spent(RequestBudget::Kind::Login, t0 + 10min), 5) << "a refusal spends none";
  EXPECT_EQ(budget.try_spend(RequestBudget::Kind::Renewal, t0 + 10min), std::nullopt)
      << "renewals have their own budget";
  EXPECT_EQ(budget.try_spend(RequestBudget::Kind::Login, t0 + 1h), std::nullopt);
  EXPECT_EQ(budget.try_spend(RequestBudget::Kind::Login, t0 + 1h + 1s), t0 + 1h + 60s);
}

TEST(RequestBudgetTest, OneBudgetPerAccount) {
  RequestBudgets budgets;
  auto a = budgets.for_account("user alice at https://demo", ProviderLimits::tradovate());
  auto b = budgets.for_account("user alice at https://demo", ProviderLimits::tradovate());
  auto c = budgets.for_account("user bob at https://demo", ProviderLimits::tradovate());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

class BudgetedTradovateTest : public ::testing::Test {
 protected:
  BudgetedTradovateTest() {
    sim.add_user({"alice", "correct-horse-battery", "8", "sec-key-0123456789", 42});
  }
  static Credentials alice(const std::string& password = "correct-horse-battery") {
    Credentials c;
    c.username = "alice";
    c.password = password;
    c.client_id = "8";
    c.api_key = "sec-key-0123456789";
    return c;
  }
  keyward::testing::FakeClock clock;
  std::shared_ptr<MemorySink> sink = std::make_shared<MemorySink>();
  Logger logger{"test", sink, std::make_shared<Redactor>()};
  sim::ProviderSimulator sim{clock, sim::SimConfig{}};
  sim::SimulatorTransport transport{sim};
  TradovateProvider tradovate{transport, "/v1", clock, logger};
  BudgetedProvider provider{tradovate, std::make_shared<RequestBudget>(5, 15), clock,
                            "user alice at https://demo.tradovateapi.com/v1"};
};

TEST_F(BudgetedTradovateTest, FailuresCountAndTheSixthLoginIsNeverSent) {
  // Failed logins spend from the budget as they do at Tradovate.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(provider.request(alice("wrong")).error().reason, "CredentialsRejected");
    clock.advance(1min);
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(provider.request(alice()));
    clock.advance(1min);
  }
  auto g = provider.request(alice());
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, "RequestBudgetExhausted");
  EXPECT_EQ(g.error().retry_after, Seconds(55 * 60)) << "until the first login leaves the hour";
  EXPECT_NE(g.error().message.find("5 logins of user alice"), std::string::npos)
      << g.error().message;
  EXPECT_EQ(sim.requests("alice"), 5) << "the sixth never reached the provider";
  clock.advance(55min);
  EXPECT_TRUE(provider.request(alice()));
  EXPECT_EQ(sim.requests("alice"), 6);
}

TEST_F(BudgetedTradovateTest, AnOutageSpendsNoBudgetSoTheRenewalAfterItIsNotHeld) {
  auto g = provider.request(alice());
  ASSERT_TRUE(g);
  const AccessToken t = std::get<AccessToken>(*g);
  sim.set_outage(true);  // connection refused
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(provider.renew(t).error().reason, "Unreachable");
    EXPECT_EQ(provider.request(alice()).error().reason, "Unreachable");
    clock.advance(30s);
  }
  sim.set_outage(false);
  EXPECT_TRUE(provider.renew(t)) << "nothing was spent while nothing reached the provider";
  EXPECT_TRUE(provider.request(alice()));
}

TEST_F(BudgetedTradovateTest, RenewalsHaveTheirOwnFifteen) {
  auto g = provider.request(alice());
  ASSERT_TRUE(g);
  AccessToken t = std::get<AccessToken>(*g);
  for (int i = 0; i < 15; ++i) {
    auto r = provider.renew(t);
    ASSERT_TRUE(r) << i << ": " << r.error().message;
    t = *r;
  }
  auto r = provider.renew(t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "RequestBudgetExhausted");
  EXPECT_EQ(sim.renewals("alice"), 15);
}

TEST_F(BudgetedTradovateTest, RejectedCredentialsAreNotSentAgainUntilTheyChange) {
  Credentials current = alice("wrong");
  ProviderTokenSource source(
      provider, [&]() -> Result<Credentials> { return current; }, logger);
  for (int i = 0; i < 4; ++i) {
    auto r = source.fetch(nullptr);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "CredentialsRejected");
  }
  EXPECT_EQ(sim.requests("alice"), 1) << "the same refused credentials are not sent again";
  source.credentials_changed();  // an unrelated file event: the same credentials
  EXPECT_FALSE(source.fetch(nullptr));
  EXPECT_EQ(sim.requests("alice"), 1);
  current = alice();
  source.credentials_changed();
  auto r = source.fetch(nullptr);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(sim.requests("alice"), 2);
}

TEST_F(BudgetedTradovateTest, ARenewalRefusedBeforeExpiryIsASessionReplacedByAnotherLogin) {
  Credentials current = alice();
  ProviderTokenSource source(
      provider, [&]() -> Result<Credentials> { return current; }, logger);
  auto first = source.fetch(nullptr);
  ASSERT_TRUE(first);
  // Two other clients log in as alice: Tradovate keeps two sessions and closes the oldest.
  ASSERT_TRUE(tradovate.request(alice()));
  ASSERT_TRUE(tradovate.request(alice()));
  EXPECT_FALSE(sim.token_valid(first->token.token));
  auto second = source.fetch(&first->token);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_FALSE(second->renewed) << "it logged in again";
  EXPECT_EQ(second->warning_reason, "SessionReplaced");
  EXPECT_NE(second->warning.find("another client logged in as the same user"), std::string::npos);
  EXPECT_TRUE(source.revoked(first->token));
  EXPECT_FALSE(source.revoked(second->token));
  EXPECT_NE(sink->joined().find(R"("level":"warn")"), std::string::npos) << sink->joined();
}

}  // namespace
}  // namespace keyward
