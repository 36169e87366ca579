#include "common/token/oauth2_provider.h"

#include <gtest/gtest.h>

#include "common/core/base64.h"
#include "common/token/static_key_provider.h"
#include "tests/provider_sim/simulator_transport.h"
#include "tests/support/fake_clock.h"
#include "tests/support/scripted_transport.h"

namespace keyward {
namespace {

Credentials client() {
  Credentials c;
  c.client_id = "svc:bot";
  c.client_secret = "p@ss word&=";
  return c;
}

TEST(FormEncodingTest, EncodesPerRfc6749AppendixB) {
  EXPECT_EQ(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(form_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(base64_encode("svc%3Abot:p%40ss+word%26%3D"), "c3ZjJTNBYm90OnAlNDBzcyt3b3JkJTI2JTNE");
}

class OAuth2Test : public ::testing::Test {
 protected:
  keyward::testing::FakeClock clock;
  sim::ProviderSimulator sim{clock, sim::SimConfig{.lifetime = Seconds(900),
                                                   .oauth2_client_id = "svc:bot",
                                                   .oauth2_client_secret = "p@ss word&="}};
  sim::SimulatorTransport transport{sim};
  Logger logger = make_null_logger();
};

TEST_F(OAuth2Test, BasicClientAuthAgainstTheSimulator) {
  OAuth2ClientCredentialsProvider p(
      transport, {.token_path = "/oauth2/token", .scope = "trade read"}, clock, logger);
  auto g = p.request(client());
  ASSERT_TRUE(g) << g.error().to_string();
  const auto& t = std::get<AccessToken>(*g);
  EXPECT_EQ(t.expires_at, clock.now() + Seconds(900));
  EXPECT_EQ(t.provider, "oauth2ClientCredentials");
  EXPECT_FALSE(p.supports_renewal());
  EXPECT_EQ(sim.oauth2_requests("svc:bot"), 1);
}

TEST_F(OAuth2Test, BodyClientAuthSendsFormFields) {
  keyward::testing::ScriptedTransport scripted;
  scripted.push(200, R"({"access_token":"at-123456","token_type":"Bearer"})");
  OAuth2ClientCredentialsProvider p(scripted,
                                    {.token_path = "/t",
                                     .client_auth = OAuth2ClientAuth::Body,
                                     .scope = "a b",
                                     .default_lifetime = Seconds(120)},
                                    clock, logger);
  auto g = p.request(client());
  ASSERT_TRUE(g);
  const auto req = scripted.requests().at(0);
  EXPECT_EQ(req.content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(req.body,
            "grant_type=client_credentials&scope=a+b&client_id=svc%3Abot&client_secret=p%40ss+word%"
            "26%3D");
  EXPECT_EQ(req.headers.count("Authorization"), 0u);
  EXPECT_EQ(std::get<AccessToken>(*g).expires_at, clock.now() + Seconds(120))
      << "no expires_in: default";

  OAuth2ClientCredentialsProvider through_sim(
      transport, {.token_path = "/oauth2/token", .client_auth = OAuth2ClientAuth::Body}, clock,
      logger);
  EXPECT_TRUE(through_sim.request(client()));
}

TEST_F(OAuth2Test, RefusalQuotesErrorAndDescription) {
  OAuth2ClientCredentialsProvider p(transport, {.token_path = "/oauth2/token"}, clock, logger);
  auto c = client();
  c.client_secret = "wrong";
  auto g = p.request(c);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, "CredentialsRejected") << "invalid_client cannot pass on a retry";
  EXPECT_NE(g.error().message.find("fix clientId and clientSecret"), std::string::npos);
  EXPECT_NE(g.error().message.find("invalid_client: Client authentication failed"),
            std::string::npos);
  EXPECT_EQ(g.error().http_status, 401);
}

// A provider answering the right JSON with the wrong types: a clear error naming the member and
// its type, never an exception out of the provider (it would end the sidecar or the operator).
TEST_F(OAuth2Test, WrongTypesInTheAnswerAreErrorsNotCrashes) {
  for (const char* body :
       {R"({"access_token":12345,"token_type":"Bearer"})", R"({"access_token":{"v":"x"}})",
        R"({"access_token":["a"]})", R"({"error":"invalid_request","error_description":404})"}) {
    SCOPED_TRACE(body);
    keyward::testing::ScriptedTransport scripted;
    scripted.push(200, body);
    OAuth2ClientCredentialsProvider p(scripted, {.token_path = "/t"}, clock, logger);
    Result<TokenGrant> g = fail("NotRun", "");
    EXPECT_NO_THROW(g = p.request(client()));
    ASSERT_FALSE(g);
    if (std::string(body).find("error_description") != std::string::npos) {
      EXPECT_EQ(g.error().reason, "ProviderRejected") << g.error().message;
    } else {
      EXPECT_EQ(g.error().reason, "InvalidProviderAnswer");
      EXPECT_NE(g.error().message.find("answered access_token as "), std::string::npos)
          << g.error().message;
    }
  }
}

TEST_F(OAuth2Test, MissingClientIdIsClear) {
  OAuth2ClientCredentialsProvider p(transport, {.token_path = "/oauth2/token"}, clock, logger);
  EXPECT_EQ(p.request(Credentials{}).error().reason, "CredentialsIncomplete");
}

TEST(StaticKeyProviderTest, DeliversTheKeyAndCompanionsWithoutExpiry) {
  keyward::testing::FakeClock clock;
  StaticKeyProvider p(clock);
  Credentials c;
  c.api_key = "key-abcdef";
  c.api_secret = "secret-abcdef";
  c.passphrase = "phrase-abcdef";
  c.key_version = 7;
  auto g = p.request(c);
  ASSERT_TRUE(g);
  const auto& t = std::get<AccessToken>(*g);
  EXPECT_EQ(t.token, "key-abcdef");
  EXPECT_EQ(t.api_secret, "secret-abcdef");
  EXPECT_EQ(t.passphrase, "phrase-abcdef");
  EXPECT_FALSE(t.expires());
  EXPECT_EQ(t.key_version, 7);
  EXPECT_EQ(p.request(Credentials{}).error().reason, "MissingCredentials");
}

TEST(HttpDateTest, RoundTrip) {
  auto t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_http_date(*t), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_FALSE(parse_http_date("yesterday"));
}

TEST(CredentialsTest, FingerprintTracksKeyMaterialOnly) {
  Credentials a;
  a.username = "u";
  a.api_key = "k1-abcdef";
  Credentials b = a;
  b.password = "changed";
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  EXPECT_EQ(a.fingerprint().size(), 16u);
  b.api_key = "k2-abcdef";
  EXPECT_NE(a.fingerprint(), b.fingerprint());
}

}  // namespace
}  // namespace keyward
