#pragma once
// The ApiKey custom resource (keyward.dev/v1alpha1) as plain C++ structs, parsed from and written
// to the API's JSON. crds/apikey.yaml is the single source of the schema; parse_apikey applies the
// same defaults and checks, plus what a schema cannot check: the cron expressions parse and fire,
// the time zones exist in the tz database, the dates are real dates, the windows can open at all.
// Field names follow docs/contracts.md; C++ members are the snake_case of the JSON names.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/core/clock.h"
#include "common/core/result.h"
#include "operator/apikey/conditions.h"

namespace keyward::apikey {

inline constexpr std::string_view kGroup = "keyward.dev";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "keyward.dev/v1alpha1";
inline constexpr std::string_view kKind = "ApiKey";

// ---- spec.source: exactly one of generate | secretRef | http ----

enum class Alphabet { Base62, Hex, Base32 };

struct GenerateSource {
  std::string prefix = "nt_";  // recognisable, non-secret; [A-Za-z0-9_-]{0,16}
  std::int32_t length = 40;    // random characters AFTER the prefix, 16..256
  Alphabet alphabet = Alphabet::Base62;
  // 0: the key alone; 16..256: an apiSecret of this many characters (same alphabet, no prefix)
  // is generated with every key version, a key pair.
  std::int32_t secret_length = 0;

  bool operator==(const GenerateSource&) const = default;
};

struct SecretRefSource {
  std::string name;            // a Secret in the ApiKey's namespace, managed by the user
  std::string key = "apiKey";  // the data key holding the key material
  std::string secret_key;      // the data key holding the apiSecret; "" for none
  std::string passphrase_key;  // the data key holding the passphrase; "" for none

  bool operator==(const SecretRefSource&) const = default;
};

struct HttpSource {
  std::string url;                            // https://provider/regenerate
  std::string method = "POST";                // POST | PUT
  std::string response_field = "apiKey";      // dotted path into the JSON answer, "data.key"
  std::string auth_header = "Authorization";  // header that carries the current key
  std::string auth_scheme = "Bearer";         // "" sends the bare key
  std::string ca_bundle;                      // PEM CAs trusted for url; empty: the system store
  std::string secret_field;      // dotted path of the new apiSecret in the answer; "" for none
  std::string passphrase_field;  // dotted path of the new passphrase; "" for none
  // The provider's revoke endpoint ("" for none): called with the previous key (in auth_header)
  // when Keyward revokes it, so the key stops working at the provider too.
  std::string revoke_url;
  std::string revoke_method = "POST";  // POST | DELETE

  bool operator==(const HttpSource&) const = default;
};

using SourceSpec = std::variant<GenerateSource, SecretRefSource, HttpSource>;

// ---- spec.rotation ----

struct RotationWindow {
  std::string name;
  std::string start;  // 5-field cron for the window's opening, in time_zone
  std::int64_t duration_seconds = 0;
  std::string time_zone = "UTC";
  std::vector<std::string> excluded_dates;  // "YYYY-MM-DD": local dates in time_zone on which
                                            // the window does not open

  bool operator==(const RotationWindow&) const = default;
};

struct RotationSpec {
  std::optional<std::string> schedule;  // exactly one of schedule | interval_seconds
  std::optional<std::int64_t> interval_seconds;
  std::string time_zone = "UTC";             // the zone `schedule` is read in
  std::int64_t grace_period_seconds = 3600;  // previous key kept this long
  std::vector<RotationWindow> windows;       // empty: rotate and restart any time

  bool operator==(const RotationSpec&) const = default;
};

// ---- spec.consumers ----

enum class WorkloadKind { Deployment, StatefulSet, DaemonSet, Pod };
enum class RestartStrategy { RolloutRestart, Evict, None };

struct WorkloadRef {
  WorkloadKind kind = WorkloadKind::Deployment;
  std::string name;

  bool operator==(const WorkloadRef&) const = default;
};

struct ConsumersSpec {
  std::optional<WorkloadRef> workload_ref;
  RestartStrategy restart_strategy = RestartStrategy::RolloutRestart;
  std::int32_t max_unavailable = 1;
  std::int64_t hold_timeout_seconds = 1800;

  bool operator==(const ConsumersSpec&) const = default;
};

// ---- spec.tokenExchange (read by the sidecar) ----

enum class TokenProvider { Tradovate, OAuth2ClientCredentials, None };
enum class OAuth2ClientAuth { Basic, Body };

struct SecretNameRef {
  std::string name;
  bool operator==(const SecretNameRef&) const = default;
};

struct TradovateSettings {
  std::string app_id;
  std::string app_version = "1.0";
  bool operator==(const TradovateSettings&) const = default;
};

struct OAuth2Settings {
  OAuth2ClientAuth client_auth = OAuth2ClientAuth::Basic;
  std::string scope;
  bool operator==(const OAuth2Settings&) const = default;
};

struct TokenExchangeSpec {
  TokenProvider provider = TokenProvider::None;
  std::string endpoint;   // required unless provider is None
  std::string ca_bundle;  // PEM CAs trusted for endpoint; empty: the system store
  std::int64_t lifetime_seconds = 5400;
  std::int64_t refresh_lead_seconds = 300;
  std::string token_file = "token";
  std::string env_var_name = "KEYWARD_ACCESS_TOKEN";
  std::optional<SecretNameRef> credentials_secret_ref;
  std::optional<TradovateSettings> tradovate;  // only with provider Tradovate
  std::optional<OAuth2Settings> oauth2;        // only with provider OAuth2ClientCredentials

  bool operator==(const TokenExchangeSpec&) const = default;
};

// spec.environment: real money or a demo account (docs/apikey.md).
enum class TradingEnvironment { Live, Demo };

struct ApiKeySpec {
  std::string display_name;
  TradingEnvironment environment = TradingEnvironment::Demo;
  bool active = true;
  SourceSpec source;
  std::optional<RotationSpec> rotation;  // absent: never rotate on a schedule
  ConsumersSpec consumers;
  TokenExchangeSpec token_exchange;

  bool operator==(const ApiKeySpec&) const = default;
};

// ---- status ----

struct ConsumerCounts {
  std::int32_t up_to_date = 0;
  std::int32_t stale = 0;
  std::int32_t held = 0;
  // Pods whose sidecar has not delivered a key yet (no keyward.dev/key-version recorded): they
  // will start on whatever key is current then, so they are neither current nor stale.
  std::int32_t pending = 0;
  bool operator==(const ConsumerCounts&) const = default;
};

struct Hold {
  std::string pod;
  std::string reason;
  SystemTime since{};
  bool operator==(const Hold&) const = default;
};

// The previous key while it is still valid (status.previousKey): which pods still run it, and
// when it is revoked at the latest. It is revoked as soon as none does, or when the grace
// period ends, whichever comes first (docs/operator.md, "Two-phase rotation").
struct PreviousKeyStatus {
  std::int64_t version = 0;
  std::optional<SystemTime> revoked_by;  // the end of the grace period
  std::vector<std::string> pods;         // pods whose recorded version is older (first 100)
  bool operator==(const PreviousKeyStatus&) const = default;
};

struct ApiKeyStatus {
  std::int64_t observed_generation = 0;
  std::int64_t key_version = 0;  // 0: no key yet; 1 after the first key
  std::string key_hint;          // mask_key(), never more
  std::string secret_name;
  std::optional<SystemTime> last_rotation_time;
  std::optional<SystemTime> next_rotation_time;
  // When a sidecar last fetched the token from the operator's broker (published at most once a
  // minute; absent in direct mode).
  std::optional<SystemTime> last_used_time;
  ConsumerCounts consumers;
  std::optional<PreviousKeyStatus> previous_key;
  std::vector<Hold> holds;
  std::vector<Condition> conditions;

  bool operator==(const ApiKeyStatus&) const = default;
};

// The metadata fields the operator uses.
struct ObjectMeta {
  std::string ns;  // metadata.namespace
  std::string name;
  std::string uid;
  std::int64_t generation = 0;
  std::string resource_version;
  std::optional<SystemTime> deletion_timestamp;
  std::vector<std::string> finalizers;

  bool operator==(const ObjectMeta&) const = default;
};

struct ApiKey {
  ObjectMeta metadata;
  ApiKeySpec spec;
  ApiKeyStatus status;

  bool operator==(const ApiKey&) const = default;
};

// The whole object. A spec that violates the CRD or the checks above gives
// Error{"InvalidSpec", "spec.<path>: <what is wrong>; <what to do>"}; missing metadata gives
// Error{"InvalidObject", ...}; a malformed status gives Error{"InvalidStatus", ...}.
// Never throws. Secret values never appear in the message (the spec holds none).
[[nodiscard]] Result<ApiKey> parse_apikey(const nlohmann::json& object);

// The parts on their own, so a controller can still read metadata and status (and report a
// Degraded condition) for an object whose spec does not parse.
[[nodiscard]] Result<ObjectMeta> parse_object_meta(const nlohmann::json& object);
[[nodiscard]] Result<ApiKeySpec> parse_apikey_spec(const nlohmann::json& spec);
// A missing or null status gives an empty ApiKeyStatus.
[[nodiscard]] Result<ApiKeyStatus> parse_apikey_status(const nlohmann::json& status);

// The status object as the API expects it under "status" (PUT to /status). Optional fields that
// are unset are omitted; times are RFC 3339 UTC.
[[nodiscard]] nlohmann::json to_json(const ApiKeyStatus& status);

// The spec with every default filled in (what the API server stores), for tests and tools.
[[nodiscard]] nlohmann::json to_json(const ApiKeySpec& spec);

// The Secret name for an ApiKey: "keyward-<name>" (docs/contracts.md).
[[nodiscard]] std::string secret_name_for(std::string_view apikey_name);

// The Secrets (in its namespace) an ApiKey object reads: its key Secret keyward-<name>, a
// secretRef source and the tokenExchange credentials Secret. Read leniently and cheaply (no full
// parse: it runs for every ApiKey on every Secret event), so an invalid spec still names them.
[[nodiscard]] std::vector<std::string> referenced_secrets(const nlohmann::json& apikey_object);

// Enum names as they appear in JSON.
[[nodiscard]] std::string_view to_string(Alphabet value);
[[nodiscard]] std::string_view to_string(WorkloadKind value);
[[nodiscard]] std::string_view to_string(RestartStrategy value);
[[nodiscard]] std::string_view to_string(TokenProvider value);
[[nodiscard]] std::string_view to_string(OAuth2ClientAuth value);
[[nodiscard]] std::string_view to_string(TradingEnvironment value);

// The environment a provider endpoint belongs to, where the provider's live and demo endpoints
// differ (Tradovate: live.tradovateapi.com, demo.tradovateapi.com); nullopt when it cannot tell.
[[nodiscard]] std::optional<TradingEnvironment> environment_of_endpoint(std::string_view url);

}  // namespace keyward::apikey
