// The spec with every default filled in, as JSON (what the API server stores), for tests and
// tools.

#include "operator/apikey/apikey.h"

namespace keyward::apikey {

using nlohmann::json;

json to_json(const ApiKeySpec& spec) {
  json out = json::object();
  if (!spec.display_name.empty()) out["displayName"] = spec.display_name;
  out["environment"] = std::string(to_string(spec.environment));
  out["active"] = spec.active;
  json source = json::object();
  if (const auto* g = std::get_if<GenerateSource>(&spec.source)) {
    source["generate"] = {{"prefix", g->prefix},
                          {"length", g->length},
                          {"alphabet", std::string(to_string(g->alphabet))}};
    if (g->secret_length > 0) source["generate"]["secretLength"] = g->secret_length;
  } else if (const auto* s = std::get_if<SecretRefSource>(&spec.source)) {
    source["secretRef"] = {{"name", s->name}, {"key", s->key}};
    if (!s->secret_key.empty()) source["secretRef"]["secretKey"] = s->secret_key;
    if (!s->passphrase_key.empty()) source["secretRef"]["passphraseKey"] = s->passphrase_key;
  } else {
    const auto& h = std::get<HttpSource>(spec.source);
    source["http"] = {{"url", h.url},
                      {"method", h.method},
                      {"responseField", h.response_field},
                      {"authHeader", h.auth_header},
                      {"authScheme", h.auth_scheme}};
    if (!h.ca_bundle.empty()) source["http"]["caBundle"] = h.ca_bundle;
    if (!h.secret_field.empty()) source["http"]["secretField"] = h.secret_field;
    if (!h.passphrase_field.empty()) source["http"]["passphraseField"] = h.passphrase_field;
    if (!h.revoke_url.empty()) {
      source["http"]["revokeUrl"] = h.revoke_url;
      source["http"]["revokeMethod"] = h.revoke_method;
    }
  }
  out["source"] = std::move(source);
  if (spec.rotation) {
    const RotationSpec& r = *spec.rotation;
    json rot = json::object();
    if (r.schedule) rot["schedule"] = *r.schedule;
    if (r.interval_seconds) rot["intervalSeconds"] = *r.interval_seconds;
    rot["timeZone"] = r.time_zone;
    rot["gracePeriodSeconds"] = r.grace_period_seconds;
    json windows = json::array();
    for (const RotationWindow& w : r.windows) {
      windows.push_back({{"name", w.name},
                         {"start", w.start},
                         {"durationSeconds", w.duration_seconds},
                         {"timeZone", w.time_zone},
                         {"excludedDates", w.excluded_dates}});
    }
    if (!windows.empty()) rot["windows"] = std::move(windows);
    out["rotation"] = std::move(rot);
  }
  json consumers = {{"restartStrategy", std::string(to_string(spec.consumers.restart_strategy))},
                    {"maxUnavailable", spec.consumers.max_unavailable},
                    {"holdTimeoutSeconds", spec.consumers.hold_timeout_seconds}};
  if (spec.consumers.workload_ref) {
    consumers["workloadRef"] = {{"kind", std::string(to_string(spec.consumers.workload_ref->kind))},
                                {"name", spec.consumers.workload_ref->name}};
  }
  out["consumers"] = std::move(consumers);
  const TokenExchangeSpec& t = spec.token_exchange;
  json te = {{"provider", std::string(to_string(t.provider))},
             {"lifetimeSeconds", t.lifetime_seconds},
             {"refreshLeadSeconds", t.refresh_lead_seconds},
             {"tokenFile", t.token_file},
             {"envVarName", t.env_var_name}};
  if (!t.endpoint.empty()) te["endpoint"] = t.endpoint;
  if (!t.ca_bundle.empty()) te["caBundle"] = t.ca_bundle;
  if (t.credentials_secret_ref)
    te["credentialsSecretRef"] = {{"name", t.credentials_secret_ref->name}};
  if (t.tradovate)
    te["tradovate"] = {{"appId", t.tradovate->app_id}, {"appVersion", t.tradovate->app_version}};
  if (t.oauth2) {
    te["oauth2"] = {{"clientAuth", std::string(to_string(t.oauth2->client_auth))},
                    {"scope", t.oauth2->scope}};
  }
  out["tokenExchange"] = std::move(te);
  return out;
}

}  // namespace keyward::apikey
