// Who may fetch a token: BrokerService with the real TokenReviewer (KubeClient -> the fake API
// server's TokenReview) and pods read from the API. Every refusal says why and never echoes the
// token; reviews are cached by token hash.

#include <gtest/gtest.h>

#include "common/kube/kube_client.h"
#include "operator/broker/authorizer.h"
#include "operator/broker/broker_service.h"
#include "operator/broker/live_gate.h"
#include "operator/broker/pod_version_recorder.h"
#include "operator/broker/session_manager.h"
#include "operator/broker/token_reviewer.h"
#include "tests/broker/broker_test_support.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_random.h"

namespace keyward::broker {
namespace {

using namespace std::chrono_literals;
using testing::FakeApiServer;
using testing::Json;
using testing::TokenIdentity;

constexpr const char* kPodToken = "eyJhbGciOiJSUzI1NiJ9.pod-token-of-alpha-0.signature";
constexpr const char* kOtherNsToken = "eyJhbGciOiJSUzI1NiJ9.token-from-another-ns.signature";
constexpr const char* kLegacyToken = "eyJhbGciOiJSUzI1NiJ9.legacy-secret-token.signature";
constexpr const char* kPlainPodToken = "eyJhbGciOiJSUzI1NiJ9.pod-without-annotation.signature";
constexpr const char* kBetaPodToken = "eyJhbGciOiJSUzI1NiJ9.pod-of-beta.signature";
constexpr const char* kGonePodToken = "eyJhbGciOiJSUzI1NiJ9.pod-deleted.signature";
constexpr const char* kReusedPodToken = "eyJhbGciOiJSUzI1NiJ9.pod-name-reused.signature";
constexpr const char* kUnknownToken = "eyJhbGciOiJSUzI1NiJ9.never-issued.signature";

class AuthorizationTest : public ::testing::Test {
 protected:
  AuthorizationTest()
      : sink(std::make_shared<MemorySink>()),
        logger("broker", sink, std::make_shared<Redactor>(), LogLevel::Debug, &clock),
        simulator(clock, sim::SimConfig{}),
        server(start_server()),
        client(connect()),
        reviewer(*client, clock, metrics, logger),
        manager(apikeys, secrets,
                SessionDeps{clock,
                            random,
                            metrics,
                            logger,
                            testing::simulator_factory(simulator),
                            {},
                            nullptr,
                            nullptr,
                            {}},
                false),
        service(
            reviewer,
            [this](const std::string& ns,
                   const std::string& name) -> Result<std::optional<kube::Object>> {
              auto p = client->get(kube::ResourceType::pods(), ns, name);
              if (!p && p.error().http_status == 404) return std::optional<kube::Object>();
              if (!p) return fail(p.error());
              return std::optional(*p);
            },
            [this](const kube::Object& pod, std::int64_t version) {
              return record_pod_key_version(*client, pod, version);
            },
            manager, last_used, clock, metrics, logger) {
    simulator.add_user({"alice", testing::kPassword, "8", testing::kKey1, 42});
    apikeys.apply(testing::broker_apikey("alpha"));
    secrets.apply(testing::key_secret("alpha", testing::kKey1, 1));
    secrets.apply(testing::login_secret("alpha", "alice"));
    manager.set_leading(true);
    manager.session("bots/alpha")->step(clock.now());

    for (const char* ns : {"bots", "other"}) {
      server->apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    }
    alpha_uid = server->apply(testing::pod("alpha-0", "", "alpha"))["metadata"]["uid"];
    plain_uid = server->apply(testing::pod("plain-0", "", ""))["metadata"]["uid"];
    beta_uid = server->apply(testing::pod("beta-0", "", "beta"))["metadata"]["uid"];
    server->add_token(kPodToken, TokenIdentity::bound_pod("bots", "bot", "alpha-0", alpha_uid));
    server->add_token(kOtherNsToken,
                      TokenIdentity::bound_pod("other", "bot", "alpha-0", alpha_uid));
    server->add_token(kLegacyToken, TokenIdentity::legacy("bots", "bot"));
    server->add_token(kPlainPodToken,
                      TokenIdentity::bound_pod("bots", "bot", "plain-0", plain_uid));
    server->add_token(kBetaPodToken, TokenIdentity::bound_pod("bots", "bot", "beta-0", beta_uid));
    server->add_token(kGonePodToken, TokenIdentity::bound_pod("bots", "bot", "gone-0", "uid-x"));
    server->add_token(kReusedPodToken,
                      TokenIdentity::bound_pod("bots", "bot", "alpha-0", "uid-of-an-old-pod"));
  }

  std::unique_ptr<FakeApiServer> start_server() {
    testing::FakeApiServerOptions options;
    options.clock = &clock;
    options.worker_threads = 4;
    auto s = std::make_unique<FakeApiServer>(options);
    if (auto st = s->start(); !st) throw std::runtime_error(st.error().to_string());
    return s;
  }
  std::unique_ptr<kube::KubeClient> connect() {
    kube::KubeConfig config;
    config.server = server->url();
    config.endpoint = *HttpEndpoint::parse(config.server);
    auto made = kube::make_kube_client(config, fs, clock, logger.child("kube"));
    if (!made) throw std::runtime_error(made.error().to_string());
    return std::move(*made);
  }

  HttpResponse get(const std::string& token, const std::string& key = "bots/alpha",
                   const std::string& endpoint = "token") {
    HttpRequest req;
    const auto slash = key.find('/');
    req.path = "/v1/namespaces/" + key.substr(0, slash) + "/apikeys/" + key.substr(slash + 1) +
               "/" + endpoint;
    if (!token.empty()) req.headers.emplace("Authorization", "Bearer " + token);
    auto res = service.handle(req, "10.0.0.7");
    EXPECT_EQ(res.header("Cache-Control").value_or(""), "no-store");
    for (const char* t : {kPodToken, kOtherNsToken, kLegacyToken, kPlainPodToken, kBetaPodToken,
                          kGonePodToken, kReusedPodToken, kUnknownToken}) {
      EXPECT_EQ(res.body.find(t), std::string::npos) << "the answer echoes a bearer token";
    }
    return res;
  }
  static std::string reason(const HttpResponse& r) {
    return Json::parse(r.body).value("reason", "");
  }
  static std::string message(const HttpResponse& r) {
    return Json::parse(r.body).value("message", "");
  }
  std::uint64_t reviews() const { return server->request_count("POST", "tokenreviews"); }

  testing::FakeClock clock;
  testing::FakeRandom random;
  PosixFilesystem fs;
  MetricsRegistry metrics;
  std::shared_ptr<MemorySink> sink;
  Logger logger;
  sim::ProviderSimulator simulator;
  std::unique_ptr<FakeApiServer> server;
  std::unique_ptr<kube::KubeClient> client;
  TokenReviewer reviewer;
  kube::Store apikeys;
  kube::Store secrets;
  SessionManager manager;
  apikey::LastUsedTimes last_used;
  BrokerService service;
  std::string alpha_uid, plain_uid, beta_uid;
};

TEST_F(AuthorizationTest, AnnotatedPodGetsTheToken) {
  auto res = get(kPodToken);
  ASSERT_EQ(res.status, 200) << res.body;
  auto body = Json::parse(res.body);
  EXPECT_EQ(body["accessToken"], simulator.last_token());
  EXPECT_EQ(body["keyVersion"], 1);
  EXPECT_EQ(body["provider"], "tradovate");
  EXPECT_EQ(body["active"], true);
  EXPECT_TRUE(body.contains("mdAccessToken"));
  EXPECT_EQ(last_used.published("bots/alpha"), clock.now());
  EXPECT_EQ(metrics.counter("keyward_broker_requests_total", "").value({{"code", "200"}}), 1);
}

// Live and demo never mix, at the broker too: a live key is served only to pods of namespaces
// labelled keyward.dev/trading=live (a pod the webhook did not admit, or a label removed since).
TEST_F(AuthorizationTest, ALiveKeyIsServedOnlyInALiveNamespace) {
  LiveGate gate(apikeys, *client, clock);
  service.set_live_gate(
      [&gate](const std::string& ns, const std::string& name) { return gate.check(ns, name); });
  ASSERT_EQ(get(kPodToken).status, 200) << "a demo key is served anywhere";
  Json live = testing::broker_apikey("alpha");
  live["spec"]["environment"] = "live";
  apikeys.apply(live);
  auto refused = get(kPodToken);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(reason(refused), "LiveKeyOutsideLiveNamespace");
  EXPECT_NE(message(refused).find("keyward.dev/trading=live"), std::string::npos);
  server->apply({{"apiVersion", "v1"},
                 {"kind", "Namespace"},
                 {"metadata", {{"name", "bots"}, {"labels", {{"keyward.dev/trading", "live"}}}}}});
  clock.advance(std::chrono::minutes(2));  // past what the gate remembers of the namespace
  auto served = get(kPodToken);
  EXPECT_EQ(served.status, 200) << served.body;
}

TEST_F(AuthorizationTest, WrongNamespaceIsRefused) {
  auto res = get(kOtherNsToken);
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(reason(res), "WrongNamespace");
  EXPECT_NE(message(res).find("other/bot"), std::string::npos) << message(res);
}

TEST_F(AuthorizationTest, PodWithoutAnnotationIsRefused) {
  auto res = get(kPlainPodToken);
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(reason(res), "PodNotAssigned");
  EXPECT_NE(message(res).find("does not ask for any ApiKey"), std::string::npos) << message(res);
}

TEST_F(AuthorizationTest, PodOfAnotherKeyIsRefused) {
  auto res = get(kBetaPodToken);
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(reason(res), "PodNotAssigned");
  EXPECT_NE(message(res).find("asks for ApiKey beta, not alpha"), std::string::npos)
      << message(res);
}

TEST_F(AuthorizationTest, DeletedPodIsRefused) {
  EXPECT_EQ(reason(get(kGonePodToken)), "PodNotFound");
  // A pod deleted after its token was reviewed: the cached review does not help it.
  ASSERT_EQ(get(kPodToken).status, 200);
  ASSERT_TRUE(client->remove(kube::ResourceType::pods(), "bots", "alpha-0"));
  auto res = get(kPodToken);
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(reason(res), "PodNotFound");
}

TEST_F(AuthorizationTest, TokenOfAnEarlierPodWithTheSameNameIsRefused) {
  auto res = get(kReusedPodToken);
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(reason(res), "PodMismatch");
}

TEST_F(AuthorizationTest, LegacyTokenNeedsABoundToken) {
  auto res = get(kLegacyToken);
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(reason(res), "BoundTokenRequired");
  EXPECT_NE(message(res).find("bound (projected) service account token"), std::string::npos);
}

TEST_F(AuthorizationTest, UnknownOrMissingTokenIsUnauthenticated) {
  auto res = get(kUnknownToken);
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(reason(res), "Unauthenticated");
  EXPECT_EQ(get("").status, 401);
}

TEST_F(AuthorizationTest, ReviewsAreCachedByHashPositiveAndNegative) {
  const auto before = reviews();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(get(kPodToken).status, 200);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(get(kUnknownToken).status, 401);
  EXPECT_EQ(reviews() - before, 2u) << "one review per token while cached";
  clock.advance(11s);  // negative answers expire first
  get(kUnknownToken);
  get(kPodToken);
  EXPECT_EQ(reviews() - before, 3u);
  clock.advance(50s);  // and positive ones after a minute
  get(kPodToken);
  EXPECT_EQ(reviews() - before, 4u);
  EXPECT_EQ(reviewer.cache_size(), 2u);
}

TEST_F(AuthorizationTest, InactiveKeyAnswers409) {
  apikeys.apply(testing::broker_apikey("alpha", Json::object(), /*active=*/false));
  manager.sync("bots/alpha");
  auto res = get(kPodToken);
  EXPECT_EQ(res.status, 409);
  EXPECT_EQ(reason(res), "Inactive");
}

// GET .../key: a direct-mode sidecar's key material, behind the same authorization as a token.
TEST_F(AuthorizationTest, KeyMaterialGoesOnlyToTheKeysOwnPods) {
  bool exchange_keys_delivered = false;
  service.set_key_lookup(
      [this, &exchange_keys_delivered](const std::string& ns, const std::string& name) {
        return deliver_key(apikeys, secrets, nullptr, logger.redactor(), ns, name,
                           exchange_keys_delivered);
      });
  // alpha exchanges its key for tokens: while the operator injects broker mode its pods get
  // tokens only, never the key.
  auto broker_mode = get(kPodToken, "bots/alpha", "key");
  EXPECT_EQ(broker_mode.status, 409);
  EXPECT_EQ(reason(broker_mode), "KeyNotDelivered");
  EXPECT_EQ(broker_mode.body.find(testing::kKey1), std::string::npos);
  exchange_keys_delivered = true;  // the operator injects direct mode
  auto res = get(kPodToken, "bots/alpha", "key");
  ASSERT_EQ(res.status, 200) << res.body;
  const Json body = Json::parse(res.body);
  EXPECT_EQ(body["keyVersion"], 1);
  EXPECT_EQ(body["active"], true);
  EXPECT_EQ(body["fields"]["apiKey"], testing::kKey1);
  EXPECT_EQ(body["fields"]["username"], "alice");
  EXPECT_EQ(body["fields"]["password"], testing::kPassword);

  for (const char* other : {kPlainPodToken, kBetaPodToken, kOtherNsToken, kLegacyToken}) {
    auto refused = get(other, "bots/alpha", "key");
    EXPECT_NE(refused.status, 200) << other;
    EXPECT_EQ(refused.body.find(testing::kKey1), std::string::npos) << refused.body;
  }
  EXPECT_EQ(get("", "bots/alpha", "key").status, 401);

  // Switched off: no key material at all.
  apikeys.apply(testing::broker_apikey("alpha", Json::object(), /*active=*/false));
  auto off = get(kPodToken, "bots/alpha", "key");
  ASSERT_EQ(off.status, 200);
  EXPECT_EQ(Json::parse(off.body)["active"], false);
  EXPECT_TRUE(Json::parse(off.body)["fields"].empty()) << off.body;

  // A sealed key this broker cannot open: 503 naming why, never the envelope's content.
  apikeys.apply(testing::broker_apikey("alpha"));
  secrets.apply(testing::key_secret("alpha", "kw1.k9.0123456789abcdef.AAAA", 2));
  auto sealed = get(kPodToken, "bots/alpha", "key");
  EXPECT_EQ(sealed.status, 503);
  EXPECT_EQ(reason(sealed), "KekMissing");
  EXPECT_TRUE(sealed.header("Retry-After"));
  HttpRequest wrong_method;
  wrong_method.method = "PUT";
  wrong_method.path = "/v1/namespaces/bots/apikeys/alpha/key";
  EXPECT_EQ(service.handle(wrong_method, "10.0.0.7").status, 405);
}

// POST .../verify: a service accepting the ApiKey's keys asks whether a presented key is valid.
// Only pods annotated keyward.dev/accepts may ask; a valid key counts as a use; after the
// previous key is revoked it is refused.
TEST_F(AuthorizationTest, AnAcceptingServiceVerifiesKeysAndAValidOneCountsAsUse) {
  service.set_key_verifier([this](const std::string& ns, const std::string& name,
                                  const std::string& presented, SystemTime now) {
    return verify_key(apikeys, secrets, nullptr, logger.redactor(), ns, name, presented, now);
  });
  Json gateway = testing::pod("gateway-0", "", "");
  gateway["metadata"]["annotations"] = {{"keyward.dev/accepts", "beta, alpha"}};
  const std::string gateway_uid = server->apply(gateway)["metadata"]["uid"];
  const std::string kGatewayToken = "eyJhbGciOiJSUzI1NiJ9.gateway.sig";
  server->add_token(kGatewayToken,
                    TokenIdentity::bound_pod("bots", "bot", "gateway-0", gateway_uid));
  auto verify = [&](const std::string& token, const std::string& key) {
    HttpRequest req;
    req.method = "POST";
    req.path = "/v1/namespaces/bots/apikeys/alpha/verify";
    req.headers.emplace("Authorization", "Bearer " + token);
    req.body = Json{{"key", key}}.dump();
    return service.handle(req, "10.0.0.11");
  };
  auto ok_answer = verify(kGatewayToken, testing::kKey1);
  ASSERT_EQ(ok_answer.status, 200) << ok_answer.body;
  EXPECT_EQ(Json::parse(ok_answer.body)["valid"], true);
  EXPECT_EQ(Json::parse(ok_answer.body)["keyVersion"], 1);
  EXPECT_EQ(Json::parse(ok_answer.body)["current"], true);
  EXPECT_TRUE(last_used.published("bots/alpha")) << "a valid verification is a use of the key";
  EXPECT_EQ(ok_answer.body.find(testing::kKey1), std::string::npos) << "the key echoed";

  auto wrong = verify(kGatewayToken, "nt_not_a_key_of_alpha_000000000000");
  ASSERT_EQ(wrong.status, 200);
  EXPECT_EQ(Json::parse(wrong.body)["valid"], false);
  EXPECT_EQ(Json::parse(wrong.body)["reason"], "UnknownKey");

  // A consumer (the bot itself) is not a verifier, and a verifier gets no token.
  auto by_bot = verify(kPodToken, testing::kKey1);
  EXPECT_EQ(by_bot.status, 403);
  EXPECT_EQ(reason(by_bot), "PodNotAccepting");
  EXPECT_EQ(get(kGatewayToken).status, 403);

  // Rotation: the previous key stays valid during its grace, and is refused once revoked.
  Json rotated = testing::key_secret("alpha", testing::kKey2, 2);
  rotated["data"]["previousApiKey"] = keyward::base64_encode(testing::kKey1);
  rotated["data"]["previousExpiresAt"] =
      keyward::base64_encode(format_rfc3339(clock.now() + std::chrono::minutes(10)));
  secrets.apply(rotated);
  auto during = verify(kGatewayToken, testing::kKey1);
  EXPECT_EQ(Json::parse(during.body)["valid"], true);
  EXPECT_EQ(Json::parse(during.body)["keyVersion"], 1);
  EXPECT_EQ(Json::parse(during.body)["current"], false);
  // Its grace ends: refused at once, even before the operator has removed it from the Secret.
  clock.advance(std::chrono::minutes(10));
  auto expired = verify(kGatewayToken, testing::kKey1);
  EXPECT_EQ(Json::parse(expired.body)["valid"], false) << expired.body;
  secrets.apply(testing::key_secret("alpha", testing::kKey2, 2));  // revoked
  auto after = verify(kGatewayToken, testing::kKey1);
  EXPECT_EQ(Json::parse(after.body)["valid"], false);
  EXPECT_EQ(Json::parse(after.body)["reason"], "UnknownKey");
  EXPECT_EQ(Json::parse(verify(kGatewayToken, testing::kKey2).body)["keyVersion"], 2);

  HttpRequest bad;
  bad.method = "POST";
  bad.path = "/v1/namespaces/bots/apikeys/alpha/verify";
  bad.headers.emplace("Authorization", std::string("Bearer ") + kGatewayToken);
  bad.body = "{}";
  EXPECT_EQ(service.handle(bad, "10.0.0.11").status, 400);
  for (const std::string& secret : {std::string(testing::kKey1), std::string(testing::kKey2)}) {
    EXPECT_EQ(sink->joined().find(secret), std::string::npos) << "a key was logged";
  }
}

TEST_F(AuthorizationTest, NoTokenYetAnswers503WithRetryAfter) {
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey2, 42});
  secrets.apply(testing::key_secret("alpha", testing::kKey2, 2));
  manager.sync("bots/alpha");  // rotation: the old token is gone until the new login
  auto res = get(kPodToken);
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(reason(res), "NoToken");
  EXPECT_TRUE(res.header("Retry-After"));
}

// A sidecar tells the broker on every fetch which key version it holds. Once that version is
// revoked, a fetch that cannot be answered with a current token is refused with 410
// KeyVersionRevoked (the sidecar withdraws its token); during the grace period it is not.
TEST_F(AuthorizationTest, AFetchHoldingARevokedKeyVersionIsRefused) {
  service.set_key_versions([this](const std::string& ns, const std::string& name,
                                  SystemTime now) -> std::optional<apikey::KeyVersions> {
    auto secret = secrets.get(ns + "/" + apikey::secret_name_for(name));
    if (!secret) return std::nullopt;
    return apikey::key_versions(*secret, now);
  });
  auto fetch = [&](const std::string& held) {
    HttpRequest req;
    req.path = "/v1/namespaces/bots/apikeys/alpha/token";
    req.headers.emplace("Authorization", std::string("Bearer ") + kPodToken);
    if (!held.empty()) req.headers.emplace("X-Keyward-Key-Version", held);
    return service.handle(req, "10.0.0.8");
  };
  ASSERT_EQ(fetch("1").status, 200);
  simulator.add_user({"alice", testing::kPassword, "8", testing::kKey2, 42});
  // Rotated, the previous key kept for its grace: holding version 1 is fine, the token is pending.
  Json rotated = testing::key_secret("alpha", testing::kKey2, 2);
  rotated["data"]["previousApiKey"] = keyward::base64_encode(testing::kKey1);
  rotated["data"]["previousExpiresAt"] =
      keyward::base64_encode(format_rfc3339(clock.now() + std::chrono::minutes(10)));
  secrets.apply(rotated);
  manager.sync("bots/alpha");
  EXPECT_EQ(reason(fetch("1")), "NoToken");
  // The grace ends (before the operator has even removed the previous key): version 1 is
  // revoked, and a sidecar still holding it is told so.
  clock.advance(std::chrono::minutes(10));
  auto refused = fetch("1");
  EXPECT_EQ(refused.status, 410) << refused.body;
  EXPECT_EQ(reason(refused), "KeyVersionRevoked");
  EXPECT_NE(message(refused).find("version 1"), std::string::npos) << message(refused);
  EXPECT_TRUE(refused.header("Retry-After"));
  EXPECT_EQ(reason(fetch("")), "NoToken") << "a sidecar holding nothing just waits";
  EXPECT_EQ(reason(fetch("2")), "NoToken");
  // The current token is ready: it is what a sidecar on the revoked version gets.
  manager.session("bots/alpha")->step(clock.now());
  auto served = fetch("1");
  ASSERT_EQ(served.status, 200) << served.body;
  EXPECT_EQ(Json::parse(served.body)["keyVersion"], 2);
}

TEST_F(AuthorizationTest, BadPathsAndFloodsAreRefused) {
  HttpRequest req;
  req.path = "/v1/namespaces/Bad_NS/apikeys/alpha/token";
  EXPECT_EQ(service.handle(req, "10.0.0.8").status, 404);
  req.path = "/v1/namespaces/bots/apikeys/alpha/token";
  req.method = "POST";
  EXPECT_EQ(service.handle(req, "10.0.0.8").status, 405);
  req.method = "GET";
  int limited = 0;
  for (int i = 0; i < 40; ++i) limited += service.handle(req, "10.0.0.9").status == 429 ? 1 : 0;
  EXPECT_EQ(limited, 20) << "a burst of 20, then 429";
  EXPECT_NE(service.handle(req, "10.0.0.10").status, 429) << "other clients are not affected";
  clock.advance(1min);
  EXPECT_NE(service.handle(req, "10.0.0.9").status, 429) << "the bucket refills";
}

TEST(AuthorizerTest, PodBeingDeletedOrFinishedIsRefused) {
  ReviewedCaller caller;
  caller.authenticated = true;
  caller.username = "system:serviceaccount:bots:bot";
  caller.pod_name = "alpha-0";
  caller.pod_uid = "u1";
  Json p = testing::pod("alpha-0", "u1", "alpha");
  auto lookup = [&p](const std::string&,
                     const std::string&) -> Result<std::optional<kube::Object>> {
    return std::optional(p);
  };
  EXPECT_TRUE(authorize(caller, "bots", "alpha", lookup));
  p["metadata"]["deletionTimestamp"] = "2027-03-01T12:00:00Z";
  EXPECT_EQ(authorize(caller, "bots", "alpha", lookup).error().reason, "PodNotRunning");
  p["metadata"].erase("deletionTimestamp");
  p["status"]["phase"] = "Succeeded";
  EXPECT_EQ(authorize(caller, "bots", "alpha", lookup).error().reason, "PodNotRunning");
  p["status"]["phase"] = "Running";
  p["spec"]["serviceAccountName"] = "someone-else";
  EXPECT_EQ(authorize(caller, "bots", "alpha", lookup).error().reason, "ServiceAccountMismatch");
  p["spec"]["serviceAccountName"] = "bot";
  p["metadata"].erase("annotations");
  p["metadata"]["labels"] = {{"keyward.dev/apikey", "alpha"}};
  EXPECT_TRUE(authorize(caller, "bots", "alpha", lookup)) << "the label counts too";
  caller.username = "alice@example.com";
  EXPECT_EQ(authorize(caller, "bots", "alpha", lookup).error().reason, "NotAServiceAccount");
}

// The operator asks TokenReview for the broker's own audience (--broker-audience; the webhook
// mounts a projected token for it): the pod's API server token is then refused, and a token for
// the broker's audience is accepted. The API server's status.audiences is checked too.
TEST_F(AuthorizationTest, ABrokerAudienceRefusesTheApiServersToken) {
  const std::string broker_token = "eyJhbGciOiJSUzI1NiJ9.projected-for-the-broker.signature";
  TokenIdentity for_broker = TokenIdentity::bound_pod("bots", "bot", "alpha-0", alpha_uid);
  for_broker.audiences = {"keyward.dev/broker"};
  server->add_token(broker_token, for_broker);
  TokenReviewOptions options;
  options.audiences = {"keyward.dev/broker"};
  TokenReviewer audience_reviewer(*client, clock, metrics, logger, options);

  auto ok_caller = audience_reviewer.review(broker_token);
  ASSERT_TRUE(ok_caller) << ok_caller.error().message;
  EXPECT_TRUE(ok_caller->authenticated) << ok_caller->error;
  EXPECT_EQ(ok_caller->pod_name, "alpha-0");

  auto api_caller = audience_reviewer.review(kPodToken);
  ASSERT_TRUE(api_caller) << api_caller.error().message;
  EXPECT_FALSE(api_caller->authenticated) << "a token for the API server was accepted";
  EXPECT_NE(api_caller->error.find("audience"), std::string::npos) << api_caller->error;

  // Without the audience option (the API server's own), the broker token is refused instead.
  auto default_caller = reviewer.review(broker_token);
  ASSERT_TRUE(default_caller);
  EXPECT_FALSE(default_caller->authenticated);
}

}  // namespace
}  // namespace keyward::broker
