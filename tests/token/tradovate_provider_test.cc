#include "common/token/tradovate_provider.h"

#include <gtest/gtest.h>

#include "tests/provider_sim/simulator_transport.h"
#include "tests/support/fake_clock.h"
#include "tests/support/scripted_transport.h"

namespace keyward {
namespace {

Credentials alice() {
  Credentials c;
  c.username = "alice";
  c.password = "correct-horse-battery";
  c.client_id = "8";
  c.api_key = "sec-key-0123456789";
  c.app_id = "Bot";
  c.app_version = "1.0";
  c.device_id = "pod-uid-1";
  c.key_version = 3;
  return c;
}

class TradovateTest : public ::testing::Test {
 protected:
  TradovateTest() {
    sim.add_user({"alice", "correct-horse-battery", "8", "sec-key-0123456789", 42});
    alice().register_secrets(redactor());
  }
  Redactor& redactor() { return logger.redactor(); }
  std::shared_ptr<MemorySink> sink = std::make_shared<MemorySink>();
  Logger logger{"test", sink, std::make_shared<Redactor>()};
  keyward::testing::FakeClock clock;
  sim::ProviderSimulator sim{clock, sim::SimConfig{.lifetime = Seconds(5400)}};
  sim::SimulatorTransport transport{sim};
  TradovateProvider provider{transport, "/v1", clock, logger};
};

TEST_F(TradovateTest, RequestReadsTokenExpiryAndUser) {
  auto g = provider.request(alice());
  ASSERT_TRUE(g) << g.error().to_string();
  const auto& t = std::get<AccessToken>(*g);
  EXPECT_EQ(t.token, sim.last_token());
  EXPECT_FALSE(t.md_token.empty());
  EXPECT_EQ(t.user_id, "42");
  EXPECT_EQ(t.expires_at, clock.now() + Seconds(5400));
  EXPECT_EQ(t.key_version, 3);
  EXPECT_EQ(t.provider, "tradovate");
  ASSERT_TRUE(t.provider_time);
  EXPECT_EQ(*t.provider_time, clock.now());
  EXPECT_EQ(redactor().redact(t.token), "[REDACTED]") << "new tokens are registered as secrets";
}

TEST_F(TradovateTest, WrongTypesInTheAnswerAreErrorsNotTokens) {
  // A number or an object where the token belongs was once delivered as its JSON text.
  for (const char* body : {R"({"accessToken":12345,"expirationTime":"2027-01-15T12:00:00Z"})",
                           R"({"accessToken":{"t":"x"},"expirationTime":"2027-01-15T12:00:00Z"})",
                           R"({"accessToken":"tok-abcdef","expirationTime":1768478400})"}) {
    SCOPED_TRACE(body);
    keyward::testing::ScriptedTransport scripted;
    scripted.push(200, body);
    TradovateProvider p(scripted, "/v1", clock, logger);
    auto g = p.request(alice(), std::nullopt);
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().reason, "InvalidProviderAnswer");
    EXPECT_NE(g.error().message.find(", not a string"), std::string::npos) << g.error().message;
  }
  // userId is a number in Tradovate's API: still read as text.
  keyward::testing::ScriptedTransport scripted;
  scripted.push(
      200, R"({"accessToken":"tok-abcdef","expirationTime":"2027-01-15T12:00:00Z","userId":7})");
  TradovateProvider p(scripted, "/v1", clock, logger);
  auto g = p.request(alice(), std::nullopt);
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(std::get<AccessToken>(*g).user_id, "7");
}

TEST_F(TradovateTest, SendsTheDocumentedFieldsWithCidAsNumber) {
  keyward::testing::ScriptedTransport scripted;
  scripted.push(200, R"({"accessToken":"tok-abcdef","expirationTime":"2027-01-15T12:00:00Z"})");
  TradovateProvider p(scripted, "/v1/", clock, logger);
  ASSERT_TRUE(p.request(alice(), std::string("ticket-9")));
  const auto req = scripted.requests().at(0);
  EXPECT_EQ(req.path, "/v1/auth/accesstokenrequest");
  auto body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body["name"], "alice");
  EXPECT_EQ(body["cid"], 8);
  EXPECT_EQ(body["sec"], "sec-key-0123456789");
  EXPECT_EQ(body["deviceId"], "pod-uid-1");
  EXPECT_EQ(body["appId"], "Bot");
  EXPECT_EQ(body["p-ticket"], "ticket-9");
}

TEST_F(TradovateTest, ClientSecretWinsOverApiKeyForSec) {
  keyward::testing::ScriptedTransport scripted;
  scripted.push(200, R"({"accessToken":"tok-abcdef","expirationTime":"2027-01-15T12:00:00Z"})");
  TradovateProvider p(scripted, "/v1", clock, logger);
  auto c = alice();
  c.client_secret = "client-secret-xyz";
  ASSERT_TRUE(p.request(c));
  EXPECT_EQ(nlohmann::json::parse(scripted.requests().at(0).body)["sec"], "client-secret-xyz");
}

TEST_F(TradovateTest, RenewUsesBearerAndKeepsMdToken) {
  auto first = std::get<AccessToken>(*provider.request(alice()));
  clock.advance(std::chrono::minutes(85));
  auto renewed = provider.renew(first);
  ASSERT_TRUE(renewed) << renewed.error().to_string();
  EXPECT_NE(renewed->token, first.token);
  EXPECT_EQ(renewed->md_token, first.md_token);
  EXPECT_EQ(renewed->expires_at, clock.now() + Seconds(5400));
  EXPECT_EQ(renewed->key_version, 3);
  EXPECT_EQ(sim.renewals("alice"), 1);
  EXPECT_EQ(sim.requests("alice"), 1);
}

TEST_F(TradovateTest, RenewalOfAClosedSessionIsRejected) {
  auto first = std::get<AccessToken>(*provider.request(alice()));
  provider.request(alice());
  provider.request(alice());  // the third login closes the first session
  auto r = provider.renew(first);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "RenewalRejected");
  sim.set_renewals_allowed(false);
  auto second = std::get<AccessToken>(*provider.request(alice()));
  auto refused = provider.renew(second);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().reason, "RenewalRejected");
  EXPECT_NE(refused.error().message.find("Access token renewal is not allowed"), std::string::npos);
}

TEST_F(TradovateTest, PenaltyIsAResultNotAnError) {
  sim.penalize_next_login(Seconds(45));
  auto g = provider.request(alice());
  ASSERT_TRUE(g);
  ASSERT_TRUE(std::holds_alternative<Penalty>(*g));
  const auto p = std::get<Penalty>(*g);
  EXPECT_EQ(p.wait, Seconds(45));
  EXPECT_FALSE(p.captcha);
  EXPECT_FALSE(p.ticket.empty());
  clock.advance(Seconds(45));
  auto retry = provider.request(alice(), p.ticket);
  ASSERT_TRUE(retry);
  EXPECT_TRUE(std::holds_alternative<AccessToken>(*retry));
}

TEST_F(TradovateTest, CaptchaPenalty) {
  sim.set_captcha(true);
  auto g = provider.request(alice());
  ASSERT_TRUE(g);
  EXPECT_TRUE(std::get<Penalty>(*g).captcha);
}

TEST_F(TradovateTest, ErrorTextReportedAsWrittenWithoutCredentials) {
  auto c = alice();
  c.password = "wrong-password-123";
  c.register_secrets(redactor());
  auto g = provider.request(c);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, "CredentialsRejected");
  EXPECT_NE(g.error().message.find("fix username and password in the credentials"),
            std::string::npos)
      << g.error().message;
  EXPECT_NE(g.error().message.find("\"Incorrect username or password. Please try again, noting "
                                   "that passwords are case-sensitive.\""),
            std::string::npos)
      << g.error().message;
  EXPECT_EQ(g.error().message.find("wrong-password-123"), std::string::npos);
}

TEST_F(TradovateTest, AMissingPasswordIsRefusedBeforeAnythingIsSent) {
  auto c = alice();
  c.password.clear();
  auto g = provider.request(c);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, "CredentialsIncomplete");
  EXPECT_NE(g.error().message.find("the credentials have no password"), std::string::npos)
      << g.error().message;
  EXPECT_EQ(sim.total_requests(), 0) << "no \"password\":\"\" login goes out";
  c = alice();
  c.username.clear();
  c.api_key.clear();
  EXPECT_NE(provider.check_credentials(c).error().message.find("no username, apiKey (sec)"),
            std::string::npos);
  EXPECT_TRUE(provider.check_credentials(alice()));
}

TEST_F(TradovateTest, TooManyRequestsHonoursRetryAfterInSecondsOrAsADate) {
  sim.rate_limit_next(1, "30");
  auto g = provider.request(alice());
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, "RateLimited");
  EXPECT_EQ(g.error().retry_after, Seconds(30));
  EXPECT_NE(g.error().message.find("Retry-After: 30"), std::string::npos) << g.error().message;

  sim.rate_limit_next(1, format_http_date(clock.now() + Seconds(95)));
  g = provider.request(alice());
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, "RateLimited");
  EXPECT_EQ(g.error().retry_after, Seconds(95));
}

TEST_F(TradovateTest, TooManyRequestsWithoutRetryAfterMeansAnHour) {
  sim.rate_limit_next(1, std::nullopt);
  auto g = provider.request(alice());
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, "RateLimited");
  EXPECT_EQ(g.error().retry_after, Seconds(3600)) << "Tradovate's documented rule";
  EXPECT_NE(g.error().message.find("no Retry-After"), std::string::npos) << g.error().message;
  // A renewal that is rate limited waits the same way.
  sim.rate_limit_next(1, "12");
  AccessToken current;
  current.token = "whatever";
  auto r = provider.renew(current);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "RateLimited");
  EXPECT_EQ(r.error().retry_after, Seconds(12));
}

TEST_F(TradovateTest, ALockoutIsRecognisedWithItsEndTime) {
  sim::ProviderSimulator strict(
      clock, sim::SimConfig{.lockout_after_failures = 2, .lockout = Seconds(900)});
  strict.add_user({"alice", "correct-horse-battery", "8", "sec-key-0123456789", 42});
  sim::SimulatorTransport t(strict);
  TradovateProvider p(t, "/v1", clock, logger);
  auto wrong = alice();
  wrong.password = "wrong-password-123";
  EXPECT_EQ(p.request(wrong).error().reason, "CredentialsRejected");
  EXPECT_EQ(p.request(wrong).error().reason, "CredentialsRejected");
  clock.advance(Seconds(100));
  auto g = p.request(alice());
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, "LockedOut");
  EXPECT_EQ(g.error().http_status, 423);
  EXPECT_EQ(g.error().retry_after, Seconds(800));
  EXPECT_NE(g.error().message.find("locked out"), std::string::npos);
  EXPECT_NE(g.error().message.find(format_rfc3339(clock.now() + Seconds(800))), std::string::npos)
      << g.error().message;
  clock.advance(Seconds(800));
  EXPECT_TRUE(p.request(alice())) << "the lockout ends when it said";
}

TEST_F(TradovateTest, ErrorTextEchoingASecretIsScrubbed) {
  keyward::testing::ScriptedTransport scripted;
  scripted.push(200, R"({"errorText":"bad sec sec-key-0123456789 for alice"})");
  TradovateProvider p(scripted, "/v1", clock, logger);
  auto g = p.request(alice());
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message.find("sec-key-0123456789"), std::string::npos) << g.error().message;
  EXPECT_NE(g.error().message.find("bad sec [REDACTED] for alice"), std::string::npos);
}

TEST_F(TradovateTest, GarbageTruncatedAndIncompleteAnswers) {
  sim.queue_fault(sim::Fault::Garbage);
  sim.queue_fault(sim::Fault::Truncated);
  for (int i = 0; i < 2; ++i) {
    auto g = provider.request(alice());
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().reason, "InvalidProviderAnswer");
    EXPECT_NE(g.error().message.find("not a JSON object"), std::string::npos);
  }
  keyward::testing::ScriptedTransport scripted;
  scripted.push(200, R"({"accessToken":"abcdefgh"})");
  scripted.push(200, R"({"accessToken":"abcdefgh","expirationTime":"tomorrow"})");
  TradovateProvider p(scripted, "/v1", clock, logger);
  EXPECT_EQ(p.request(alice()).error().reason, "InvalidProviderAnswer");
  EXPECT_EQ(p.request(alice()).error().reason, "InvalidProviderAnswer");
}

// A login answer cut off in the middle of the token: the error describes the answer's shape and
// quotes no fragment of the token (it once quoted the first 40 bytes, 24 of them a live token's).
TEST_F(TradovateTest, ACutOffAnswerIsDescribedByItsShapeNeverQuoted) {
  const std::string token_part = "eyJhbGciOiJIUzI1NiJ9.live-token-part";
  keyward::testing::ScriptedTransport scripted;
  scripted.push(200, R"({"accessToken":")" + token_part);
  scripted.push(200, "<html><body>" + token_part + "</body></html>");
  scripted.push(200, R"(["accessToken",")" + token_part + R"("])");
  TradovateProvider p(scripted, "/v1", clock, logger);
  const char* shapes[] = {"(JSON cut off or malformed)", "(HTML or XML)", "(a JSON array)"};
  for (const char* shape : shapes) {
    auto g = p.request(alice());
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().reason, "InvalidProviderAnswer");
    EXPECT_NE(g.error().message.find(shape), std::string::npos) << g.error().message;
    EXPECT_NE(g.error().message.find(" bytes of "), std::string::npos) << g.error().message;
    for (std::size_t i = 0; i + 6 <= token_part.size(); ++i) {
      ASSERT_EQ(g.error().message.find(token_part.substr(i, 6)), std::string::npos)
          << "a fragment of the token is quoted: " << g.error().message;
    }
  }
}

TEST_F(TradovateTest, OutageAndServerErrors) {
  sim.set_outage(true);
  EXPECT_EQ(provider.request(alice()).error().reason, "Unreachable");
  sim.set_outage(false);
  sim.queue_fault(sim::Fault::ServerError);
  auto g = provider.request(alice());
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, "ProviderUnavailable");
  EXPECT_EQ(g.error().http_status, 500);
}

TEST_F(TradovateTest, NothingSecretEverReachesTheLog) {
  auto t = std::get<AccessToken>(*provider.request(alice()));
  logger.info("delivered", {{"token", t.token}, {"password", alice().password}});
  const std::string logs = sink->joined();
  for (const std::string& s : {t.token, t.md_token, alice().password, alice().api_key}) {
    EXPECT_EQ(logs.find(s), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace keyward
