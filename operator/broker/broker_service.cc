#include "operator/broker/broker_service.h"

#include <openssl/crypto.h>

#include <charconv>
#include <regex>

#include "common/core/hex.h"
#include "common/kube/object_meta.h"
#include "common/token/broker_protocol.h"
#include "operator/apikey/pod_assignment.h"

namespace keyward::broker {

namespace {

// DNS-1123 label (namespace) and subdomain (ApiKey name), as the API server validates them.
// A function-local static: built on first use, not during static initialisation.
const std::regex& broker_path() {
  static const std::regex kPath(
      R"(^/v1/namespaces/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)/apikeys/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)/(token|key|key-version|verify|digests)$)");
  return kPath;
}

// The key version recorded on a pod (keyward.dev/key-version), nullopt when none is.
using apikey::recorded_key_version;

}  // namespace

BrokerService::BrokerService(TokenReviewer& reviewer, PodLookup pods, PodVersionRecorder recorder,
                             const SessionManager& sessions, apikey::LastUsedTimes& last_used,
                             const Clock& clock, MetricsRegistry& metrics, Logger logger,
                             BrokerServiceOptions options)
    : reviewer_(reviewer),
      pods_(std::move(pods)),
      recorder_(std::move(recorder)),
      sessions_(sessions),
      last_used_(last_used),
      clock_(clock),
      logger_(std::move(logger)),
      options_(options),
      requests_(metrics.counter("keyward_broker_requests_total",
                                "Token requests answered by the broker, by HTTP status code")),
      last_used_gauge_(metrics.gauge("keyward_broker_last_used_timestamp_seconds",
                                     "Unix time a sidecar last fetched the ApiKey's token")) {}

HttpResponse BrokerService::answer(int status, const nlohmann::json& body, Seconds retry_after) {
  HttpResponse res;
  res.status = status;
  res.body = body.dump();
  res.headers.emplace("Content-Type", "application/json");
  res.headers.emplace("Cache-Control", "no-store");
  if (retry_after.count() > 0)
    res.headers.emplace("Retry-After", std::to_string(retry_after.count()));
  requests_.inc({{"code", std::to_string(status)}});
  return res;
}

HttpResponse BrokerService::refuse(int status, const std::string& reason,
                                   const std::string& message, Seconds retry_after) {
  // Messages name objects and reasons only; the redactor scrubs anything registered anyway.
  return answer(status, {{"reason", reason}, {"message", logger_.redactor().redact(message)}},
                retry_after);
}

bool BrokerService::allow(const std::string& bucket, int per_minute, int burst, SystemTime now) {
  std::lock_guard lock(buckets_mu_);
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_clients) {
      // Forget full (idle) buckets first; if none, the oldest.
      std::erase_if(buckets_, [&](const auto& b) {
        const double refill =
            std::chrono::duration<double>(now - b.second.at).count() * b.second.per_minute / 60.0;
        return b.second.tokens + refill >= b.second.burst;
      });
      if (buckets_.size() >= options_.max_clients) buckets_.erase(buckets_.begin());
    }
    it = buckets_.emplace(bucket, Bucket{static_cast<double>(burst), now, per_minute, burst}).first;
  }
  Bucket& b = it->second;
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - b.at).count());
  b.tokens = std::min<double>(burst, b.tokens + elapsed * per_minute / 60.0);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

HttpResponse BrokerService::handle(const HttpRequest& request, const std::string& client) {
  const SystemTime now = clock_.now();
  std::string path = request.path;
  if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
  std::smatch m;
  if (!std::regex_match(path, m, broker_path())) {
    return refuse(404, "NotFound",
                  "unknown path; the broker serves GET /v1/namespaces/{ns}/apikeys/{name}/token, "
                  "GET .../key, PUT .../key-version, POST .../verify and GET .../digests");
  }
  const std::string endpoint = m[5];
  const std::string method =
      endpoint == "key-version" ? "PUT" : (endpoint == "verify" ? "POST" : "GET");
  if (request.method != method) {
    return refuse(405, "MethodNotAllowed",
                  "the " + endpoint + " endpoint answers " + method + " only");
  }
  const std::string ns = m[1];
  const std::string name = m[3];
  const CallerRole role =
      endpoint == "verify" || endpoint == "digests" ? CallerRole::Verifier : CallerRole::Consumer;
  auto admitted = admit(request, client, ns, name, now, role);
  if (auto* refused = std::get_if<HttpResponse>(&admitted)) return std::move(*refused);
  const kube::Object& pod = std::get<kube::Object>(admitted);
  if (endpoint == "verify") return verify(request, ns, name, now);
  if (endpoint == "digests") return serve_digests(ns, name, now);
  if (endpoint == "token") return serve_token(request, pod, ns, name, now);
  if (endpoint == "key") return serve_key(request, pod, ns, name, now);
  return take_report(request, pod, ns + "/" + name);
}

std::variant<kube::Object, HttpResponse> BrokerService::admit(const HttpRequest& request,
                                                              const std::string& client,
                                                              const std::string& ns,
                                                              const std::string& name,
                                                              SystemTime now, CallerRole role) {
  const std::string key = ns + "/" + name;
  const bool verifier = role == CallerRole::Verifier;
  const int per_minute = verifier ? options_.verify_per_minute : options_.per_minute;
  if (!allow(verifier ? "verify|" + client : client, per_minute,
             verifier ? options_.verify_burst : options_.burst, now)) {
    logger_.warn("too many requests from one address",
                 {{"client", client}, {"role", verifier ? "verifier" : "consumer"}});
    return refuse(429, "TooManyRequests",
                  verifier ? "too many verify or digest requests from this address"
                           : "too many token requests from this address; a sidecar needs about "
                             "one per token lifetime",
                  Seconds(60 / std::max(1, per_minute) + 1));
  }
  const auto found_auth = request.headers.find("Authorization");
  const std::optional<std::string> auth =
      found_auth == request.headers.end() ? std::nullopt : std::optional(found_auth->second);
  if (!auth || !auth->starts_with("Bearer ") || auth->size() <= 7) {
    return refuse(401, "Unauthorized",
                  "no bearer token: send the pod's service account token as "
                  "'Authorization: Bearer <token>'");
  }
  const std::string token = auth->substr(7);
  auto caller = reviewer_.review(token);
  if (!caller) {
    logger_.warn("TokenReview failed", {{"object", key}, {"error", caller.error().message}});
    return refuse(503, "ReviewUnavailable", caller.error().message, options_.retry_no_token);
  }
  if (!caller->authenticated) {
    return refuse(401, "Unauthenticated",
                  "the API server did not accept the bearer token (TokenReview): it is unknown, "
                  "expired, or for another audience; send the pod's current service account "
                  "token");
  }
  auto pod = authorize(*caller, ns, name, pods_, role);
  if (!pod) {
    const Error& e = pod.error();
    logger_.info("token request refused",
                 {{"object", key}, {"caller", caller->username}, {"reason", e.reason}});
    return refuse(e.http_status == 0 ? 403 : e.http_status, e.reason, e.message,
                  e.http_status == 503 ? options_.retry_no_token : Seconds(0));
  }
  if (live_gate_) {
    if (auto live = live_gate_(ns, name); !live) {
      const Error& e = live.error();
      logger_.warn("token request refused",
                   {{"object", key}, {"caller", caller->username}, {"reason", e.reason}});
      return refuse(e.http_status == 0 ? 403 : e.http_status, e.reason, e.message,
                    e.http_status == 503 ? options_.retry_no_token : Seconds(0));
    }
  }
  return std::move(*pod);
}

std::optional<HttpResponse> BrokerService::record_first_version(const kube::Object& pod,
                                                                const std::string& key,
                                                                std::int64_t version) {
  if (recorded_key_version(pod)) return std::nullopt;
  const std::string pod_name = pod["metadata"].value("name", "");
  if (auto s = recorder_ ? recorder_(pod, version) : Status(ok()); !s) {
    logger_.warn("could not record the key version of a pod; it asks again",
                 {{"object", key}, {"pod", pod_name}, {"error", s.error().message}});
    return refuse(503, "RecordingKeyVersion",
                  "the operator could not record which key version pod " + pod_name + " runs (" +
                      s.error().message + "); ask again",
                  Seconds(1));
  }
  logger_.info("recorded the key version a pod starts on",
               {{"object", key}, {"pod", pod_name}, {"keyVersion", version}});
  return std::nullopt;
}

std::optional<HttpResponse> BrokerService::revoked_refusal(const HttpRequest& request,
                                                           const std::string& ns,
                                                           const std::string& name,
                                                           SystemTime now) {
  const auto header = request.headers.find(std::string(broker_protocol::kHeldKeyVersionHeader));
  if (header == request.headers.end() || !key_versions_) return std::nullopt;
  std::int64_t held = 0;
  const std::string& text = header->second;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), held);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  const auto versions = key_versions_(ns, name, now);
  if (!versions || !versions->revoked(held)) return std::nullopt;
  return refuse(410, std::string(broker_protocol::kKeyVersionRevoked),
                "key version " + std::to_string(held) + " of ApiKey " + ns + "/" + name +
                    " was revoked (only version " + std::to_string(versions->current) +
                    " is valid): withdraw what was delivered of it; version " +
                    std::to_string(versions->current) + " is delivered as soon as it is ready",
                options_.retry_no_token);
}

HttpResponse BrokerService::serve_token(const HttpRequest& request, const kube::Object& pod,
                                        const std::string& ns, const std::string& name,
                                        SystemTime now) {
  const std::string key = ns + "/" + name;
  TokenLookup found = sessions_.lookup(key, now);
  sessions_.update_gauge(now);
  // Whatever keeps this answer from being a current token, a caller on a revoked version hears
  // so first: the token it holds must not stay in use while it waits.
  const bool serving = found.kind == TokenLookup::Kind::Token;
  const auto versions = key_versions_ ? key_versions_(ns, name, now) : std::nullopt;
  const bool token_revoked = serving && versions && versions->revoked(found.token.key_version);
  if (!serving || token_revoked) {
    if (found.kind != TokenLookup::Kind::Inactive && found.kind != TokenLookup::Kind::NoApiKey) {
      if (auto refused = revoked_refusal(request, ns, name, now)) return std::move(*refused);
    }
  }
  if (token_revoked) {
    // The session still holds a token of a version revoked since (it is logging in with the
    // current key): never served.
    return refuse(503, "NewKeyPending",
                  "key version " + std::to_string(found.token.key_version) +
                      " was revoked and the broker is logging in with version " +
                      std::to_string(versions->current) + "; ask again",
                  options_.retry_standby);
  }
  switch (found.kind) {
    case TokenLookup::Kind::Token:
      break;
    case TokenLookup::Kind::NotLeading:
      return refuse(503, "NotLeader", found.message, options_.retry_standby);
    case TokenLookup::Kind::NoApiKey:
      return refuse(404, "ApiKeyNotFound", found.message);
    case TokenLookup::Kind::Inactive:
      return refuse(409, "Inactive", found.message);
    case TokenLookup::Kind::NoExchange:
      return refuse(409, "NoExchange", found.message);
    case TokenLookup::Kind::NoToken:
      return refuse(503, "NoToken", found.message, options_.retry_no_token);
  }
  const AccessToken& t = found.token;
  if (!recorded_key_version(pod) && t.key_version < found.key_version) {
    // A pod that has no token yet starts on the current key, never on the one just rotated out.
    return refuse(503, "NewKeyPending",
                  "key version " + std::to_string(found.key_version) +
                      " was just put in place and the broker is logging in with it; ask again",
                  options_.retry_standby);
  }
  if (auto refused = record_first_version(pod, key, t.key_version)) return std::move(*refused);
  nlohmann::json body{{"accessToken", t.token},
                      {"expirationTime", t.expires() ? format_rfc3339(t.expires_at) : ""},
                      {"keyVersion", t.key_version},
                      {"provider", t.provider},
                      {"active", true}};
  if (!t.md_token.empty()) body["mdAccessToken"] = t.md_token;
  last_used_gauge_.set({{"namespace", ns}, {"name", name}},
                       std::chrono::duration<double>(now.time_since_epoch()).count());
  if (last_used_.record(key, now) && on_last_used_) on_last_used_(key);
  logger_.debug(
      "token served",
      {{"object", key}, {"pod", pod["metadata"].value("name", "")}, {"keyVersion", t.key_version}});
  return answer(200, body);
}

HttpResponse BrokerService::serve_key(const HttpRequest& request, const kube::Object& pod,
                                      const std::string& ns, const std::string& name,
                                      SystemTime now) {
  const std::string key = ns + "/" + name;
  if (!key_lookup_) return refuse(404, "NotFound", "this broker delivers no key material");
  auto delivered = key_lookup_(ns, name);
  if (!delivered) {
    const Error& e = delivered.error();
    if (e.http_status == 404) return refuse(404, "ApiKeyNotFound", e.message);
    if (e.http_status == 409) return refuse(409, e.reason, e.message);
    // The current key cannot be opened or is not there yet: a sidecar that holds a revoked one
    // must not keep delivering it meanwhile.
    if (auto refused = revoked_refusal(request, ns, name, now)) return std::move(*refused);
    logger_.warn("key material cannot be delivered", {{"object", key}, {"reason", e.reason}});
    return refuse(503, e.reason, e.message, options_.retry_no_token);
  }
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [field, value] : delivered->fields) fields[field] = value;
  logger_.debug("key material delivered", {{"object", key},
                                           {"pod", kube::metadata_string(pod, "name")},
                                           {"keyVersion", delivered->key_version}});
  HttpResponse res = answer(
      200,
      {{"keyVersion", delivered->key_version}, {"active", delivered->active}, {"fields", fields}});
  // The JSON copy held the values too: wipe it before it is freed.
  for (auto& [_, value] : fields.items()) {
    if (value.is_string()) {
      auto& text = value.get_ref<std::string&>();
      OPENSSL_cleanse(text.data(), text.size());
    }
  }
  for (auto& [_, value] : delivered->fields) OPENSSL_cleanse(value.data(), value.size());
  return res;
}

HttpResponse BrokerService::verify(const HttpRequest& request, const std::string& ns,
                                   const std::string& name, SystemTime now) {
  const std::string key = ns + "/" + name;
  if (!key_verifier_) return refuse(404, "NotFound", "this broker verifies no keys");
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("key") || !body["key"].is_string() ||
      body["key"].get_ref<const std::string&>().empty()) {
    return refuse(400, "InvalidVerifyRequest",
                  "the body must be a JSON object {\"key\": \"<the key the client presented>\"}");
  }
  std::string& presented = body["key"].get_ref<std::string&>();
  auto verdict = key_verifier_(ns, name, presented, now);
  OPENSSL_cleanse(presented.data(), presented.size());
  if (!verdict) {
    const Error& e = verdict.error();
    if (e.http_status == 404) return refuse(404, "ApiKeyNotFound", e.message);
    return refuse(503, e.reason, e.message, options_.retry_no_token);
  }
  if (!verdict->valid) {
    logger_.info("key verification refused", {{"object", key}, {"reason", verdict->reason}});
    return answer(200,
                  {{"valid", false}, {"reason", verdict->reason}, {"message", verdict->message}});
  }
  // A successful verification is a use of the key: what lastUsedTime means for an issued key.
  last_used_gauge_.set({{"namespace", ns}, {"name", name}},
                       std::chrono::duration<double>(now.time_since_epoch()).count());
  if (last_used_.record(key, now) && on_last_used_) on_last_used_(key);
  return answer(
      200, {{"valid", true}, {"keyVersion", verdict->key_version}, {"current", verdict->current}});
}

HttpResponse BrokerService::serve_digests(const std::string& ns, const std::string& name,
                                          SystemTime now) {
  if (!digest_lookup_) return refuse(404, "NotFound", "this broker publishes no key digests");
  auto valid = digest_lookup_(ns, name, now);
  if (!valid) {
    const Error& e = valid.error();
    if (e.http_status == 404) return refuse(404, "ApiKeyNotFound", e.message);
    return refuse(503, e.reason, e.message, options_.retry_no_token);
  }
  nlohmann::json digests = nlohmann::json::array();
  for (const ValidKeyDigest& d : valid->keys) {
    nlohmann::json item{{"keyVersion", d.key_version},
                        {"sha256", lower_hex(d.sha256.data(), d.sha256.size())},
                        {"current", d.current}};
    if (d.valid_until) item["validUntil"] = format_rfc3339(*d.valid_until);
    digests.push_back(std::move(item));
  }
  return answer(200, {{"keyVersion", valid->key_version},
                      {"active", valid->active},
                      {"digests", std::move(digests)}});
}

HttpResponse BrokerService::take_report(const HttpRequest& request, const kube::Object& pod,
                                        const std::string& key) {
  const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("keyVersion") ||
      !body["keyVersion"].is_number_integer() || body["keyVersion"].get<std::int64_t>() < 0) {
    return refuse(400, "InvalidReport",
                  "the body must be a JSON object {\"keyVersion\": N} with N the non-negative "
                  "key version the sidecar delivered");
  }
  const std::int64_t reported = body["keyVersion"].get<std::int64_t>();
  if (key_versions_) {
    const auto slash = key.find('/');
    if (auto versions = key_versions_(key.substr(0, slash), key.substr(slash + 1), clock_.now());
        versions && reported > versions->current) {
      return refuse(400, "InvalidReport",
                    "key version " + std::to_string(reported) + " is newer than ApiKey " + key +
                        "'s current version " + std::to_string(versions->current) +
                        "; report the version the sidecar delivered");
    }
  }
  if (auto refused = record_first_version(pod, key, reported)) {
    return std::move(*refused);
  }
  HttpResponse res = answer(204, nlohmann::json::object());
  res.body.clear();
  return res;
}

}  // namespace keyward::broker
