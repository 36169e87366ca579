// The broker's upstream sessions on a FakeClock against the provider simulator (in-process):
// login at start, renewal at 85 of 90 minutes, rotation, inactive, deletion, penalty, captcha,
// an outage ridden on the token in place, and GETs that never reach the provider.

#include "operator/broker/session.h"

#include <gtest/gtest.h>

#include "common/core/base64.h"
#include "operator/broker/session_manager.h"
#include "operator/broker/session_store.h"
#include "tests/broker/broker_test_support.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_random.h"
#include "tests/support/memory_filesystem.h"
#include "tests/support/memory_kube_api.h"

namespace keyward::broker {
namespace {

using namespace std::chrono_literals;
using testing::Json;

class SessionTest : public ::testing::Test {
 protected:
  SessionTest()
      : sink(std::make_shared<MemorySink>()),
        logger("broker", sink, std::make_shared<Redactor>(), LogLevel::Debug, &clock),
        simulator(clock, sim::SimConfig{}),
        deps{clock, random,  metrics, logger, testing::simulator_factory(simulator),
             {},    nullptr, nullptr, {}} {
    simulator.add_user({"alice", testing::kPassword, "8", testing::kKey1, 42});
  }

  SessionConfig config(const std::string& key = testing::kKey1, int version = 1) {
    auto a = apikey::parse_apikey(testing::broker_apikey("alpha"));
    EXPECT_TRUE(a) << a.error().message;
    return SessionConfig{
        "bots", "alpha", a->spec.token_exchange,
        session_credentials(
            *a, apikey::KeyMaterial(key), version,
            {{"username", "alice"}, {"password", testing::kPassword}, {"clientId", "8"}}),
        "uid-alpha"};
  }

  std::unique_ptr<Session> make() {
    auto s = Session::create(config(), deps);
    EXPECT_TRUE(s) << s.error().message;
    return std::move(*s);
  }

  // Everything the program printed must be free of the secrets it was fed or handed out.
  void expect_no_secrets() {
    const std::string all = sink->joined() + metrics.render();
    for (const std::string& secret : {std::string(testing::kPassword), std::string(testing::kKey1),
                                      std::string(testing::kKey2), simulator.last_token()}) {
      if (secret.empty()) continue;
      EXPECT_EQ(all.find(secret), std::string::npos) << "a secret was printed";
    }
  }

  testing::FakeClock clock;
  testing::FakeRandom random;  // 0: no jitter, shortest backoff
  MetricsRegistry metrics;
  std::shared_ptr<MemorySink> sink;
  Logger logger;
  sim::ProviderSimulator simulator;
  SessionDeps deps;
};

TEST_F(SessionTest, LogsInAtStartAndRenewsAt85Of90Minutes) {
  auto s = make();
  const SystemTime t0 = clock.now();
  EXPECT_FALSE(s->token(t0));
  const SystemTime next = s->step(t0);
  EXPECT_EQ(simulator.requests("alice"), 1);
  auto token = s->token(t0);
  ASSERT_TRUE(token);
  EXPECT_TRUE(simulator.token_valid(token->token));
  EXPECT_EQ(token->key_version, 1);
  EXPECT_EQ(token->provider, "tradovate");
  EXPECT_EQ(next, t0 + 85min);  // 90-minute token, 5-minute lead, no jitter
  EXPECT_EQ(metrics.gauge("keyward_broker_upstream_requests_last_hour", "")
                .value({{"namespace", "bots"}, {"name", "alpha"}, {"kind", "login"}}),
            1);

  clock.advance(85min);
  EXPECT_EQ(s->step(clock.now()), clock.now() + 85min);
  EXPECT_EQ(simulator.requests("alice"), 1) << "a renewal, not a second login";
  EXPECT_EQ(simulator.renewals("alice"), 1);
  auto renewed = s->token(clock.now());
  ASSERT_TRUE(renewed);
  EXPECT_NE(renewed->token, token->token);
  EXPECT_EQ(metrics.counter("keyward_broker_upstream_refreshes_total", "")
                .value({{"kind", "renew"}, {"namespace", "bots"}, {"name", "alpha"}}),
            1);
  // The account's budget for the dashboard: the login left the rolling hour, the renewal is in.
  auto& spent = metrics.gauge("keyward_broker_upstream_requests_last_hour", "");
  auto& limit = metrics.gauge("keyward_broker_upstream_requests_per_hour_limit", "");
  const auto of = [](const char* kind) {
    return Labels{{"namespace", "bots"}, {"name", "alpha"}, {"kind", kind}};
  };
  EXPECT_EQ(spent.value(of("login")), 0);
  EXPECT_EQ(spent.value(of("renewal")), 1);
  EXPECT_EQ(limit.value(of("login")), 5);
  EXPECT_GT(limit.value(of("renewal")), 0);
  // A stopped session reports nothing (not its last token for ever).
  s->stop();
  const Labels key{{"namespace", "bots"}, {"name", "alpha"}};
  EXPECT_FALSE(metrics.gauge("keyward_broker_upstream_token_valid", "").has(key));
  EXPECT_FALSE(metrics.gauge("keyward_broker_upstream_token_expiry_seconds", "").has(key));
  EXPECT_FALSE(spent.has(of("login")));
  expect_no_secrets();
}

// Failover: a session stores each new token sealed; the session a new leader starts serves it at
// once and renews it when due. No login is spent on the leader change, and the Secret holds no
// token in plaintext. A stored token of another key is not adopted.
TEST_F(SessionTest, ANewLeaderContinuesTheStoredSessionWithoutALogin) {
  testing::MemoryFilesystem kek_files;
  kek_files.set("/kek/k1", base64_encode(std::string(32, 'k')));
  apikey::KekDirectory keks(kek_files, clock, "/kek");
  apikey::OpenSslRandomBytes nonces;
  apikey::KeySealer sealer(keks, nonces);
  testing::MemoryKubeApi api;
  SecretSessionStore store(api, sealer, logger);
  deps.store = &store;

  auto leader = make();
  leader->step(clock.now());
  ASSERT_EQ(simulator.requests("alice"), 1);
  const auto served = leader->token(clock.now());
  ASSERT_TRUE(served);
  auto stored = api.get(kube::ResourceType::secrets(), "bots", "keyward.session.alpha");
  ASSERT_TRUE(stored) << "the session was not stored";
  EXPECT_EQ(stored->dump().find(served->token), std::string::npos) << "a token in plaintext";
  EXPECT_EQ(stored->at("metadata")["ownerReferences"][0]["uid"], "uid-alpha");
  leader.reset();  // the leader dies (its memory is gone)

  clock.advance(20min);
  auto next = make();       // the new leader's session
  next->step(clock.now());  // its first step: the stored session, no request
  auto continued = next->token(clock.now());
  ASSERT_TRUE(continued) << "the stored token is not served";
  EXPECT_EQ(continued->token, served->token);
  EXPECT_EQ(simulator.requests("alice"), 1) << "the new leader logged in";
  clock.advance(65min);  // the renewal is due at 85 minutes
  next->step(clock.now());
  EXPECT_EQ(simulator.requests("alice"), 1) << "a renewal, not a login";
  EXPECT_EQ(simulator.renewals("alice"), 1);
  ASSERT_TRUE(next->token(clock.now()));
  EXPECT_TRUE(simulator.token_valid(next->token(clock.now())->token));

  // A stored session of an earlier key is not continued: the new key logs in.
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey2, 42});
  auto rotated = Session::create(config(testing::kKey2, 2), deps);
  ASSERT_TRUE(rotated);
  EXPECT_FALSE((*rotated)->token(clock.now()));
  (*rotated)->step(clock.now());
  EXPECT_EQ(simulator.requests("alice"), 2);
  expect_no_secrets();
}

TEST_F(SessionTest, RotationWipesTheOldTokenAndLogsInWithTheNewKeyAtOnce) {
  auto s = make();
  s->step(clock.now());
  auto old_token = s->token(clock.now());
  ASSERT_TRUE(old_token);
  clock.advance(10min);

  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey2, 42});  // provider side
  EXPECT_TRUE(s->update_credentials(config(testing::kKey2, 2).credentials));
  EXPECT_FALSE(s->token(clock.now())) << "no client gets the old key's token after a rotation";
  EXPECT_FALSE(s->update_credentials(config(testing::kKey2, 2).credentials)) << "no change";

  s->step(clock.now());
  EXPECT_EQ(simulator.requests("alice"), 2) << "a fresh login with the new key";
  EXPECT_EQ(simulator.renewals("alice"), 0) << "the old session is never renewed";
  auto token = s->token(clock.now());
  ASSERT_TRUE(token);
  EXPECT_EQ(token->key_version, 2);
  EXPECT_TRUE(simulator.token_valid(token->token));
  expect_no_secrets();
}

TEST_F(SessionTest, PenaltyIsHonouredToTheSecond) {
  simulator.penalize_next_login(Seconds(30));
  auto s = make();
  const SystemTime t0 = clock.now();
  EXPECT_EQ(s->step(t0), t0 + 30s);
  EXPECT_FALSE(s->token(t0));
  EXPECT_EQ(metrics.counter("keyward_broker_upstream_penalties_total", "")
                .value({{"namespace", "bots"}, {"name", "alpha"}, {"kind", "p-ticket"}}),
            1);
  clock.advance(29s);
  EXPECT_EQ(s->step(clock.now()), t0 + 30s) << "not before p-time";
  EXPECT_EQ(simulator.requests("alice"), 1);
  clock.advance(1s);
  s->step(clock.now());
  EXPECT_TRUE(s->token(clock.now())) << "the retry with the ticket after p-time succeeds";
}

TEST_F(SessionTest, CaptchaStopsAllRetries) {
  simulator.set_captcha(true);
  auto s = make();
  EXPECT_EQ(s->step(clock.now()), SystemTime::max());
  const int requests = simulator.total_requests();
  clock.advance(6h);
  EXPECT_EQ(s->step(clock.now()), SystemTime::max());
  EXPECT_EQ(simulator.total_requests(), requests);
  EXPECT_TRUE(s->status().needs_person);
}

TEST_F(SessionTest, ProviderOutageRidesOnTheTokenInPlace) {
  auto s = make();
  s->step(clock.now());
  auto token = s->token(clock.now());
  ASSERT_TRUE(token);
  simulator.set_outage(true);
  clock.advance(85min);
  // Retries every few seconds during the outage; the token in place is served throughout.
  for (int i = 0; i < 40 && clock.now() < token->expires_at - 2min; ++i) {
    const SystemTime next = s->step(clock.now());
    ASSERT_TRUE(s->token(clock.now())) << "no gap while the old token lives";
    clock.set(std::min(next, token->expires_at - 2min));
  }
  EXPECT_GT(s->status().consecutive_failures, 0);
  simulator.set_outage(false);
  // The next retry (due within the backoff, before expiry) renews; the token never lapses.
  std::optional<AccessToken> renewed;
  for (int i = 0; i < 5; ++i) {
    const SystemTime next = s->step(clock.now());
    renewed = s->token(clock.now());
    ASSERT_TRUE(renewed);
    if (renewed->token != token->token) break;
    ASSERT_LT(next, token->expires_at);
    clock.set(next);
  }
  EXPECT_NE(renewed->token, token->token);
  EXPECT_EQ(simulator.requests("alice"), 1) << "renewed, no login spent on the outage";
}

TEST_F(SessionTest, ExpiredTokenIsNotServed) {
  auto s = make();
  s->step(clock.now());
  simulator.set_outage(true);
  clock.advance(90min);
  s->step(clock.now());
  EXPECT_FALSE(s->token(clock.now()));
}

TEST_F(SessionTest, ProviderNoneHasNothingToBroker) {
  auto c = config();
  c.exchange.provider = apikey::TokenProvider::None;
  auto s = Session::create(c, deps);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().reason, "NoExchange");
}

// ---- the manager: sessions follow the caches ----------------------------------------------

class SessionManagerTest : public SessionTest {
 protected:
  SessionManagerTest() : manager(apikeys, secrets, deps, /*run_sessions=*/false) {
    put(apikeys, testing::broker_apikey("alpha"));
    put(secrets, testing::key_secret("alpha", testing::kKey1, 1));
    put(secrets, testing::login_secret("alpha", "alice"));
  }
  static void put(kube::Store& store, const Json& object) { store.apply(object); }
  Session* session() { return manager.session("bots/alpha"); }

  kube::Store apikeys;
  kube::Store secrets;
  SessionManager manager;
};

TEST_F(SessionManagerTest, StartsOnlyWhileLeading) {
  manager.sync("bots/alpha");
  EXPECT_EQ(manager.session_count(), 0u);
  EXPECT_EQ(manager.lookup("bots/alpha", clock.now()).kind, TokenLookup::Kind::NotLeading);
  manager.set_leading(true);
  ASSERT_NE(session(), nullptr);
  session()->step(clock.now());
  EXPECT_EQ(manager.lookup("bots/alpha", clock.now()).kind, TokenLookup::Kind::Token);
  manager.update_gauge(clock.now());
  auto& gauge = metrics.gauge("keyward_broker_sessions", "");
  EXPECT_EQ(gauge.value({{"state", "valid"}}), 1);
  manager.set_leading(false);
  EXPECT_EQ(gauge.value({{"state", "valid"}}), 0);
  EXPECT_EQ(manager.session_count(), 0u);
  EXPECT_EQ(manager.lookup("bots/alpha", clock.now()).kind, TokenLookup::Kind::NotLeading);
}

TEST_F(SessionManagerTest, LookupsNeverCallTheProvider) {
  manager.set_leading(true);
  session()->step(clock.now());
  const int before = simulator.total_requests();
  for (int i = 0; i < 100; ++i) {
    auto found = manager.lookup("bots/alpha", clock.now());
    ASSERT_EQ(found.kind, TokenLookup::Kind::Token);
    EXPECT_EQ(found.token.key_version, 1);
  }
  EXPECT_EQ(simulator.total_requests(), before);
}

TEST_F(SessionManagerTest, RotationInTheKeySecretReachesTheSession) {
  manager.set_leading(true);
  Session* s = session();
  s->step(clock.now());
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey2, 42});
  put(secrets, testing::key_secret("alpha", testing::kKey2, 2));
  manager.sync("bots/alpha");
  ASSERT_EQ(session(), s) << "the same session, new credentials";
  EXPECT_EQ(manager.lookup("bots/alpha", clock.now()).kind, TokenLookup::Kind::NoToken);
  s->step(clock.now());
  auto found = manager.lookup("bots/alpha", clock.now());
  ASSERT_EQ(found.kind, TokenLookup::Kind::Token);
  EXPECT_EQ(found.token.key_version, 2);
  EXPECT_EQ(simulator.requests("alice"), 2);
  EXPECT_EQ(simulator.renewals("alice"), 0);
}

TEST_F(SessionManagerTest, InactiveDropsTheTokenAndMakesNoUpstreamCalls) {
  manager.set_leading(true);
  session()->step(clock.now());
  put(apikeys, testing::broker_apikey("alpha", Json::object(), /*active=*/false));
  manager.sync("bots/alpha");
  EXPECT_EQ(manager.session_count(), 0u);
  auto found = manager.lookup("bots/alpha", clock.now());
  EXPECT_EQ(found.kind, TokenLookup::Kind::Inactive);
  EXPECT_TRUE(found.token.token.empty());
  const int before = simulator.total_requests();
  clock.advance(3h);
  manager.sync("bots/alpha");
  EXPECT_EQ(simulator.total_requests(), before);
}

TEST_F(SessionManagerTest, DeletedApiKeyStopsTheSession) {
  manager.set_leading(true);
  session()->step(clock.now());
  auto gone = testing::broker_apikey("alpha");
  apikeys.remove(gone);
  manager.sync("bots/alpha");
  EXPECT_EQ(manager.session_count(), 0u);
  EXPECT_EQ(manager.lookup("bots/alpha", clock.now()).kind, TokenLookup::Kind::NoApiKey);
}

TEST_F(SessionManagerTest, ProviderNoneAndMissingSecretsAreExplained) {
  put(apikeys, testing::broker_apikey(
                   "plain", {{"provider", "none"}, {"endpoint", nullptr}, {"tradovate", nullptr}}));
  put(apikeys, testing::broker_apikey("nologin"));
  put(secrets, testing::key_secret("nologin", testing::kKey1, 1));
  manager.set_leading(true);
  EXPECT_EQ(manager.lookup("bots/plain", clock.now()).kind, TokenLookup::Kind::NoExchange);
  auto nologin = manager.lookup("bots/nologin", clock.now());
  EXPECT_EQ(nologin.kind, TokenLookup::Kind::NoToken);
  EXPECT_NE(nologin.message.find("nologin-login"), std::string::npos) << nologin.message;
  EXPECT_EQ(manager.session_count(), 1u);  // alpha only
}

TEST_F(SessionManagerTest, RunLoopLogsInWithoutBeingAsked) {
  SessionManager running(apikeys, secrets, deps, /*run_sessions=*/true);
  running.set_leading(true);
  for (int i = 0;
       i < 500 && running.lookup("bots/alpha", clock.now()).kind != TokenLookup::Kind::Token; ++i) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(running.lookup("bots/alpha", clock.now()).kind, TokenLookup::Kind::Token);
  // It then sleeps until the refresh time: nothing more without the clock moving.
  for (int i = 0; i < 500 && clock.sleepers() == 0; ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(clock.next_deadline(), clock.now() + 85min);
  EXPECT_EQ(simulator.total_requests(), 1);
  running.stop_all();
}

}  // namespace
}  // namespace keyward::broker

namespace keyward::broker {
namespace {

// The account's request budget outlives a session: five logins an hour across a restart, the
// sixth waits (visibly, in the published ProviderState) and is never sent early.
TEST_F(SessionTest, TheAccountsLoginBudgetIsSharedAcrossSessionsAndPublished) {
  RequestBudgets budgets;
  apikey::ProviderStates states;
  std::vector<std::string> notified;
  deps.budgets = &budgets;
  deps.provider_states = &states;
  deps.on_provider_state = [&](const std::string& key) { notified.push_back(key); };
  const SystemTime t0 = clock.now();
  auto s = make();
  s->step(clock.now());
  EXPECT_EQ(states.get("bots/alpha")->reason, "TokenIssued");
  EXPECT_EQ(notified.size(), 1u);
  // Three rotations in three minutes: three more logins.
  for (int v = 2; v <= 4; ++v) {
    clock.advance(1min);
    Credentials c = config(v % 2 == 0 ? testing::kKey2 : testing::kKey1, v).credentials;
    simulator.add_user({"alice", testing::kPassword, "8", c.api_key, 42});
    s->update_credentials(c);
    s->step(clock.now());
  }
  EXPECT_EQ(simulator.requests("alice"), 4);
  EXPECT_EQ(notified.size(), 1u) << "an unchanged state is not published again";
  // A spec change restarts the session; the budget stays with the account.
  s.reset();
  clock.advance(1min);
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey1, 42});
  s = make();
  s->step(clock.now());
  EXPECT_EQ(simulator.requests("alice"), 5);
  ASSERT_TRUE(s->token(clock.now()));
  clock.advance(1min);
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey2, 42});
  s->update_credentials(config(testing::kKey2, 6).credentials);
  const SystemTime next = s->step(clock.now());
  EXPECT_EQ(simulator.requests("alice"), 5) << "the sixth login in an hour is not sent";
  EXPECT_EQ(next, t0 + 1h) << "it waits until the first login leaves the hour";
  const auto state = states.get("bots/alpha");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->reason, "RequestBudgetExhausted");
  EXPECT_FALSE(state->ready);
  EXPECT_EQ(state->until, t0 + 1h);
  EXPECT_EQ(notified.size(), 2u);
  clock.set(t0 + 1h);
  s->step(clock.now());
  EXPECT_EQ(simulator.requests("alice"), 6);
  EXPECT_EQ(states.get("bots/alpha")->reason, "TokenIssued");
  expect_no_secrets();
}

}  // namespace
}  // namespace keyward::broker
