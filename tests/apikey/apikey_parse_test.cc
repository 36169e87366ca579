#include <gtest/gtest.h>

#include "operator/apikey/apikey.h"
#include "tests/support/fake_clock.h"

namespace keyward::apikey {
namespace {

using nlohmann::json;

json object_with(json spec) {
  return json{{"apiVersion", "keyward.dev/v1alpha1"},
              {"kind", "ApiKey"},
              {"metadata",
               {{"name", "alpha-bot"},
                {"namespace", "bots"},
                {"uid", "0b7c-11"},
                {"generation", 3},
                {"resourceVersion", "812"},
                {"finalizers", {"keyward.dev/cleanup"}}}},
              {"spec", std::move(spec)}};
}

json minimal_spec() { return json{{"source", {{"generate", json::object()}}}}; }

TEST(ParseApiKey, MinimalObjectGetsTheCrdDefaults) {
  auto key = parse_apikey(object_with(minimal_spec()));
  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_EQ(key->metadata.ns, "bots");
  EXPECT_EQ(key->metadata.name, "alpha-bot");
  EXPECT_EQ(key->metadata.uid, "0b7c-11");
  EXPECT_EQ(key->metadata.generation, 3);
  EXPECT_EQ(key->metadata.resource_version, "812");
  EXPECT_EQ(key->metadata.finalizers, std::vector<std::string>{"keyward.dev/cleanup"});
  EXPECT_FALSE(key->metadata.deletion_timestamp);
  const ApiKeySpec& s = key->spec;
  EXPECT_TRUE(s.active);
  ASSERT_TRUE(std::holds_alternative<GenerateSource>(s.source));
  EXPECT_EQ(std::get<GenerateSource>(s.source), (GenerateSource{"nt_", 40, Alphabet::Base62}));
  EXPECT_FALSE(s.rotation);
  EXPECT_FALSE(s.consumers.workload_ref);
  EXPECT_EQ(s.consumers.restart_strategy, RestartStrategy::RolloutRestart);
  EXPECT_EQ(s.consumers.max_unavailable, 1);
  EXPECT_EQ(s.consumers.hold_timeout_seconds, 1800);
  EXPECT_EQ(s.token_exchange.provider, TokenProvider::None);
  EXPECT_EQ(s.token_exchange.lifetime_seconds, 5400);
  EXPECT_EQ(s.token_exchange.refresh_lead_seconds, 300);
  EXPECT_EQ(s.token_exchange.token_file, "token");
  EXPECT_EQ(s.token_exchange.env_var_name, "KEYWARD_ACCESS_TOKEN");
  EXPECT_EQ(key->status, ApiKeyStatus{});
}

TEST(ParseApiKey, FullContractExample) {
  json spec = {
      {"displayName", "Alpha bot, CME futures"},
      {"active", false},
      {"source", {{"http", {{"url", "https://provider.example/regenerate"}, {"method", "PUT"}}}}},
      {"rotation",
       {{"schedule", "0 17 * * 5"},
        {"timeZone", "America/Chicago"},
        {"gracePeriodSeconds", 600},
        {"windows",
         {{{"name", "globex-halt"},
           {"start", "0 16 * * 1-5"},
           {"durationSeconds", 3600},
           {"excludedDates", {"2026-12-25", "2027-01-01"}}},
          {{"name", "london"},
           {"start", "0 7 * * *"},
           {"durationSeconds", 600},
           {"timeZone", "Europe/London"}}}}}},
      {"consumers",
       {{"workloadRef", {{"kind", "StatefulSet"}, {"name", "alpha-bot"}}},
        {"restartStrategy", "Evict"},
        {"maxUnavailable", 2},
        {"holdTimeoutSeconds", 60}}},
      {"tokenExchange",
       {{"provider", "tradovate"},
        {"endpoint", "https://demo.tradovateapi.com/v1"},
        {"lifetimeSeconds", 3600},
        {"refreshLeadSeconds", 120},
        {"tokenFile", "tradovate-token"},
        {"envVarName", "TRADOVATE_ACCESS_TOKEN"},
        {"credentialsSecretRef", {{"name", "alpha-bot-login"}}},
        {"tradovate", {{"appId", "MyBot"}, {"appVersion", "2.1"}}}}}};
  auto key = parse_apikey(object_with(spec));
  ASSERT_TRUE(key) << key.error().to_string();
  const ApiKeySpec& s = key->spec;
  EXPECT_EQ(s.display_name, "Alpha bot, CME futures");
  EXPECT_FALSE(s.active);
  EXPECT_EQ(std::get<HttpSource>(s.source),
            (HttpSource{"https://provider.example/regenerate", "PUT", "apiKey", "Authorization",
                        "Bearer", "", "", "", "", "POST"}));
  ASSERT_TRUE(s.rotation);
  EXPECT_EQ(s.rotation->schedule, "0 17 * * 5");
  EXPECT_FALSE(s.rotation->interval_seconds);
  EXPECT_EQ(s.rotation->grace_period_seconds, 600);
  ASSERT_EQ(s.rotation->windows.size(), 2u);
  // A window without a zone reads its start in rotation.timeZone.
  EXPECT_EQ(s.rotation->windows[0].time_zone, "America/Chicago");
  EXPECT_EQ(s.rotation->windows[0].excluded_dates,
            (std::vector<std::string>{"2026-12-25", "2027-01-01"}));
  EXPECT_EQ(s.rotation->windows[1].time_zone, "Europe/London");
  EXPECT_EQ(s.consumers.workload_ref, (WorkloadRef{WorkloadKind::StatefulSet, "alpha-bot"}));
  EXPECT_EQ(s.consumers.restart_strategy, RestartStrategy::Evict);
  EXPECT_EQ(s.consumers.max_unavailable, 2);
  EXPECT_EQ(s.token_exchange.provider, TokenProvider::Tradovate);
  EXPECT_EQ(s.token_exchange.credentials_secret_ref, SecretNameRef{"alpha-bot-login"});
  EXPECT_EQ(s.token_exchange.tradovate, (TradovateSettings{"MyBot", "2.1"}));
  EXPECT_FALSE(s.token_exchange.oauth2);
}

TEST(ParseApiKey, IntervalRotationAndSecretRefAndOAuth2) {
  json spec = {{"source", {{"secretRef", {{"name", "user-key"}}}}},
               {"rotation", {{"intervalSeconds", 86400}}},
               {"tokenExchange",
                {{"provider", "oauth2ClientCredentials"},
                 {"endpoint", "https://auth.example/token"},
                 {"oauth2", {{"clientAuth", "body"}}}}}};
  auto key = parse_apikey(object_with(spec));
  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_EQ(std::get<SecretRefSource>(key->spec.source),
            (SecretRefSource{"user-key", "apiKey", "", ""}));
  EXPECT_EQ(key->spec.rotation->interval_seconds, 86400);
  EXPECT_EQ(key->spec.rotation->time_zone, "UTC");
  EXPECT_EQ(key->spec.token_exchange.oauth2, (OAuth2Settings{OAuth2ClientAuth::Body, ""}));
}

// ---- every validation, with its exact message ----

struct Invalid {
  const char* name;
  json patch;  // merge-patched into a valid spec
  std::string message;
};
void PrintTo(const Invalid& c, std::ostream* os) { *os << c.name; }

json valid_spec() {
  return json{
      {"source", {{"generate", json::object()}}},
      {"rotation",
       {{"schedule", "0 17 * * 5"},
        {"timeZone", "America/Chicago"},
        {"windows",
         {{{"name", "globex-halt"}, {"start", "0 16 * * 1-5"}, {"durationSeconds", 3600}}}}}},
      {"consumers", {{"workloadRef", {{"kind", "Deployment"}, {"name", "bot"}}}}},
      {"tokenExchange",
       {{"provider", "tradovate"}, {"endpoint", "https://demo.tradovateapi.com/v1"}}}};
}

json window_patch(const json& window_fields) {
  json w = {{"name", "globex-halt"}, {"start", "0 16 * * 1-5"}, {"durationSeconds", 3600}};
  w.merge_patch(window_fields);
  return json{{"rotation", {{"windows", json::array({w})}}}};
}

class ParseApiKeyRejects : public ::testing::TestWithParam<Invalid> {};

TEST_P(ParseApiKeyRejects, WithAnExactMessage) {
  json spec = valid_spec();
  spec.merge_patch(GetParam().patch);
  auto key = parse_apikey(object_with(spec));
  ASSERT_FALSE(key) << GetParam().name;
  EXPECT_EQ(key.error().reason, "InvalidSpec");
  EXPECT_EQ(key.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseApiKeyRejects,
    ::testing::Values(
        Invalid{"TimeZoneTypo",
                {{"rotation", {{"timeZone", "America/Chicgo"}}}},
                "spec.rotation.timeZone: \"America/Chicgo\" is not an IANA time zone; use a name "
                "such as America/Chicago"},
        Invalid{"TimeZoneShape",
                {{"rotation", {{"timeZone", "Central Time"}}}},
                "spec.rotation.timeZone: \"Central Time\" is not valid; use an IANA name such as "
                "America/Chicago or UTC"},
        Invalid{"WindowZone", window_patch({{"timeZone", "Mars/Olympus"}}),
                "spec.rotation.windows[0].timeZone: \"Mars/Olympus\" is not an IANA time zone; use "
                "a name such as America/Chicago"},
        Invalid{"DisplayNameTooLong",
                {{"displayName", std::string(256, 'x')}},
                "spec.displayName: is 256 characters long; the limit is 255"},
        Invalid{"DisplayNameEmpty", {{"displayName", ""}}, "spec.displayName: must not be empty"},
        Invalid{"ActiveNotBool",
                {{"active", "yes"}},
                "spec.active: must be true or false, got a string"},
        Invalid{"NoSource", {{"source", nullptr}}, "spec.source: is required"},
        Invalid{"TwoSources",
                {{"source", {{"secretRef", {{"name", "s"}}}}}},
                "spec.source: set exactly one of generate, secretRef or http (found 2)"},
        Invalid{"EmptySource",
                {{"source", {{"generate", nullptr}}}},
                "spec.source: set exactly one of generate, secretRef or http (found 0)"},
        Invalid{"Alphabet",
                {{"source", {{"generate", {{"alphabet", "base64"}}}}}},
                "spec.source.generate.alphabet: \"base64\" is not allowed; use one of base62, hex, "
                "base32"},
        Invalid{"LengthTooShort",
                {{"source", {{"generate", {{"length", 8}}}}}},
                "spec.source.generate.length: is 8; it must be between 16 and 256"},
        Invalid{"LengthNotInteger",
                {{"source", {{"generate", {{"length", 40.5}}}}}},
                "spec.source.generate.length: must be an integer, got a number"},
        Invalid{"PrefixCharset",
                {{"source", {{"generate", {{"prefix", "nt key/"}}}}}},
                "spec.source.generate.prefix: \"nt key/\" is not valid; use up to 16 letters, "
                "digits, '_' or '-', such as nt_"},
        Invalid{"PrefixTooLong",
                {{"source", {{"generate", {{"prefix", std::string(17, 'a')}}}}}},
                "spec.source.generate.prefix: is 17 characters long; the limit is 16"},
        Invalid{"SecretRefName",
                {{"source", {{"generate", nullptr}, {"secretRef", {{"name", "User_Key"}}}}}},
                "spec.source.secretRef.name: \"User_Key\" is not valid; use a Kubernetes object "
                "name: lower-case letters, digits, '-' and '.'"},
        Invalid{"SecretRefNoName",
                {{"source", {{"generate", nullptr}, {"secretRef", json::object()}}}},
                "spec.source.secretRef.name: is required"},
        Invalid{"HttpPlainUrl",
                {{"source", {{"generate", nullptr}, {"http", {{"url", "http://p.example/r"}}}}}},
                "spec.source.http.url: \"http://p.example/r\" is not valid; use an https:// URL "
                "(the current key is sent with the call)"},
        Invalid{"HttpMethod",
                {{"source",
                  {{"generate", nullptr},
                   {"http", {{"url", "https://p.example"}, {"method", "GET"}}}}}},
                "spec.source.http.method: \"GET\" is not allowed; use one of POST, PUT"},
        Invalid{"BothScheduleAndInterval",
                {{"rotation", {{"intervalSeconds", 3600}}}},
                "spec.rotation: set exactly one of schedule (5-field cron) or intervalSeconds"},
        Invalid{"NeitherScheduleNorInterval",
                {{"rotation", {{"schedule", nullptr}}}},
                "spec.rotation: set exactly one of schedule (5-field cron) or intervalSeconds"},
        Invalid{"IntervalTooShort",
                {{"rotation", {{"schedule", nullptr}, {"intervalSeconds", 10}}}},
                "spec.rotation.intervalSeconds: is 10; it must be between 60 and 31622400"},
        Invalid{"CronFourFields",
                {{"rotation", {{"schedule", "0 17 * *"}}}},
                "spec.rotation.schedule: \"0 17 * *\" is not valid; write 5 fields, minute hour "
                "day-of-month month day-of-week, such as \"0 16 * * 1-5\""},
        Invalid{"CronOutOfRange",
                {{"rotation", {{"schedule", "0 25 * * 5"}}}},
                "spec.rotation.schedule: hour field \"25\": values must be between 0 and 23"},
        Invalid{"CronNeverFires",
                {{"rotation", {{"schedule", "0 0 31 2 *"}}}},
                "spec.rotation.schedule: \"0 0 31 2 *\" never fires (no such date); check the "
                "day-of-month and month fields"},
        Invalid{"GraceNegative",
                {{"rotation", {{"gracePeriodSeconds", -1}}}},
                "spec.rotation.gracePeriodSeconds: is -1; it must be between 0 and 2592000"},
        Invalid{"WindowsNotAList",
                {{"rotation", {{"windows", {{"name", "x"}}}}}},
                "spec.rotation.windows: must be a list of windows"},
        Invalid{"WindowNoStart", window_patch({{"start", nullptr}}),
                "spec.rotation.windows[0].start: is required"},
        Invalid{"WindowBadStart", window_patch({{"start", "0 16 * * MONDAY"}}),
                "spec.rotation.windows[0].start: day-of-week field \"MONDAY\": \"MONDAY\" is not a "
                "valid value"},
        Invalid{"WindowNeverStarts", window_patch({{"start", "0 0 30 2 *"}}),
                "spec.rotation.windows[0].start: \"0 0 30 2 *\" never fires (no such date); check "
                "the day-of-month and month fields"},
        Invalid{"WindowZeroDuration", window_patch({{"durationSeconds", 0}}),
                "spec.rotation.windows[0].durationSeconds: is 0; it must be between 60 and 604800"},
        Invalid{"WindowName", window_patch({{"name", "Globex Halt"}}),
                "spec.rotation.windows[0].name: \"Globex Halt\" is not valid; use lower-case "
                "letters, digits and '-', such as globex-halt"},
        Invalid{"WindowBadDate", window_patch({{"excludedDates", {"2026-12-25", "2026-02-30"}}}),
                "spec.rotation.windows[0].excludedDates[1]: \"2026-02-30\" is not a calendar date; "
                "write YYYY-MM-DD, for example 2026-12-25"},
        Invalid{"WindowDateShape", window_patch({{"excludedDates", {"12/25/2026"}}}),
                "spec.rotation.windows[0].excludedDates[0]: \"12/25/2026\" is not a calendar date; "
                "write YYYY-MM-DD, for example 2026-12-25"},
        Invalid{"WorkloadKind",
                {{"consumers", {{"workloadRef", {{"kind", "Job"}}}}}},
                "spec.consumers.workloadRef.kind: \"Job\" is not allowed; use one of Deployment, "
                "StatefulSet, DaemonSet, Pod"},
        Invalid{"PodWithRollout",
                {{"consumers", {{"workloadRef", {{"kind", "Pod"}}}}}},
                "spec.consumers.restartStrategy: RolloutRestart needs a Deployment, StatefulSet or "
                "DaemonSet; a bare Pod can only be restarted with Evict (or not at all with None)"},
        Invalid{"RestartStrategy",
                {{"consumers", {{"restartStrategy", "Recreate"}}}},
                "spec.consumers.restartStrategy: \"Recreate\" is not allowed; use one of "
                "RolloutRestart, Evict, None"},
        Invalid{"MaxUnavailableZero",
                {{"consumers", {{"maxUnavailable", 0}}}},
                "spec.consumers.maxUnavailable: is 0; it must be between 1 and 1000"},
        Invalid{"Provider",
                {{"tokenExchange", {{"provider", "oauth2"}}}},
                "spec.tokenExchange.provider: \"oauth2\" is not allowed; use one of tradovate, "
                "oauth2ClientCredentials, none"},
        Invalid{"EndpointMissing",
                {{"tokenExchange", {{"endpoint", nullptr}}}},
                "spec.tokenExchange.endpoint: is required when provider is tradovate"},
        Invalid{"EndpointPlainHttp",
                {{"tokenExchange", {{"endpoint", "http://x"}}}},
                "spec.tokenExchange.endpoint: \"http://x\" is not valid; use an https:// URL such "
                "as https://demo.tradovateapi.com/v1"},
        Invalid{"RefreshLeadTooLong",
                {{"tokenExchange", {{"lifetimeSeconds", 600}, {"refreshLeadSeconds", 600}}}},
                "spec.tokenExchange.refreshLeadSeconds: is 600; it must be less than "
                "lifetimeSeconds (600)"},
        Invalid{"TokenFileDots",
                {{"tokenExchange", {{"tokenFile", "..data"}}}},
                "spec.tokenExchange.tokenFile: \"..data\" is not valid; use a plain file name "
                "(letters, digits, '.', '_', '-'; not starting with '.'), such as token"},
        Invalid{"TokenFileTaken",
                {{"tokenExchange", {{"tokenFile", "token.json"}}}},
                "spec.tokenExchange.tokenFile: \"token.json\" is taken by the token directory's "
                "own files; choose another name"},
        Invalid{"EnvVarName",
                {{"tokenExchange", {{"envVarName", "1TOKEN"}}}},
                "spec.tokenExchange.envVarName: \"1TOKEN\" is not valid; use letters, digits and "
                "'_', not starting with a digit, such as TRADOVATE_ACCESS_TOKEN"},
        Invalid{"OAuth2WithTradovate",
                {{"tokenExchange", {{"oauth2", {{"scope", "x"}}}}}},
                "spec.tokenExchange.oauth2: is only allowed with provider oauth2ClientCredentials"},
        Invalid{"RotationNotObject",
                {{"rotation", "weekly"}},
                "spec.rotation: must be an object, got a string"}),
    [](const ::testing::TestParamInfo<Invalid>& p) { return std::string(p.param.name); });

TEST(ParseApiKey, LengthsCountCharactersLikeTheApiServer) {
  json spec = minimal_spec();
  std::string name;
  for (int i = 0; i < 255; ++i) name += "\u00e9";  // 255 characters, 510 bytes
  spec["displayName"] = name;
  auto ok_key = parse_apikey(object_with(spec));
  ASSERT_TRUE(ok_key) << ok_key.error().to_string();
  EXPECT_EQ(ok_key->spec.display_name, name);
  spec["displayName"] = name + "\u00e9";
  auto too_long = parse_apikey(object_with(spec));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().message, "spec.displayName: is 256 characters long; the limit is 255");
}

TEST(ParseApiKey, MessagesQuotingUserTextStayValidUtf8) {
  // A long zone name of multi-byte characters is cut in the message without splitting one.
  json spec = valid_spec();
  std::string zone = "Europe/";
  for (int i = 0; i < 50; ++i) zone += "\u00e9";
  spec["rotation"]["timeZone"] = zone;
  auto key = parse_apikey(object_with(spec));
  ASSERT_FALSE(key);
  EXPECT_NO_THROW((void)json(key.error().message).dump());
}

TEST(ParseApiKey, MissingOrNonObjectSpec) {
  json object = object_with(minimal_spec());
  object.erase("spec");
  auto a = parse_apikey(object);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message, "spec: is required");
  object["spec"] = json::array();
  auto b = parse_apikey(object);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, "spec: must be an object, got a list");
}

TEST(ParseApiKey, MetadataProblemsAreInvalidObject) {
  json object = object_with(minimal_spec());
  object["metadata"].erase("namespace");
  auto key = parse_apikey(object);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().reason, "InvalidObject");
  EXPECT_EQ(key.error().message, "metadata.namespace: is required");
  EXPECT_FALSE(parse_apikey(json::array()));
  EXPECT_FALSE(parse_apikey(json{{"spec", minimal_spec()}}));
}

TEST(ParseApiKey, InvalidSpecStillLetsTheControllerReadMetadataAndStatus) {
  json object = object_with({{"source", json::object()}});
  object["status"] = {{"keyVersion", 4}, {"observedGeneration", 2}};
  ASSERT_FALSE(parse_apikey(object));
  auto meta = parse_object_meta(object);
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->generation, 3);
  auto status = parse_apikey_status(object["status"]);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->key_version, 4);
}

TEST(ParseApiKey, DeletionTimestamp) {
  json object = object_with(minimal_spec());
  object["metadata"]["deletionTimestamp"] = "2026-11-23T05:00:00Z";
  auto key = parse_apikey(object);
  ASSERT_TRUE(key);
  ASSERT_TRUE(key->metadata.deletion_timestamp);
  EXPECT_EQ(format_rfc3339(*key->metadata.deletion_timestamp), "2026-11-23T05:00:00Z");
}

TEST(ParseApiKey, NeverThrowsOnHostileInput) {
  for (const json& spec :
       {json(nullptr), json(1), json("x"), json::array(), json{{"source", 1}},
        json{{"source", {{"generate", 1}}}}, json{{"source", {{"generate", {{"length", "40"}}}}}},
        json{{"source", {{"generate", {}}}}, {"rotation", {{"windows", {1, 2}}}}},
        json{{"source", {{"generate", {}}}},
             {"rotation", {{"schedule", "@daily"}, {"windows", {{{"excludedDates", 5}}}}}}},
        json{{"source", {{"generate", {}}}}, {"consumers", {{"workloadRef", "bot"}}}},
        json{{"source", {{"generate", {}}}}, {"tokenExchange", {{"lifetimeSeconds", 1e300}}}}}) {
    EXPECT_NO_THROW({
      auto key = parse_apikey(object_with(spec));
      EXPECT_FALSE(key) << spec.dump();
    });
  }
}

// ---- status ----

TEST(ApiKeyStatusJson, RoundTripsEveryField) {
  testing::FakeClock clock;
  ApiKeyStatus status;
  status.observed_generation = 3;
  status.key_version = 7;
  status.key_hint =
      "nt_\u2026"
      "9f3a";
  status.secret_name = "keyward-alpha-bot";
  status.last_rotation_time = clock.now();
  status.next_rotation_time = clock.now() + std::chrono::hours(24 * 7);
  status.consumers = {2, 1, 1, 4};
  status.holds = {Hold{"alpha-bot-7c9-x2", "open positions", clock.now()}};
  status.conditions = {Condition{"Ready", "True", "KeyAvailable", "ok", clock.now(), 3}};
  const json j = to_json(status);
  EXPECT_EQ(j["keyVersion"], 7);
  EXPECT_EQ(j["keyHint"],
            "nt_\u2026"
            "9f3a");
  EXPECT_EQ(j["consumers"], (json{{"upToDate", 2}, {"stale", 1}, {"held", 1}, {"pending", 4}}));
  EXPECT_EQ(j["holds"][0]["since"], format_rfc3339(clock.now()));
  EXPECT_EQ(j["lastRotationTime"], format_rfc3339(clock.now()));
  auto back = parse_apikey_status(j);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, status);
}

TEST(ApiKeyStatusJson, OmitsUnsetOptionalFields) {
  const json j = to_json(ApiKeyStatus{});
  EXPECT_FALSE(j.contains("lastRotationTime"));
  EXPECT_FALSE(j.contains("nextRotationTime"));
  EXPECT_FALSE(j.contains("keyHint"));
  EXPECT_FALSE(j.contains("phase"));
  EXPECT_EQ(*parse_apikey_status(j), ApiKeyStatus{});
}

TEST(ApiKeyStatusJson, MalformedStatusIsInvalidStatus) {
  auto a = parse_apikey_status(json{{"keyVersion", "seven"}});
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().reason, "InvalidStatus");
  auto b = parse_apikey_status(json{{"lastRotationTime", "last tuesday"}});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().reason, "InvalidStatus");
  EXPECT_EQ(b.error().message, "status.lastRotationTime: expected an RFC 3339 time");
}

TEST(SecretName, FollowsTheContract) {
  EXPECT_EQ(secret_name_for("alpha-bot"), "keyward-alpha-bot");
}

}  // namespace
}  // namespace keyward::apikey

namespace keyward::apikey {
namespace {

// Which Secrets an ApiKey reads (the operator enqueues the key when one of them changes).
TEST(ReferencedSecrets, KeySecretSourceAndCredentials) {
  json spec = {{"source", {{"secretRef", {{"name", "alpha-source"}}}}},
               {"tokenExchange",
                {{"provider", "tradovate"},
                 {"endpoint", "https://demo.tradovateapi.com/v1"},
                 {"credentialsSecretRef", {{"name", "alpha-login"}}}}}};
  EXPECT_EQ(referenced_secrets(object_with(spec)),
            (std::vector<std::string>{"keyward-alpha-bot", "alpha-source", "alpha-login"}));
  EXPECT_EQ(referenced_secrets(object_with(minimal_spec())),
            (std::vector<std::string>{"keyward-alpha-bot"}));
  json broken = object_with(minimal_spec());
  broken["spec"]["active"] = "yes";
  EXPECT_EQ(referenced_secrets(broken), (std::vector<std::string>{"keyward-alpha-bot"}))
      << "an ApiKey that does not parse still names its key Secret";
}

}  // namespace
}  // namespace keyward::apikey
