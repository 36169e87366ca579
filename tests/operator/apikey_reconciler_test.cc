#include "operator/controller/apikey_reconciler.h"

#include <gtest/gtest.h>

#include "common/kube/object_meta.h"
#include "operator/apikey/key_secret.h"
#include "operator/apikey/names.h"
#include "tests/operator/operator_fixture.h"

namespace keyward::testing {
namespace {

using controller::Action;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

class ReconcilerTest : public OperatorTest {};

// A Ready pod of ApiKey alpha whose sidecar delivered key version `version`.
Json ready_pod(const std::string& name, int version) {
  return Json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"name", name},
                {"namespace", "bots"},
                {"labels", {{"keyward.dev/apikey", "alpha"}}},
                {"annotations", {{"keyward.dev/key-version", std::to_string(version)}}}}},
              {"status", {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

TEST_F(ReconcilerTest, FirstPassAddsFinalizerCreatesOwnedSecretAndReportsReady) {
  put(make_apikey("alpha"));
  auto r = make_reconciler();
  auto action = reconcile(*r);
  ASSERT_TRUE(action) << action.error().to_string();
  EXPECT_EQ(*action, Action::await_change());  // no rotation block: nothing is ever due

  const Json obj = apikey();
  EXPECT_EQ(obj["metadata"]["finalizers"], Json::array({"keyward.dev/cleanup"}));
  auto s = secret();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->at("metadata")["ownerReferences"][0]["uid"], obj["metadata"]["uid"]);
  EXPECT_EQ(s->at("metadata")["labels"]["keyward.dev/apikey"], "alpha");
  EXPECT_EQ(kube::annotation(*s, "keyward.dev/key-version"), "1");
  EXPECT_EQ(kube::annotation(*s, "keyward.dev/content-hash"),
            *apikey::content_hash(generator.issued().at(0)));
  EXPECT_EQ(secret_field("apiKey"), generator.issued().at(0));
  EXPECT_EQ(s->at("type"), "Opaque");

  const Json& st = obj["status"];
  EXPECT_EQ(st["keyVersion"], 1);
  EXPECT_EQ(st["observedGeneration"], 1);
  EXPECT_EQ(st["secretName"], "keyward-alpha");
  EXPECT_EQ(st["keyHint"], "nt_…b001");
  EXPECT_EQ(condition("Ready")["status"], "True");
  EXPECT_EQ(condition("Degraded")["status"], "False");
  EXPECT_EQ(condition("Rotating")["status"], "False");
  EXPECT_EQ(events_with("KeyAvailable").size(), 1u);
}

TEST_F(ReconcilerTest, LastUsedTimeFromTheBrokerIsPublishedAtMostOncePerMinute) {
  put(make_apikey("alpha"));
  apikey::LastUsedTimes used;
  controller::ReconcilerDeps deps{api, clock, logger, events, generator, {}, &metrics, {}};
  deps.last_used = &used;
  controller::ApiKeyReconciler r(std::move(deps));
  ASSERT_TRUE(reconcile(r));
  EXPECT_FALSE(apikey()["status"].contains("lastUsedTime")) << "no fetch yet";

  EXPECT_TRUE(used.record("bots/alpha", clock.now() + std::chrono::milliseconds(300)));
  ASSERT_TRUE(reconcile(r));
  EXPECT_EQ(apikey()["status"]["lastUsedTime"], format_rfc3339(clock.now()));
  const auto writes_before = writes();
  // Fetches within the minute do not move the published time: no status write.
  EXPECT_FALSE(used.record("bots/alpha", clock.now() + std::chrono::seconds(30)));
  ASSERT_TRUE(reconcile(r));
  EXPECT_EQ(writes(), writes_before);
  EXPECT_TRUE(used.record("bots/alpha", clock.now() + std::chrono::seconds(61)));
  ASSERT_TRUE(reconcile(r));
  EXPECT_EQ(apikey()["status"]["lastUsedTime"],
            format_rfc3339(clock.now() + std::chrono::seconds(61)));
}

// The broker's provider state as the ProviderReady condition, with an Event for every change to
// a failing state and for the recovery; an unchanged state writes nothing; no session, no
// condition.
TEST_F(ReconcilerTest, ProviderStateFromTheBrokerIsTheProviderReadyCondition) {
  put(make_apikey("alpha"));
  apikey::ProviderStates states;
  controller::ReconcilerDeps deps{api, clock, logger, events, generator, {}, &metrics, {}};
  deps.provider_states = &states;
  controller::ApiKeyReconciler r(std::move(deps));
  ASSERT_TRUE(reconcile(r));
  EXPECT_TRUE(condition("ProviderReady").is_null()) << "no session, no condition";

  states.set("bots/alpha", {true, "TokenIssued", "the provider issues tokens", std::nullopt});
  ASSERT_TRUE(reconcile(r));
  EXPECT_EQ(condition("ProviderReady")["status"], "True");
  EXPECT_EQ(condition("ProviderReady")["reason"], "TokenIssued");
  EXPECT_TRUE(events_with("TokenIssued").empty()) << "a healthy start is no news";
  const auto writes_before = writes();
  ASSERT_TRUE(reconcile(r));
  EXPECT_EQ(writes(), writes_before) << "an unchanged state writes nothing";

  const SystemTime until = clock.now() + std::chrono::seconds(3600);
  states.set("bots/alpha",
             {false, "RateLimited", "POST /v1/auth/accesstokenrequest answered 429", until});
  ASSERT_TRUE(reconcile(r));
  EXPECT_EQ(condition("ProviderReady")["status"], "False");
  EXPECT_EQ(condition("ProviderReady")["reason"], "RateLimited");
  EXPECT_NE(condition("ProviderReady")["message"].get<std::string>().find(
                "(next request at " + format_rfc3339(until) + ")"),
            std::string::npos)
      << condition("ProviderReady").dump();
  ASSERT_EQ(events_with("RateLimited").size(), 1u);
  EXPECT_EQ(events_with("RateLimited")[0]["type"], "Warning");

  states.set("bots/alpha", {false, "LockedOut", "HTTP 423: the account is locked out", until});
  ASSERT_TRUE(reconcile(r));
  EXPECT_EQ(condition("ProviderReady")["reason"], "LockedOut");
  EXPECT_EQ(events_with("LockedOut").size(), 1u);

  states.set("bots/alpha", {true, "TokenIssued", "the provider issues tokens", std::nullopt});
  ASSERT_TRUE(reconcile(r));
  EXPECT_EQ(condition("ProviderReady")["status"], "True");
  ASSERT_EQ(events_with("ProviderRecovered").size(), 1u);
  EXPECT_EQ(events_with("ProviderRecovered")[0]["type"], "Normal");

  states.set("bots/alpha", {true, "SessionReplaced", "another client logged in", std::nullopt});
  ASSERT_TRUE(reconcile(r));
  EXPECT_EQ(condition("ProviderReady")["status"], "True");
  ASSERT_EQ(events_with("SessionReplaced").size(), 1u) << "a warning although a token came";
  EXPECT_EQ(events_with("SessionReplaced")[0]["type"], "Warning");

  states.forget("bots/alpha");
  ASSERT_TRUE(reconcile(r));
  EXPECT_TRUE(condition("ProviderReady").is_null()) << "the session is gone";
}

TEST_F(ReconcilerTest, SecondPassWritesNothing) {
  put(make_apikey("alpha"));
  auto r = make_reconciler();
  settle(*r);
  const auto before = writes();
  ASSERT_TRUE(reconcile(*r));
  EXPECT_EQ(writes(), before);
  EXPECT_EQ(generator.count(), 1);
}

TEST_F(ReconcilerTest, MalformedSpecIsDegradedWithoutRetryStorm) {
  put(make_apikey("alpha",
                  {{"rotation", {{"schedule", "0 17 * * 5"}, {"timeZone", "America/Chicgo"}}}}));
  auto r = make_reconciler();
  for (int i = 0; i < 3; ++i) {
    auto action = reconcile(*r);
    ASSERT_TRUE(action) << action.error().to_string();
    EXPECT_EQ(*action, Action::await_change());
  }
  EXPECT_FALSE(secret());
  const Json degraded = condition("Degraded");
  EXPECT_EQ(degraded["status"], "True");
  EXPECT_EQ(degraded["reason"], "InvalidSpec");
  EXPECT_NE(degraded["message"].get<std::string>().find("America/Chicgo"), std::string::npos);
  EXPECT_EQ(condition("Ready")["status"], "False");
  // One status write and one event, however often it runs.
  EXPECT_EQ(requests("PUT", "/apikeys/alpha/status") + requests("PATCH", "/apikeys/alpha/status"),
            1u);
  EXPECT_EQ(events_with("InvalidSpec").size(), 1u);
  EXPECT_EQ(events_with("InvalidSpec")[0]["type"], "Warning");
}

// What the CRD's schema can see (enum, minimum) never reaches the operator: the API server
// refuses it with 422 Invalid naming the fields. MalformedSpecIsDegradedWithoutRetryStorm covers
// what only the parser can see.
TEST_F(ReconcilerTest, SchemaRejectsAMalformedApiKeyOverHttp) {
  const Json bad = make_apikey("alpha", {{"rotation", {{"intervalSeconds", 10}}},
                                         {"consumers", {{"restartStrategy", "Sometimes"}}}});
  auto created = api.create(apikey::apikey_resource(), "bots", bad);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().http_status, 422);
  EXPECT_EQ(created.error().reason, "Invalid");
  EXPECT_NE(created.error().message.find("intervalSeconds"), std::string::npos)
      << created.error().message;
  EXPECT_NE(created.error().message.find("restartStrategy"), std::string::npos)
      << created.error().message;
  EXPECT_FALSE(find("apikeys", "bots", "alpha"));
  EXPECT_FALSE(secret());
  EXPECT_EQ(generator.count(), 0);
}

TEST_F(ReconcilerTest, IntervalRotationKeepsPreviousForGraceThenDropsIt) {
  put(make_apikey("alpha",
                  {{"rotation", {{"intervalSeconds", 7200}, {"gracePeriodSeconds", 600}}}}));
  auto r = make_reconciler();
  auto action = settle(*r);
  ASSERT_EQ(action.requeue_after, seconds(7200));  // exactly the next rotation
  const std::string first = secret_field("apiKey");

  clock.advance(seconds(7200));
  action = settle(*r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(secret_field("previousApiKey"), first);
  EXPECT_EQ(secret_field("previousExpiresAt"), format_rfc3339(clock.now() + seconds(600)));
  EXPECT_EQ(action.requeue_after, seconds(600));  // grace end comes before the next rotation
  EXPECT_EQ(apikey()["status"]["lastRotationTime"], format_rfc3339(clock.now()));
  EXPECT_EQ(apikey()["status"]["nextRotationTime"], format_rfc3339(clock.now() + seconds(7200)));
  EXPECT_EQ(metrics.rotations_total.value({{"namespace", "bots"}, {"name", "alpha"}}), 1);

  clock.advance(seconds(600));
  action = settle(*r);
  EXPECT_EQ(secret_field("previousApiKey"), "");
  EXPECT_EQ(secret_field("previousExpiresAt"), "");
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(action.requeue_after, seconds(6600));
}

// The names the operator derives (keyward-<name>, keyward.session.<name>) must be valid Secret
// names (at most 253 characters), so the CRD caps an ApiKey's name at 237: the API server refuses
// a longer one at once instead of the operator failing later on every Secret it writes.
TEST_F(ReconcilerTest, AnApiKeyNameTooLongForItsSecretsIsRefusedByTheApiServer) {
  const std::string longest(237, 'a');
  EXPECT_NO_THROW(put(make_apikey(longest)));
  auto r = make_reconciler();
  settle(*r, longest);
  EXPECT_TRUE(secret(longest).has_value()) << "keyward-<237 characters> is a valid Secret name";
  try {
    put(make_apikey(std::string(238, 'a')));
    ADD_FAILURE() << "a 238-character ApiKey name was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("metadata.name"), std::string::npos) << e.what();
  }
}

// A key pair (key + secret, with a passphrase where the exchange has one) is one version: every
// source produces all of its fields at once, the previous version of all of them is kept during
// the grace period and dropped together.
TEST_F(ReconcilerTest, AGeneratedKeyPairIsRotatedAsOne) {
  put(make_apikey("alpha",
                  {{"source", {{"generate", {{"prefix", "nt_"}, {"secretLength", 32}}}}},
                   {"rotation", {{"intervalSeconds", 7200}, {"gracePeriodSeconds", 600}}}}));
  auto r = make_reconciler();
  settle(*r);
  ASSERT_EQ(generator.count(), 2) << "a key and its secret";
  const std::string key1 = generator.issued().at(0);
  const std::string secret1 = generator.issued().at(1);
  EXPECT_EQ(secret_field("apiKey"), key1);
  EXPECT_EQ(secret_field("apiSecret"), secret1);
  apikey::KeyMaterial pair1(key1);
  pair1.api_secret = secret1;
  EXPECT_EQ(kube::annotation(*secret(), "keyward.dev/content-hash"), *apikey::content_hash(pair1));

  clock.advance(seconds(7200));
  settle(*r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(secret_field("apiKey"), generator.issued().at(2));
  EXPECT_EQ(secret_field("apiSecret"), generator.issued().at(3));
  EXPECT_EQ(secret_field("previousApiKey"), key1);
  EXPECT_EQ(secret_field("previousApiSecret"), secret1);

  clock.advance(seconds(600));
  settle(*r);
  EXPECT_EQ(secret_field("previousApiKey"), "");
  EXPECT_EQ(secret_field("previousApiSecret"), "");
  const std::string seen = observable_text();
  for (const auto& issued : generator.issued()) EXPECT_EQ(seen.find(issued), std::string::npos);
}

TEST_F(ReconcilerTest, ASecretRefKeyPairRotatesWhenAnyFieldChangesAndNeedsEveryField) {
  const std::string key = "user-pair-key-0001";
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "user-pair"}, {"namespace", "bots"}}},
           {"data",
            {{"key", keyward::base64_encode(key)},
             {"secret", keyward::base64_encode("user-pair-secret-0001")},
             {"pass", keyward::base64_encode("user-pair-pass-0001")}}}});
  put(make_apikey("alpha",
                  {{"source",
                    {{"generate", nullptr},
                     {"secretRef",
                      {{"name", "user-pair"},
                       {"key", "key"},
                       {"secretKey", "secret"},
                       {"passphraseKey", "pass"}}}}},
                   {"rotation", {{"intervalSeconds", 86400}, {"gracePeriodSeconds", 600}}}}));
  auto r = make_reconciler();
  settle(*r);
  EXPECT_EQ(secret_field("apiKey"), key);
  EXPECT_EQ(secret_field("apiSecret"), "user-pair-secret-0001");
  EXPECT_EQ(secret_field("passphrase"), "user-pair-pass-0001");
  // Only the secret changes (the exchange re-issued it for the same key): a new version.
  Json user = *find("secrets", "bots", "user-pair");
  user["data"]["secret"] = keyward::base64_encode("user-pair-secret-0002");
  put(user);
  settle(*r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(secret_field("apiSecret"), "user-pair-secret-0002");
  EXPECT_EQ(secret_field("previousApiSecret"), "user-pair-secret-0001");
  EXPECT_EQ(secret_field("previousApiKey"), key);
  EXPECT_EQ(secret_field("previousPassphrase"), "user-pair-pass-0001");
  // The passphrase disappears from the user's Secret: Degraded, naming the field; the stored
  // version stays whole.
  user = *find("secrets", "bots", "user-pair");
  user["data"].erase("pass");
  put(user);
  settle(*r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(condition("Degraded")["reason"], "SourceSecretKeyMissing");
  EXPECT_NE(condition("Degraded")["message"].get<std::string>().find("passphraseKey"),
            std::string::npos);
  EXPECT_EQ(secret_field("passphrase"), "user-pair-pass-0001");
  const std::string seen = observable_text();
  for (const char* value :
       {"user-pair-secret-0001", "user-pair-secret-0002", "user-pair-pass-0001"})
    EXPECT_EQ(seen.find(value), std::string::npos) << value;
}

TEST_F(ReconcilerTest, AnHttpKeyPairIsStoredOnlyWhenTheProviderAnswersEveryField) {
  provider = std::make_unique<IdempotentProvider>("pk_seed_key_000000000000");
  put(make_apikey(
      "alpha",
      {{"source",
        {{"generate", nullptr},
         {"http",
          {{"url", "https://provider.example/regenerate"}, {"secretField", "data.secret"}}}}},
       {"rotation", {{"intervalSeconds", 3600}, {"gracePeriodSeconds", 600}}}}));
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "keyward-alpha"}, {"namespace", "bots"}}},
           {"data",
            {{"apiKey", keyward::base64_encode("pk_seed_key_000000000000")},
             {"apiSecret", keyward::base64_encode("ps_seed_secret_0000")}}}});
  auto r = make_reconciler();
  settle(*r);
  EXPECT_EQ(key_version(), 1);
  // The provider answers the key without its secret: nothing is stored, the seed pair stays.
  clock.advance(hours(1));
  settle(*r);
  EXPECT_EQ(key_version(), 1);
  EXPECT_EQ(condition("Degraded")["reason"], "KeySourceInvalidResponse");
  EXPECT_NE(condition("Degraded")["message"].get<std::string>().find("secretField"),
            std::string::npos);
  EXPECT_EQ(secret_field("apiSecret"), "ps_seed_secret_0000");
  // It answers the pair: both are stored as version 2, the seed pair kept for the grace period.
  provider->answer_secrets(true);
  clock.advance(seconds(60));
  settle(*r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(provider->issued(), 1) << "the retry reused the Idempotency-Key";
  EXPECT_EQ(secret_field("apiKey"), provider->valid_key());
  EXPECT_EQ(secret_field("apiSecret"), IdempotentProvider::secret_of(provider->valid_key()));
  EXPECT_EQ(secret_field("previousApiKey"), "pk_seed_key_000000000000");
  EXPECT_EQ(secret_field("previousApiSecret"), "ps_seed_secret_0000");
  const std::string seen = observable_text();
  EXPECT_EQ(seen.find(IdempotentProvider::secret_of(provider->valid_key())), std::string::npos);
  EXPECT_EQ(seen.find("ps_seed_secret_0000"), std::string::npos);
}

// A new display name renames the key; it never rotates it (the key, its version and the pods stay).
TEST_F(ReconcilerTest, ADisplayNameChangeRenamesAndNeverRotates) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 7200}}}}));
  auto r = make_reconciler();
  settle(*r);
  const std::string key = secret_field("apiKey");
  Json renamed = apikey();
  renamed["spec"]["displayName"] = "Alpha bot (renamed for the desk)";
  put(renamed);
  settle(*r);
  EXPECT_EQ(key_version(), 1);
  EXPECT_EQ(secret_field("apiKey"), key);
  EXPECT_EQ(generator.count(), 1) << "a rename issued a key";
  EXPECT_TRUE(events_with("KeyRotated").empty());
  EXPECT_EQ(apikey()["status"]["observedGeneration"], apikey()["metadata"]["generation"]);
}

// Two-phase rotation: the previous key stays while a consuming pod runs it (status.previousKey
// names the pod), and is revoked as soon as every pod runs the current key; when a pod lags,
// the grace period ends it anyway.
TEST_F(ReconcilerTest, ThePreviousKeyIsRevokedWhenEveryPodMovedOrTheGraceEnds) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 7200}, {"gracePeriodSeconds", 600}}},
                            {"consumers", {{"restartStrategy", "None"}}}}));
  auto r = make_reconciler();
  settle(*r);
  put(ready_pod("bot-a", 1));
  put(ready_pod("bot-b", 1));
  clock.advance(seconds(7200));
  settle(*r);
  ASSERT_EQ(key_version(), 2);
  ASSERT_NE(secret_field("previousApiKey"), "");
  put(ready_pod("bot-b", 2));  // bot-b moved (its replacement runs version 2)
  settle(*r);
  EXPECT_NE(secret_field("previousApiKey"), "") << "revoked while bot-a still runs it";
  const Json previous = apikey()["status"]["previousKey"];
  EXPECT_EQ(previous["version"], 1);
  EXPECT_EQ(previous["pods"], Json::array({"bot-a"}));
  EXPECT_EQ(previous["revokedBy"], format_rfc3339(clock.now() + seconds(600)));

  put(ready_pod("bot-a", 2));  // the last one moved
  settle(*r);
  EXPECT_EQ(secret_field("previousApiKey"), "") << "kept although no pod runs it";
  EXPECT_FALSE(apikey()["status"].contains("previousKey")) << apikey()["status"].dump();
  auto revoked = events_with("PreviousKeyRevoked");
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_NE(revoked[0]["message"].get<std::string>().find(
                "revoked key version 1: every consuming pod runs the current key"),
            std::string::npos)
      << revoked[0].dump();

  // Next rotation: bot-a lags on version 2; the grace period ends the previous key anyway.
  clock.advance(seconds(7200));
  settle(*r);
  ASSERT_EQ(key_version(), 3);
  put(ready_pod("bot-b", 3));
  settle(*r);
  EXPECT_NE(secret_field("previousApiKey"), "");
  EXPECT_EQ(apikey()["status"]["previousKey"]["pods"], Json::array({"bot-a"}));
  clock.advance(seconds(600));
  settle(*r);
  EXPECT_EQ(secret_field("previousApiKey"), "");
  revoked = events_with("PreviousKeyRevoked");
  ASSERT_EQ(revoked.size(), 2u);
  bool grace_named = false;
  for (const auto& e : revoked) {
    grace_named = grace_named || e["message"].get<std::string>().find(
                                     "revoked key version 2: its "
                                     "grace period ended") != std::string::npos;
  }
  EXPECT_TRUE(grace_named);
}

// "30 2 * * *" in America/Chicago across the spring-forward night of 2027-03-14: 02:30 does
// not exist that night, the planner runs it at 03:00 CDT. Rotations happen at the requeue times.
TEST_F(ReconcilerTest, CronInChicagoAcrossDstDrivesRotationsAtExactInstants) {
  SystemTime start;
  ASSERT_NO_THROW(start = parse_rfc3339("2027-03-12T12:00:00Z").value());
  clock.set(start);
  put(make_apikey("alpha", {{"rotation",
                             {{"schedule", "30 2 * * *"},
                              {"timeZone", "America/Chicago"},
                              {"gracePeriodSeconds", 60}}}}));
  auto r = make_reconciler();
  settle(*r);
  std::vector<std::string> rotations;
  for (int i = 0; i < 6 && rotations.size() < 3; ++i) {
    auto action = reconcile(*r);
    ASSERT_TRUE(action) << action.error().to_string();
    ASSERT_TRUE(action->requeue_after);
    clock.advance(*action->requeue_after);
    const auto before = key_version();
    settle(*r);
    if (key_version() > before) rotations.push_back(format_rfc3339(clock.now()));
  }
  EXPECT_EQ(rotations, (std::vector<std::string>{"2027-03-13T08:30:00Z",     // 02:30 CST
                                                 "2027-03-14T08:00:00Z",     // 03:00 CDT (no 02:30)
                                                 "2027-03-15T07:30:00Z"}));  // 02:30 CDT
  EXPECT_EQ(key_version(), 4);
}

TEST_F(ReconcilerTest, RotationWaitsForTheWindow) {
  // Due every hour, but only inside 16:00-17:00 America/Chicago (22:00Z in winter time).
  put(make_apikey("alpha", {{"rotation",
                             {{"intervalSeconds", 3600},
                              {"windows", Json::array({{{"name", "halt"},
                                                        {"start", "0 16 * * *"},
                                                        {"durationSeconds", 3600},
                                                        {"timeZone", "America/Chicago"}}})}}}}));
  auto r = make_reconciler();
  settle(*r);
  EXPECT_EQ(key_version(), 1);
  clock.advance(hours(2));  // 14:00Z: due, but outside the window
  auto action = settle(*r);
  EXPECT_EQ(key_version(), 1);
  ASSERT_TRUE(action.requeue_after);
  EXPECT_EQ(format_rfc3339(clock.now() + *action.requeue_after), "2027-03-01T22:00:00Z");
  EXPECT_EQ(apikey()["status"]["nextRotationTime"], "2027-03-01T22:00:00Z");
  clock.advance(*action.requeue_after);
  settle(*r);
  EXPECT_EQ(key_version(), 2);
}

// Rotate now (keyward.dev/rotate): at once, outside the window, once per value, with who asked
// in the Event; the previous key keeps its grace unless the grace is ended too.
TEST_F(ReconcilerTest, RotateAnnotationRotatesOnceAtOnceOutsideWindows) {
  const Json window = {{"intervalSeconds", 604800},
                       {"windows", Json::array({{{"name", "halt"},
                                                 {"start", "0 16 * * *"},
                                                 {"durationSeconds", 3600},
                                                 {"timeZone", "America/Chicago"}}})}};
  put(make_apikey("alpha", {{"rotation", window}}));
  auto r = make_reconciler();
  settle(*r);
  ASSERT_EQ(key_version(), 1);
  const std::string first = secret_field("apiKey");
  auto request = [&](const std::string& value, bool end_grace) {
    Json obj = apikey();
    obj["metadata"]["annotations"]["keyward.dev/rotate"] = value;
    obj["metadata"]["annotations"]["keyward.dev/rotate-requested-by"] = "alice@desk";
    if (end_grace) obj["metadata"]["annotations"]["keyward.dev/rotate-end-grace"] = "true";
    put(obj);
  };
  request("2027-03-01T12:00:00Z-1", false);
  settle(*r);
  EXPECT_EQ(key_version(), 2) << "outside the window, but asked for";
  EXPECT_EQ(secret_field("previousApiKey"), first) << "the previous key keeps its grace";
  auto rotated = events_with("KeyRotated");
  ASSERT_FALSE(rotated.empty());
  EXPECT_NE(rotated.back()["message"].get<std::string>().find("requested by alice@desk"),
            std::string::npos)
      << rotated.back().dump();
  clock.advance(minutes(5));
  settle(*r);
  EXPECT_EQ(key_version(), 2) << "the same request again rotates nothing";
  request("2027-03-01T12:05:00Z-2", false);
  settle(*r);
  EXPECT_EQ(key_version(), 3) << "a new value is one more rotation";
  EXPECT_EQ(observable_text().find(first), std::string::npos);
}

// After a leak: the grace ends at once, the previous key is dropped, and pods still on it are
// restarted now, outside the window.
TEST_F(ReconcilerTest, RotateWithEndOfGraceDropsThePreviousKeyAndRestartsAtOnce) {
  put(make_apikey("alpha", {{"rotation",
                             {{"intervalSeconds", 604800},
                              {"windows", Json::array({{{"name", "halt"},
                                                        {"start", "0 16 * * *"},
                                                        {"durationSeconds", 3600},
                                                        {"timeZone", "America/Chicago"}}})}}},
                            {"consumers", {{"restartStrategy", "Evict"}}}}));
  auto r = make_reconciler();
  settle(*r);
  put(ready_pod("bare", 1));
  Json obj = apikey();
  obj["metadata"]["annotations"]["keyward.dev/rotate"] = "leak-1";
  obj["metadata"]["annotations"]["keyward.dev/rotate-end-grace"] = "true";
  put(obj);
  settle(*r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(secret_field("previousApiKey"), "") << "a leaked key is not kept";
  EXPECT_FALSE(find("pods", "bots", "bare")) << "the stale pod was restarted outside the window";
  auto rotated = events_with("KeyRotated");
  ASSERT_FALSE(rotated.empty());
  EXPECT_EQ(rotated.back()["type"], "Warning");
  EXPECT_NE(rotated.back()["message"].get<std::string>().find("grace ended at once"),
            std::string::npos);
}

// The pod cache is a watch event behind our own eviction: the next pass must not take the
// evicted pod for a ready, stale one and evict it again (nor count it as available).
TEST_F(ReconcilerTest, APodCacheBehindOurEvictionIsNotTrusted) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 3600}, {"gracePeriodSeconds", 600}}},
                            {"consumers", {{"restartStrategy", "Evict"}}}}));
  kube::Store pods;
  pod_cache = &pods;
  auto r = make_reconciler();
  settle(*r);
  pods.apply(put(ready_pod("bare", 1)));
  clock.advance(hours(1));
  ASSERT_TRUE(reconcile(*r));  // rotates to 2 and evicts the stale pod
  EXPECT_EQ(key_version(), 2);
  ASSERT_EQ(requests("POST", "/pods/bare/eviction"), 1u);
  for (int i = 0; i < 3; ++i) {
    auto action = reconcile(*r);  // the cache still holds the pod as it was before the eviction
    ASSERT_TRUE(action) << action.error().to_string();
  }
  EXPECT_EQ(requests("POST", "/pods/bare/eviction"), 1u) << "evicted twice on a stale cache";
  EXPECT_EQ(events_with("ConsumerEvicted").size(), 1u);
}

TEST_F(ReconcilerTest, ASecretCacheBehindOurOwnWriteIsNotTrusted) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 3600}}}}));
  kube::Store cache;
  secret_cache = &cache;
  auto r = make_reconciler();
  settle(*r);
  cache.apply(*secret());  // the watch delivered version 1
  clock.advance(hours(1));
  ASSERT_TRUE(reconcile(*r));  // rotates to version 2; its watch event is late
  EXPECT_EQ(key_version(), 2);
  // The cache still holds version 1, whose rotation looks due: passes read the API instead.
  for (int i = 0; i < 3; ++i) {
    auto action = reconcile(*r);
    ASSERT_TRUE(action) << action.error().to_string();
  }
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(generator.count(), 2);  // no key asked for on the stale copy
  // Once the cache has caught up, a pass reads the Secret from it.
  cache.apply(*secret());
  const auto gets = requests("GET", "/secrets/");
  ASSERT_TRUE(reconcile(*r));
  EXPECT_EQ(requests("GET", "/secrets/"), gets);
}

// A key Secret write that failed (refused, or its outcome unknown): the server may hold a newer
// Secret than the cache, so the next pass reads the API before trusting the cache again.
TEST_F(ReconcilerTest, AFailedSecretWriteMakesTheNextPassReadTheApi) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 3600}}}}));
  kube::Store cache;
  secret_cache = &cache;
  auto r = make_reconciler();
  settle(*r);
  cache.apply(*secret());
  const auto gets = requests("GET", "/secrets/keyward-alpha");
  ASSERT_TRUE(reconcile(*r));
  EXPECT_EQ(requests("GET", "/secrets/keyward-alpha"), gets) << "in order: read from the cache";
  clock.advance(hours(1));
  server->fail_next(1, 500, "PUT", "/secrets/keyward-alpha");
  EXPECT_FALSE(reconcile(*r));  // the rotation's write fails
  ASSERT_TRUE(reconcile(*r));
  EXPECT_GT(requests("GET", "/secrets/keyward-alpha"), gets) << "trusted the cache after a failure";
  EXPECT_EQ(key_version(), 2);
}

TEST_F(ReconcilerTest, ConflictStormConvergesWithOneRotation) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 3600}}}}));
  auto r = make_reconciler();
  settle(*r);
  clock.advance(hours(1));
  server->fail_next(6, 409, "PUT", "/secrets/keyward-alpha");
  server->fail_next(4, 409, "PUT", "/apikeys/alpha/status");
  int errors = 0;
  for (int i = 0; i < 30; ++i) {
    auto action = reconcile(*r);
    if (!action) {
      ++errors;
      EXPECT_EQ(action.error().reason, "Conflict");
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(generator.count(), 1 + 1 + 6);  // first key, the rotation, one per failed attempt
  EXPECT_EQ(apikey()["status"]["keyVersion"], 2);
  EXPECT_EQ(metrics.rotations_total.value({{"namespace", "bots"}, {"name", "alpha"}}), 1);
}

TEST_F(ReconcilerTest, InactiveKeyIsNotDeliveredAndRestartsNothing) {
  put(make_apikey("alpha", {{"active", false}}));
  auto r = make_reconciler();
  auto action = settle(*r);
  EXPECT_FALSE(secret());
  EXPECT_EQ(action, Action::await_change());
  EXPECT_EQ(condition("Ready")["status"], "False");
  EXPECT_EQ(condition("Ready")["reason"], "Inactive");
  EXPECT_EQ(generator.count(), 0);
}

TEST_F(ReconcilerTest, DeactivatingStopsRotationAndRestarts) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 3600}}}}));
  auto r = make_reconciler();
  settle(*r);
  put(ready_pod("bare", 0));
  Json obj = apikey();
  obj["spec"]["active"] = false;
  put(obj);
  clock.advance(hours(5));
  settle(*r);
  EXPECT_EQ(key_version(), 1);
  EXPECT_TRUE(find("pods", "bots", "bare"));
  EXPECT_EQ(requests("POST", "/eviction"), 0u);
  EXPECT_EQ(condition("Ready")["reason"], "Inactive");
  EXPECT_EQ(apikey()["status"]["consumers"]["stale"], 1);
  EXPECT_FALSE(apikey()["status"].contains("nextRotationTime"));
  // Direct-mode sidecars read the switch from the key Secret (data.active), the key kept.
  EXPECT_EQ(secret_field("active"), "false");
  EXPECT_FALSE(secret_field("apiKey").empty());
  obj = apikey();
  obj["spec"]["active"] = true;
  put(obj);
  settle(*r);
  EXPECT_EQ(secret_field("active"), "true");
  // The rotation that fell due while the key was inactive happens once, now.
  EXPECT_EQ(key_version(), 2);
}

TEST_F(ReconcilerTest, PerKeyMetricsFollowTheStatusAndGoWithTheKey) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 7200}}}}));
  auto r = make_reconciler();
  settle(*r);
  const Labels key{{"namespace", "bots"}, {"name", "alpha"}};
  const auto with = [&](Labels extra) {
    extra.insert(key.begin(), key.end());
    return extra;
  };
  EXPECT_EQ(
      metrics.apikey_condition.value(with({{"condition", "Ready"}, {"reason", "AsExpected"}})), 1);
  EXPECT_EQ(
      metrics.next_rotation_timestamp_seconds.value(key),
      std::chrono::duration<double>((clock.now() + seconds(7200)).time_since_epoch()).count());
  EXPECT_TRUE(metrics.consumers.has(with({{"state", "stale"}})));

  // Turned off: the old condition's series is replaced, and no rotation is planned any more.
  Json off = *find("apikeys", "bots", "alpha");
  off["spec"]["active"] = false;
  put(off);
  settle(*r);
  EXPECT_FALSE(
      metrics.apikey_condition.has(with({{"condition", "Ready"}, {"reason", "AsExpected"}})));
  EXPECT_EQ(
      metrics.apikey_condition.value(with({{"condition", "Inactive"}, {"reason", "Inactive"}})), 1);
  EXPECT_FALSE(metrics.next_rotation_timestamp_seconds.has(key));

  r->forget("bots/alpha");
  EXPECT_FALSE(
      metrics.apikey_condition.has(with({{"condition", "Inactive"}, {"reason", "Inactive"}})));
  EXPECT_FALSE(metrics.consumers.has(with({{"state", "current"}})));
}

TEST_F(ReconcilerTest, AKeySourceThatFailsAtRotationIsCountedAsARotationFailure) {
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "user-key"}, {"namespace", "bots"}}},
           {"data", {{"key", keyward::base64_encode("user-key-0001")}}}});
  put(make_apikey(
      "alpha", {{"source",
                 {{"generate", nullptr}, {"secretRef", {{"name", "user-key"}, {"key", "key"}}}}}}));
  auto r = make_reconciler();
  settle(*r);
  const Labels failed{{"namespace", "bots"}, {"name", "alpha"}, {"reason", "SourceSecretNotFound"}};
  EXPECT_EQ(metrics.rotation_failures_total.value(failed), 0);
  ASSERT_TRUE(api.remove(kube::ResourceType::secrets(), "bots", "user-key", {}));
  auto action = r->reconcile(*find("apikeys", "bots", "alpha"));
  ASSERT_TRUE(action);
  EXPECT_EQ(action->requeue_after, controller::ApiKeyReconciler::kKeySourceRetry)
      << "a failing key source is asked again on its own clock";
  for (int i = 0; i < 3; ++i) r->reconcile(*find("apikeys", "bots", "alpha"));
  EXPECT_EQ(metrics.rotation_failures_total.value(failed), 1) << "one episode, counted once";
  EXPECT_EQ(metrics.rotation_failing.value(failed), 1);
  EXPECT_EQ(metrics.apikey_condition.value({{"namespace", "bots"},
                                            {"name", "alpha"},
                                            {"condition", "Degraded"},
                                            {"reason", "SourceSecretNotFound"}}),
            1);
  // The source comes back: the episode ends; a second outage is a second episode.
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "user-key"}, {"namespace", "bots"}}},
           {"data", {{"key", keyward::base64_encode("user-key-0001")}}}});
  r->reconcile(*find("apikeys", "bots", "alpha"));
  EXPECT_FALSE(metrics.rotation_failing.has(failed)) << "the episode ended";
  ASSERT_TRUE(api.remove(kube::ResourceType::secrets(), "bots", "user-key", {}));
  r->reconcile(*find("apikeys", "bots", "alpha"));
  EXPECT_EQ(metrics.rotation_failures_total.value(failed), 2);
}

TEST_F(ReconcilerTest, SecretRefContentChangeIsARotation) {
  const std::string user_key_1 = "user-provided-key-0001";
  const std::string user_key_2 = "user-provided-key-0002";
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "user-key"}, {"namespace", "bots"}}},
           {"data", {{"apiKey", keyward::base64_encode(user_key_1)}}}});
  Json spec_override = {
      {"source",
       {{"generate", nullptr}, {"secretRef", {{"name", "user-key"}, {"key", "apiKey"}}}}}};
  put(make_apikey("alpha", spec_override));
  auto r = make_reconciler();
  settle(*r);
  EXPECT_EQ(secret_field("apiKey"), user_key_1);
  EXPECT_EQ(key_version(), 1);
  settle(*r);
  EXPECT_EQ(key_version(), 1);  // unchanged content: no rotation
  Json user = *find("secrets", "bots", "user-key");
  user["data"]["apiKey"] = keyward::base64_encode(user_key_2);
  put(user);
  settle(*r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(secret_field("apiKey"), user_key_2);
  EXPECT_EQ(secret_field("previousApiKey"), user_key_1);
  EXPECT_EQ(apikey()["status"]["keyHint"], "…0002");
  const std::string seen = observable_text();
  EXPECT_EQ(seen.find(user_key_1), std::string::npos);
  EXPECT_EQ(seen.find(user_key_2), std::string::npos);
}

TEST_F(ReconcilerTest, DeletionIsBlockedWhileAWorkloadIsAssignedThenCleansUp) {
  put(Json{{"apiVersion", "apps/v1"},
           {"kind", "Deployment"},
           {"metadata", {{"name", "alpha-bot"}, {"namespace", "bots"}}},
           {"spec", {{"replicas", 1}}}});
  put(make_apikey("alpha", {{"consumers",
                             {{"workloadRef", {{"kind", "Deployment"}, {"name", "alpha-bot"}}}}}}));
  auto r = make_reconciler();
  settle(*r);
  ASSERT_TRUE(secret());
  ASSERT_TRUE(api.remove(apikey::apikey_resource(), "bots", "alpha", {}));
  ASSERT_TRUE(find("apikeys", "bots", "alpha"));  // finalizer holds it

  auto action = reconcile(*r);
  ASSERT_TRUE(action) << action.error().to_string();
  EXPECT_EQ(action->requeue_after, controller::ApiKeyReconciler::kDeletionRecheck);
  ASSERT_TRUE(find("apikeys", "bots", "alpha"));
  EXPECT_TRUE(apikey()["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(condition("Degraded")["reason"], "DeletionBlocked");
  auto blocked = events_with("DeletionBlocked");
  ASSERT_EQ(blocked.size(), 1u);
  EXPECT_EQ(blocked[0]["type"], "Warning");
  EXPECT_EQ(blocked[0]["message"],
            "DeletionBlocked: ApiKey is assigned to Deployment/alpha-bot; unassign it first");
  ASSERT_TRUE(reconcile(*r));
  EXPECT_EQ(events_with("DeletionBlocked")[0]["count"], 2);  // aggregated, not a new Event

  // Unassign: the next pass removes only our finalizer; the Secret goes with its owner.
  Json obj = apikey();
  obj["metadata"]["finalizers"].push_back("example.com/other");
  obj["spec"]["consumers"].erase("workloadRef");
  put(obj);
  ASSERT_TRUE(reconcile(*r));
  ASSERT_TRUE(find("apikeys", "bots", "alpha"));
  EXPECT_EQ(apikey()["metadata"]["finalizers"], Json::array({"example.com/other"}));
  // The other owner lets go of its finalizer: the object, already being deleted, goes now.
  obj = apikey();
  obj["metadata"]["finalizers"] = Json::array();
  put(obj);
  EXPECT_FALSE(find("apikeys", "bots", "alpha"));
  EXPECT_FALSE(secret());
}

TEST_F(ReconcilerTest, HttpSourceNeedsASeedKeyThenRotatesThroughTheProvider) {
  provider = std::make_unique<IdempotentProvider>("pk_seed_key_000000000000");
  put(make_apikey("alpha", {{"source",
                             {{"generate", nullptr},
                              {"http", {{"url", "https://provider.example/regenerate"}}}}},
                            {"rotation", {{"intervalSeconds", 3600}}}}));
  auto r = make_reconciler();
  auto action = settle(*r);
  EXPECT_EQ(condition("Degraded")["reason"], "SeedKeyMissing");
  EXPECT_EQ(action.requeue_after, controller::ApiKeyReconciler::kSeedKeyRecheck);
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "keyward-alpha"}, {"namespace", "bots"}}},
           {"data", {{"apiKey", keyward::base64_encode("pk_seed_key_000000000000")}}}});
  settle(*r);
  EXPECT_EQ(key_version(), 1);
  EXPECT_EQ(secret()->at("metadata")["ownerReferences"][0]["uid"], apikey()["metadata"]["uid"]);
  EXPECT_EQ(condition("Ready")["status"], "True");
  clock.advance(hours(1));
  settle(*r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(provider->issued(), 1);
  EXPECT_EQ(secret_field("apiKey"), provider->valid_key());
  EXPECT_FALSE(kube::has_annotation(*secret(), "keyward.dev/rotation-nonce"));
  const std::string seen = observable_text();
  EXPECT_EQ(seen.find(provider->valid_key()), std::string::npos);
  EXPECT_EQ(seen.find("pk_seed_key_000000000000"), std::string::npos);
}

// spec.source.http.revokeUrl: the previous key is revoked at the provider when Keyward revokes
// it. A failed call leaves it revoked here (never delivered or valid) and kept only to retry.
TEST_F(ReconcilerTest, AnHttpSourcesPreviousKeyIsRevokedAtTheProviderAndRetried) {
  constexpr const char* kSeed = "pk_seed_key_000000000000";
  provider = std::make_unique<IdempotentProvider>(kSeed);
  put(make_apikey("alpha",
                  {{"source",
                    {{"generate", nullptr},
                     {"http",
                      {{"url", "https://provider.example/regenerate"},
                       {"revokeUrl", "https://provider.example/revoke"}}}}},
                   {"rotation", {{"intervalSeconds", 3600}, {"gracePeriodSeconds", 600}}}}));
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "keyward-alpha"}, {"namespace", "bots"}}},
           {"data", {{"apiKey", keyward::base64_encode(kSeed)}}}});
  auto r = make_reconciler();
  settle(*r);
  clock.advance(hours(1));
  settle(*r);
  ASSERT_EQ(key_version(), 2);
  EXPECT_EQ(secret_field("previousApiKey"), kSeed);
  EXPECT_TRUE(provider->revoked().empty()) << "revoked during its grace period";

  // The grace ends and the provider's revoke endpoint fails: revoked here at once, kept to retry.
  provider->fail_revokes(true);
  clock.advance(seconds(600));
  auto action = settle(*r);
  EXPECT_EQ(action.requeue_after, controller::ApiKeyReconciler::kProviderRevokeRetry);
  EXPECT_EQ(secret_field("previousApiKey"), kSeed);
  EXPECT_EQ(kube::annotation(*secret(), "keyward.dev/previous-revoked"), "1");
  auto versions = apikey::key_versions(*secret(), clock.now());
  ASSERT_TRUE(versions);
  EXPECT_TRUE(versions->revoked(1)) << "a previous key pending at the provider is still valid";
  EXPECT_EQ(condition("Degraded")["reason"], "KeySourceRejected");
  EXPECT_FALSE(apikey()["status"].contains("previousKey"));
  ASSERT_EQ(events_with("ProviderRevokeFailed").size(), 1u);

  // The next rotation is due while the call still fails: it waits, so the seed key is never
  // dropped before the provider has revoked it.
  clock.advance(hours(1));
  settle(*r);
  EXPECT_EQ(key_version(), 2) << "rotated over a key still pending revocation at the provider";
  EXPECT_EQ(secret_field("previousApiKey"), kSeed);
  EXPECT_EQ(provider->issued(), 1);

  // The provider recovers: the retry revokes the seed key there and drops it here, then the
  // waiting rotation runs.
  provider->fail_revokes(false);
  const std::string second = secret_field("apiKey");
  clock.advance(controller::ApiKeyReconciler::kProviderRevokeRetry);
  settle(*r);
  EXPECT_EQ(provider->revoked(), std::vector<std::string>{kSeed});
  EXPECT_FALSE(kube::has_annotation(*secret(), "keyward.dev/previous-revoked"));
  EXPECT_EQ(key_version(), 3);
  EXPECT_EQ(secret_field("previousApiKey"), second);
  EXPECT_EQ(condition("Degraded")["status"], "False");
  EXPECT_EQ(events_with("PreviousKeyRevoked").size(), 1u);

  // A forced rotation that ends the grace at once (a leaked key): the previous key in its grace
  // is revoked at the provider first, then the leaked one in the same pass, though it is never
  // kept for a grace period.
  const std::string leaked = secret_field("apiKey");
  Json forced = apikey();
  forced["metadata"]["annotations"] = {{"keyward.dev/rotate", "leak-1"},
                                       {"keyward.dev/rotate-end-grace", "true"}};
  put(forced);
  settle(*r);
  EXPECT_EQ(key_version(), 4);
  EXPECT_EQ(provider->revoked(), (std::vector<std::string>{kSeed, second, leaked}));
  EXPECT_EQ(secret_field("previousApiKey"), "");
  const std::string seen = observable_text();
  EXPECT_EQ(seen.find(kSeed), std::string::npos);
  EXPECT_EQ(seen.find(leaked), std::string::npos);
}

TEST_F(ReconcilerTest, SecretsNeverReachLogsEventsOrStatus) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 60}}}}));
  auto r = make_reconciler();
  settle(*r);
  for (int i = 0; i < 3; ++i) {
    clock.advance(seconds(60));
    settle(*r);
  }
  ASSERT_EQ(generator.count(), 4);
  const std::string seen = observable_text();
  ASSERT_FALSE(seen.empty());
  for (const auto& key : generator.issued()) {
    EXPECT_EQ(seen.find(key), std::string::npos) << key;
    EXPECT_EQ(seen.find(key.substr(3, 20)), std::string::npos);
  }
}

}  // namespace
}  // namespace keyward::testing
