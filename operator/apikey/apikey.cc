#include "operator/apikey/apikey.h"

#include <date/date.h>
#include <date/tz.h>

#include <regex>
#include <sstream>
#include <utility>

#include "common/kube/object_meta.h"
#include "operator/apikey/field_reader.h"
#include "operator/apikey/message_text.h"
#include "operator/apikey/rotation_planner.h"

namespace keyward::apikey {
namespace {

using namespace detail;  // NOLINT(google-build-using-namespace): this library's own reader
using nlohmann::json;
constexpr const char* kDnsSubdomain =
    R"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)";
constexpr const char* kDnsSubdomainHint =
    "use a Kubernetes object name: lower-case letters, digits, '-' and '.'";
constexpr const char* kTimeZonePattern = R"([A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*)";
constexpr const char* kTimeZoneHint = "use an IANA name such as America/Chicago or UTC";
constexpr const char* kCronPattern =
    R"((@(annually|yearly|monthly|weekly|daily|midnight|hourly))|([0-9A-Za-z*/,-]+( +[0-9A-Za-z*/,-]+){4}))";
constexpr const char* kCronHint =
    "write 5 fields, minute hour day-of-month month day-of-week, such as \"0 16 * * 1-5\"";
constexpr const char* kDatePattern = R"([0-9]{4}-[0-9]{2}-[0-9]{2})";

// Every pattern a rule checks, compiled once at start-up (immutable after).
const std::regex kDnsSubdomainRe{kDnsSubdomain};
const std::regex kTimeZoneRe{kTimeZonePattern};
const std::regex kCronRe{kCronPattern};
const std::regex kDateRe{kDatePattern};
const std::regex kWordRe{"[A-Za-z0-9_-]*"};
const std::regex kSecretDataKeyRe{"[-._a-zA-Z0-9]+"};
const std::regex kHttpsUrlRe{R"(https://[^\s/?#]+([/?#]\S*)?)"};
const std::regex kDottedFieldRe{R"([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)"};
const std::regex kHeaderNameRe{"[A-Za-z0-9-]+"};
const std::regex kDnsLabelRe{"[a-z0-9]([-a-z0-9]*[a-z0-9])?"};
const std::regex kFileNameRe{"[A-Za-z0-9_][A-Za-z0-9._-]*"};
const std::regex kEnvVarNameRe{"[A-Za-z_][A-Za-z0-9_]*"};

StringRule time_zone_rule() { return {false, 1, 64, &kTimeZoneRe, kTimeZoneHint}; }

Status check_time_zone(const std::string& zone, const std::string& path) {
  try {
    (void)date::locate_zone(zone);
  } catch (const std::exception&) {
    return invalid(path,
                   quote(zone) + " is not an IANA time zone; use a name such as America/Chicago");
  }
  return ok();
}

Status check_cron(const std::string& text, const std::string& path) {
  auto cron = CronExpression::parse(text);
  if (!cron) return invalid(path, cron.error().message);
  if (!cron->next_after(LocalSeconds{}).has_value()) {
    return invalid(path, quote(text) +
                             " never fires (no such date); check the day-of-month and month "
                             "fields");
  }
  return ok();
}

// caBundle: PEM text that holds at least one whole certificate block. Whether the blocks parse
// is checked where the client is built (HttplibTransport::create names the broken bundle).
Status read_ca_bundle(const FieldReader& r, std::string& out) {
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  const json* value = r.find("caBundle");
  if (value == nullptr) return ok();
  if (!value->is_string()) {
    return invalid(r.path("caBundle"), "must be a string, got " + std::string(type_name(*value)));
  }
  const auto& text = value->get_ref<const std::string&>();
  if (text.size() > 65536) {
    return invalid(r.path("caBundle"),
                   "is " + std::to_string(text.size()) + " characters long; the limit is 65536");
  }
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text.compare(first, kBegin.size(), kBegin) != 0 ||
      text.find(kEnd) == std::string::npos) {
    return invalid(r.path("caBundle"),
                   "is not a PEM certificate bundle; paste the CA certificates, each from "
                   "-----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----");
  }
  out = text;
  return ok();
}

Result<SourceSpec> parse_source(const FieldReader& spec) {
  auto source_json = spec.object("source", true);
  if (!source_json) return fail(source_json.error());
  FieldReader source(**source_json, spec.path("source"));
  auto generate = source.object("generate");
  auto secret_ref = source.object("secretRef");
  auto http = source.object("http");
  if (!generate) return fail(generate.error());
  if (!secret_ref) return fail(secret_ref.error());
  if (!http) return fail(http.error());
  const int count = (*generate != nullptr ? 1 : 0) + (*secret_ref != nullptr ? 1 : 0) +
                    (*http != nullptr ? 1 : 0);
  if (count != 1) {
    return invalid(spec.path("source"), "set exactly one of generate, secretRef or http (found " +
                                            std::to_string(count) + ")");
  }
  if (*generate != nullptr) {
    FieldReader r(**generate, source.path("generate"));
    GenerateSource g;
    KW_TRY(r.string(
        "prefix", g.prefix,
        {false, 0, 16, &kWordRe, "use up to 16 letters, digits, '_' or '-', such as nt_"}));
    KW_TRY(r.integer("length", g.length, 16, 256));
    KW_TRY(r.enumeration(
        "alphabet", g.alphabet,
        {{"base62", Alphabet::Base62}, {"hex", Alphabet::Hex}, {"base32", Alphabet::Base32}}));
    KW_TRY(r.integer("secretLength", g.secret_length, 16, 256));
    return g;
  }
  if (*secret_ref != nullptr) {
    FieldReader r(**secret_ref, source.path("secretRef"));
    SecretRefSource s;
    KW_TRY(r.string("name", s.name, {true, 1, 253, &kDnsSubdomainRe, kDnsSubdomainHint}));
    KW_TRY(r.string("key", s.key,
                    {false, 1, 253, &kSecretDataKeyRe,
                     "use a Secret data key: letters, digits, '-', '_' and '.'"}));
    for (auto [field, target] :
         {std::pair{"secretKey", &s.secret_key}, std::pair{"passphraseKey", &s.passphrase_key}}) {
      KW_TRY(r.string(field, *target,
                      {false, 1, 253, &kSecretDataKeyRe,
                       "use a Secret data key: letters, digits, '-', '_' and '.'"}));
    }
    return s;
  }
  FieldReader r(**http, source.path("http"));
  HttpSource h;
  KW_TRY(r.string("url", h.url,
                  {true, 1, 2048, &kHttpsUrlRe,
                   "use an https:// URL (the current key is sent with the call)"}));
  KW_TRY(r.enumeration("method", h.method,
                       {{"POST", std::string("POST")}, {"PUT", std::string("PUT")}}));
  KW_TRY(r.string(
      "responseField", h.response_field,
      {false, 1, 253, &kDottedFieldRe, "use a field name or a dotted path such as data.apiKey"}));
  KW_TRY(
      r.string("authHeader", h.auth_header,
               {false, 1, 128, &kHeaderNameRe, "use an HTTP header name such as Authorization"}));
  KW_TRY(r.string("authScheme", h.auth_scheme,
                  {false, 0, 64, &kWordRe, "use a scheme such as Bearer, or \"\""}));
  KW_TRY(read_ca_bundle(r, h.ca_bundle));
  KW_TRY(r.string("revokeUrl", h.revoke_url,
                  {false, 1, 2048, &kHttpsUrlRe,
                   "use an https:// URL (the key being revoked is sent with the call)"}));
  KW_TRY(r.enumeration("revokeMethod", h.revoke_method,
                       {{"POST", std::string("POST")}, {"DELETE", std::string("DELETE")}}));
  for (auto [field, target] : {std::pair{"secretField", &h.secret_field},
                               std::pair{"passphraseField", &h.passphrase_field}}) {
    KW_TRY(r.string(field, *target,
                    {false, 1, 253, &kDottedFieldRe,
                     "use a field name or a dotted path such as data.apiSecret"}));
  }
  return h;
}

Result<std::vector<std::string>> parse_dates(const FieldReader& r, const char* field) {
  std::vector<std::string> dates;
  const json* list = r.find(field);
  if (list == nullptr) return dates;
  if (!list->is_array()) return invalid(r.path(field), "must be a list of YYYY-MM-DD dates");
  if (list->size() > 1000) return invalid(r.path(field), "has more than 1000 dates");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string path = r.path(field) + "[" + std::to_string(i) + "]";
    const json& item = (*list)[i];
    if (!item.is_string()) return invalid(path, "must be a YYYY-MM-DD string");
    const auto& text = item.get_ref<const std::string&>();
    std::istringstream in(text);
    date::year_month_day ymd{};
    in >> date::parse("%F", ymd);
    if (!std::regex_match(text, kDateRe) || in.fail() || !ymd.ok()) {
      return invalid(
          path, quote(text) + " is not a calendar date; write YYYY-MM-DD, for example 2026-12-25");
    }
    dates.push_back(text);
  }
  return dates;
}

Result<std::optional<RotationSpec>> parse_rotation(const FieldReader& spec) {
  auto rotation_json = spec.object("rotation");
  if (!rotation_json) return fail(rotation_json.error());
  if (*rotation_json == nullptr) return std::optional<RotationSpec>{};
  FieldReader r(**rotation_json, spec.path("rotation"));
  RotationSpec rot;
  std::string schedule;
  KW_TRY(r.string("schedule", schedule, {false, 1, 128, &kCronRe, kCronHint}));
  if (r.find("schedule") != nullptr) rot.schedule = schedule;
  std::int64_t interval = 0;
  KW_TRY(r.integer("intervalSeconds", interval, 60, 31'622'400));
  if (r.find("intervalSeconds") != nullptr) rot.interval_seconds = interval;
  if (rot.schedule.has_value() == rot.interval_seconds.has_value()) {
    return invalid(spec.path("rotation"),
                   "set exactly one of schedule (5-field cron) or intervalSeconds");
  }
  KW_TRY(r.string("timeZone", rot.time_zone, time_zone_rule()));
  KW_TRY(check_time_zone(rot.time_zone, r.path("timeZone")));
  if (rot.schedule) KW_TRY(check_cron(*rot.schedule, r.path("schedule")));
  KW_TRY(r.integer("gracePeriodSeconds", rot.grace_period_seconds, 0, 2'592'000));

  if (const json* windows = r.find("windows"); windows != nullptr) {
    if (!windows->is_array()) return invalid(r.path("windows"), "must be a list of windows");
    if (windows->size() > 16) return invalid(r.path("windows"), "has more than 16 windows");
    for (std::size_t i = 0; i < windows->size(); ++i) {
      const std::string path = r.path("windows") + "[" + std::to_string(i) + "]";
      if (!(*windows)[i].is_object()) return invalid(path, "must be an object");
      FieldReader w((*windows)[i], path);
      RotationWindow window;
      window.time_zone = rot.time_zone;  // a window reads its start in rotation.timeZone unless set
      KW_TRY(w.string("name", window.name,
                      {true, 1, 63, &kDnsLabelRe,
                       "use lower-case letters, digits and '-', such as globex-halt"}));
      for (const RotationWindow& other : rot.windows) {
        if (other.name == window.name) {
          return invalid(w.path("name"), quote(window.name) +
                                             " is used by two windows; give "
                                             "each window its own name");
        }
      }
      KW_TRY(w.string("start", window.start, {true, 1, 128, &kCronRe, kCronHint}));
      KW_TRY(check_cron(window.start, w.path("start")));
      KW_TRY(w.integer("durationSeconds", window.duration_seconds, 60, 604'800, true));
      KW_TRY(w.string("timeZone", window.time_zone, time_zone_rule()));
      KW_TRY(check_time_zone(window.time_zone, w.path("timeZone")));
      auto dates = parse_dates(w, "excludedDates");
      if (!dates) return fail(dates.error());
      window.excluded_dates = std::move(*dates);
      rot.windows.push_back(std::move(window));
    }
  }
  // Everything the planner needs must hold together (same checks, same messages).
  if (auto planner = RotationPlanner::create(rot); !planner) return fail(planner.error());
  return std::optional<RotationSpec>(std::move(rot));
}

Result<ConsumersSpec> parse_consumers(const FieldReader& spec) {
  ConsumersSpec c;
  auto consumers_json = spec.object("consumers");
  if (!consumers_json) return fail(consumers_json.error());
  if (*consumers_json == nullptr) return c;
  FieldReader r(**consumers_json, spec.path("consumers"));
  auto ref_json = r.object("workloadRef");
  if (!ref_json) return fail(ref_json.error());
  if (*ref_json != nullptr) {
    FieldReader w(**ref_json, r.path("workloadRef"));
    WorkloadRef ref;
    KW_TRY(w.enumeration("kind", ref.kind,
                         {{"Deployment", WorkloadKind::Deployment},
                          {"StatefulSet", WorkloadKind::StatefulSet},
                          {"DaemonSet", WorkloadKind::DaemonSet},
                          {"Pod", WorkloadKind::Pod}},
                         true));
    KW_TRY(w.string("name", ref.name, {true, 1, 253, &kDnsSubdomainRe, kDnsSubdomainHint}));
    c.workload_ref = std::move(ref);
  }
  KW_TRY(r.enumeration("restartStrategy", c.restart_strategy,
                       {{"RolloutRestart", RestartStrategy::RolloutRestart},
                        {"Evict", RestartStrategy::Evict},
                        {"None", RestartStrategy::None}}));
  KW_TRY(r.integer("maxUnavailable", c.max_unavailable, 1, 1000));
  KW_TRY(r.integer("holdTimeoutSeconds", c.hold_timeout_seconds, 0, 604'800));
  if (c.workload_ref && c.workload_ref->kind == WorkloadKind::Pod &&
      c.restart_strategy == RestartStrategy::RolloutRestart) {
    return invalid(r.path("restartStrategy"),
                   "RolloutRestart needs a Deployment, StatefulSet or DaemonSet; a bare Pod can "
                   "only be restarted with Evict (or not at all with None)");
  }
  return c;
}

Result<TokenExchangeSpec> parse_token_exchange(const FieldReader& spec) {
  TokenExchangeSpec t;
  auto te_json = spec.object("tokenExchange");
  if (!te_json) return fail(te_json.error());
  if (*te_json == nullptr) return t;
  FieldReader r(**te_json, spec.path("tokenExchange"));
  KW_TRY(r.enumeration("provider", t.provider,
                       {{"tradovate", TokenProvider::Tradovate},
                        {"oauth2ClientCredentials", TokenProvider::OAuth2ClientCredentials},
                        {"none", TokenProvider::None}}));
  KW_TRY(r.string("endpoint", t.endpoint,
                  {false, 1, 2048, &kHttpsUrlRe,
                   "use an https:// URL such as https://demo.tradovateapi.com/v1"}));
  KW_TRY(read_ca_bundle(r, t.ca_bundle));
  if (t.provider != TokenProvider::None && t.endpoint.empty()) {
    return invalid(r.path("endpoint"),
                   "is required when provider is " + std::string(to_string(t.provider)));
  }
  KW_TRY(r.integer("lifetimeSeconds", t.lifetime_seconds, 60, 86'400));
  KW_TRY(r.integer("refreshLeadSeconds", t.refresh_lead_seconds, 0, 86'400));
  if (t.refresh_lead_seconds >= t.lifetime_seconds) {
    return invalid(r.path("refreshLeadSeconds"), "is " + std::to_string(t.refresh_lead_seconds) +
                                                     "; it must be less than lifetimeSeconds (" +
                                                     std::to_string(t.lifetime_seconds) + ")");
  }
  KW_TRY(r.string("tokenFile", t.token_file,
                  {false, 1, 64, &kFileNameRe,
                   "use a plain file name (letters, digits, '.', '_', '-'; not starting with "
                   "'.'), such as token"}));
  if (t.token_file == "token.json" || t.token_file == "token.env") {
    return invalid(r.path("tokenFile"), quote(t.token_file) +
                                            " is taken by the token directory's own files; choose "
                                            "another name");
  }
  KW_TRY(r.string("envVarName", t.env_var_name,
                  {false, 1, 128, &kEnvVarNameRe,
                   "use letters, digits and '_', not starting with a digit, such as "
                   "TRADOVATE_ACCESS_TOKEN"}));
  if (t.env_var_name == "KEYWARD_TOKEN_EXPIRES_AT") {
    return invalid(r.path("envVarName"),
                   "KEYWARD_TOKEN_EXPIRES_AT is written by the sidecar "
                   "itself; choose another name");
  }
  auto creds = r.object("credentialsSecretRef");
  if (!creds) return fail(creds.error());
  if (*creds != nullptr) {
    FieldReader c(**creds, r.path("credentialsSecretRef"));
    SecretNameRef ref;
    KW_TRY(c.string("name", ref.name, {true, 1, 253, &kDnsSubdomainRe, kDnsSubdomainHint}));
    t.credentials_secret_ref = std::move(ref);
  }
  auto tradovate = r.object("tradovate");
  if (!tradovate) return fail(tradovate.error());
  if (*tradovate != nullptr) {
    if (t.provider != TokenProvider::Tradovate) {
      return invalid(r.path("tradovate"), "is only allowed with provider tradovate");
    }
    FieldReader c(**tradovate, r.path("tradovate"));
    TradovateSettings s;
    KW_TRY(c.string("appId", s.app_id, {false, 0, 128, nullptr, nullptr}));
    KW_TRY(c.string("appVersion", s.app_version, {false, 1, 64, nullptr, nullptr}));
    t.tradovate = std::move(s);
  }
  auto oauth2 = r.object("oauth2");
  if (!oauth2) return fail(oauth2.error());
  if (*oauth2 != nullptr) {
    if (t.provider != TokenProvider::OAuth2ClientCredentials) {
      return invalid(r.path("oauth2"), "is only allowed with provider oauth2ClientCredentials");
    }
    FieldReader c(**oauth2, r.path("oauth2"));
    OAuth2Settings s;
    KW_TRY(c.enumeration("clientAuth", s.client_auth,
                         {{"basic", OAuth2ClientAuth::Basic}, {"body", OAuth2ClientAuth::Body}}));
    KW_TRY(c.string("scope", s.scope, {false, 0, 1024, nullptr, nullptr}));
    t.oauth2 = std::move(s);
  }
  return t;
}

}  // namespace

std::string_view to_string(Alphabet value) {
  switch (value) {
    case Alphabet::Hex:
      return "hex";
    case Alphabet::Base32:
      return "base32";
    case Alphabet::Base62:
      break;
  }
  return "base62";
}

std::string_view to_string(WorkloadKind value) {
  switch (value) {
    case WorkloadKind::StatefulSet:
      return "StatefulSet";
    case WorkloadKind::DaemonSet:
      return "DaemonSet";
    case WorkloadKind::Pod:
      return "Pod";
    case WorkloadKind::Deployment:
      break;
  }
  return "Deployment";
}

std::string_view to_string(RestartStrategy value) {
  switch (value) {
    case RestartStrategy::Evict:
      return "Evict";
    case RestartStrategy::None:
      return "None";
    case RestartStrategy::RolloutRestart:
      break;
  }
  return "RolloutRestart";
}

std::string_view to_string(TokenProvider value) {
  switch (value) {
    case TokenProvider::Tradovate:
      return "tradovate";
    case TokenProvider::OAuth2ClientCredentials:
      return "oauth2ClientCredentials";
    case TokenProvider::None:
      break;
  }
  return "none";
}

std::string_view to_string(TradingEnvironment value) {
  return value == TradingEnvironment::Live ? "live" : "demo";
}

std::string_view to_string(OAuth2ClientAuth value) {
  return value == OAuth2ClientAuth::Body ? "body" : "basic";
}

std::string secret_name_for(std::string_view apikey_name) {
  return "keyward-" + std::string(apikey_name);
}

std::vector<std::string> referenced_secrets(const nlohmann::json& apikey_object) {
  // Called for every ApiKey of a namespace on every Secret event there (thousands of unrelated
  // Secrets at start-up): three lenient field reads, not a parse of the whole spec.
  std::vector<std::string> out;
  const std::string name = kube::metadata_string(apikey_object, "name");
  if (!name.empty()) out.push_back(secret_name_for(name));
  for (const char* path :
       {"/spec/source/secretRef/name", "/spec/tokenExchange/credentialsSecretRef/name"}) {
    if (std::string ref = kube::string_at(apikey_object, path); !ref.empty()) {
      out.push_back(std::move(ref));
    }
  }
  return out;
}

Result<ApiKeySpec> parse_apikey_spec(const json& spec_json) {
  if (!spec_json.is_object()) {
    return invalid("spec", spec_json.is_null()
                               ? "is required"
                               : "must be an object, got " + std::string(type_name(spec_json)));
  }
  FieldReader spec(spec_json, "spec");
  ApiKeySpec out;
  KW_TRY(spec.string("displayName", out.display_name, {false, 1, 255, nullptr, nullptr}));
  KW_TRY(
      spec.enumeration("environment", out.environment,
                       {{"live", TradingEnvironment::Live}, {"demo", TradingEnvironment::Demo}}));
  KW_TRY(spec.boolean("active", out.active));
  auto source = parse_source(spec);
  if (!source) return fail(source.error());
  out.source = std::move(*source);
  auto rotation = parse_rotation(spec);
  if (!rotation) return fail(rotation.error());
  out.rotation = std::move(*rotation);
  auto consumers = parse_consumers(spec);
  if (!consumers) return fail(consumers.error());
  out.consumers = std::move(*consumers);
  auto token = parse_token_exchange(spec);
  if (!token) return fail(token.error());
  out.token_exchange = std::move(*token);
  if (auto endpoint_env = environment_of_endpoint(out.token_exchange.endpoint);
      endpoint_env && *endpoint_env != out.environment) {
    return invalid("spec.environment",
                   std::string(to_string(out.environment)) +
                       " contradicts tokenExchange.endpoint " + quote(out.token_exchange.endpoint) +
                       ", which is the provider's " + std::string(to_string(*endpoint_env)) +
                       " endpoint; set environment: " + std::string(to_string(*endpoint_env)) +
                       " or use the " + std::string(to_string(out.environment)) + " endpoint");
  }
  return out;
}

std::optional<TradingEnvironment> environment_of_endpoint(std::string_view url) {
  auto host_of = [](std::string_view u) {
    const auto scheme = u.find("://");
    if (scheme != std::string_view::npos) u.remove_prefix(scheme + 3);
    const auto end = u.find_first_of("/:?#");
    std::string host(u.substr(0, end));
    for (char& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return host;
  };
  const std::string host = host_of(url);
  if (host == "live.tradovateapi.com" || host == "md.tradovateapi.com") {
    return TradingEnvironment::Live;
  }
  if (host == "demo.tradovateapi.com" || host == "md-demo.tradovateapi.com") {
    return TradingEnvironment::Demo;
  }
  return std::nullopt;
}

Result<ObjectMeta> parse_object_meta(const json& object) {
  constexpr std::string_view kInvalidObject = "InvalidObject";
  if (!object.is_object()) return fail(std::string(kInvalidObject), "ApiKey: expected an object");
  const json* meta_json = FieldReader(object, "").find("metadata");
  if (meta_json == nullptr || !meta_json->is_object()) {
    return fail(std::string(kInvalidObject), "metadata: is required");
  }
  FieldReader m(*meta_json, "metadata");
  ObjectMeta meta;
  KW_TRY(
      with_reason(m.string("name", meta.name, {true, 1, 253, nullptr, nullptr}), kInvalidObject));
  KW_TRY(
      with_reason(m.string("namespace", meta.ns, {true, 1, 63, nullptr, nullptr}), kInvalidObject));
  KW_TRY(with_reason(m.string("uid", meta.uid, {}), kInvalidObject));
  KW_TRY(with_reason(m.string("resourceVersion", meta.resource_version, {}), kInvalidObject));
  KW_TRY(with_reason(m.integer("generation", meta.generation, 0, INT64_MAX), kInvalidObject));
  auto deletion = read_time(m, "deletionTimestamp", kInvalidObject);
  if (!deletion) return fail(deletion.error());
  meta.deletion_timestamp = *deletion;
  if (const json* finalizers = m.find("finalizers"); finalizers != nullptr) {
    if (!finalizers->is_array()) {
      return fail(std::string(kInvalidObject), "metadata.finalizers: must be a list of strings");
    }
    for (const json& f : *finalizers) {
      if (!f.is_string()) {
        return fail(std::string(kInvalidObject), "metadata.finalizers: must be a list of strings");
      }
      meta.finalizers.push_back(f.get<std::string>());
    }
  }
  return meta;
}

Result<ApiKey> parse_apikey(const json& object) {
  ApiKey key;
  auto meta = parse_object_meta(object);
  if (!meta) return fail(meta.error());
  key.metadata = std::move(*meta);
  auto spec_it = object.find("spec");
  auto spec = parse_apikey_spec(spec_it == object.end() ? json() : *spec_it);
  if (!spec) return fail(spec.error());
  key.spec = std::move(*spec);
  auto status_it = object.find("status");
  auto status = parse_apikey_status(status_it == object.end() ? json() : *status_it);
  if (!status) return fail(status.error());
  key.status = std::move(*status);
  return key;
}

}  // namespace keyward::apikey
