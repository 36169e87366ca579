#include "sidecar/broker_token_source.h"

#include <nlohmann/json.hpp>

#include "common/core/http_date.h"
#include "common/token/broker_protocol.h"
#include "common/token/token_provider.h"

namespace keyward::sidecar {

BrokerTokenSource::BrokerTokenSource(HttpTransport& transport, BrokerTarget target,
                                     TokenReader service_account_token, const Clock& clock,
                                     Logger logger)
    : transport_(transport),
      target_(std::move(target)),
      sa_token_(std::move(service_account_token)),
      clock_(clock),
      logger_(std::move(logger)) {}

bool BrokerTokenSource::accepts_cached(const Delivery& record) const {
  return record.state == DeliveryState::Valid && !record.token.token.empty();
}

Result<std::string> read_service_account_token(const std::function<Result<std::string>()>& read,
                                               Redactor& redactor) {
  auto sa = read();
  if (!sa) {
    return fail("MissingServiceAccountToken",
                "cannot read the pod's service account token (" + sa.error().message +
                    "): the broker needs it; keep automountServiceAccountToken on for this pod");
  }
  while (!sa->empty() && (sa->back() == '\n' || sa->back() == '\r')) sa->pop_back();
  redactor.add(*sa);
  return sa;
}

Result<FetchResult> BrokerTokenSource::fetch(const AccessToken* current) {
  auto sa = read_service_account_token(sa_token_, logger_.redactor());
  if (!sa) return fail(sa.error());
  HttpRequest req;
  req.method = "GET";
  req.path =
      target_.base_path + "/v1/namespaces/" + target_.ns + "/apikeys/" + target_.apikey + "/token";
  req.headers.emplace("Authorization", "Bearer " + *sa);
  req.headers.emplace("Accept", "application/json");
  req.max_response_bytes = kMaxProviderAnswerBytes;
  if (current != nullptr && current->key_version > 0) {
    req.headers.emplace(std::string(broker_protocol::kHeldKeyVersionHeader),
                        std::to_string(current->key_version));
  }
  const std::string where = "the token broker (GET " + req.path + ")";
  auto resp = transport_.send(req);
  if (!resp) return fail(resp.error());

  FetchResult out;
  if (resp->status == 403) {
    return fail("Forbidden",
                where + " answered 403: this pod's service account may not use ApiKey " +
                    target_.ns + "/" + target_.apikey + "; check the keyward.dev/inject annotation",
                403);
  }
  auto body_reason = [&resp]() {
    nlohmann::json b = nlohmann::json::parse(resp->body, nullptr, false);
    return b.is_object() && b.contains("reason") && b["reason"].is_string()
               ? b["reason"].get<std::string>()
               : std::string();
  };
  if (resp->status == 401) {
    return fail("Unauthenticated",
                where +
                    " answered 401: it did not accept this pod's service account token; "
                    "check that the token file is the pod's projected token",
                401);
  }
  if (resp->status == 404) {
    return fail("ApiKeyNotFound",
                where + " answered 404: ApiKey " + target_.ns + "/" + target_.apikey +
                    " does not exist (or the broker URL is wrong)",
                404);
  }
  if (resp->status == 409 && body_reason() == "NoExchange") {
    return fail("NoExchange",
                "ApiKey " + target_.ns + "/" + target_.apikey +
                    " has tokenExchange.provider none: the broker has no token for it; run the "
                    "sidecar in direct mode (the webhook does so for such keys)",
                409);
  }
  if (resp->status == 409) {
    out.kind = FetchResult::Kind::Inactive;
    out.message =
        "ApiKey " + target_.ns + "/" + target_.apikey + " is inactive (spec.active: false)";
    return out;
  }
  if (resp->status == 410 && body_reason() == broker_protocol::kKeyVersionRevoked) {
    out.kind = FetchResult::Kind::Revoked;
    out.retry_after = Seconds(5);
    if (auto ra = resp->header("Retry-After")) {
      if (auto wait = parse_retry_after(*ra, clock_.now())) out.retry_after = *wait;
    }
    nlohmann::json b = nlohmann::json::parse(resp->body, nullptr, false);
    out.message = b.is_object() && b.contains("message") && b["message"].is_string()
                      ? b["message"].get<std::string>().substr(0, 400)
                      : where + " answered 410 KeyVersionRevoked";
    return out;
  }
  if (resp->status == 503 || resp->status == 429) {
    out.kind = FetchResult::Kind::RetryLater;
    out.retry_after = Seconds(5);
    if (auto ra = resp->header("Retry-After")) {
      if (auto wait = parse_retry_after(*ra, clock_.now())) out.retry_after = *wait;
    }
    out.message = where + " has no token yet (HTTP " + std::to_string(resp->status) + ")";
    // The broker says why (its session's provider state: RateLimited, CredentialsRejected...).
    nlohmann::json b = nlohmann::json::parse(resp->body, nullptr, false);
    if (b.is_object() && b.contains("message") && b["message"].is_string()) {
      out.message += ": " + b["message"].get<std::string>().substr(0, 400);
    }
    return out;
  }
  if (resp->status != 200) {
    return fail(
        "BrokerError",
        where + " answered HTTP " + std::to_string(resp->status) + "; retrying with backoff",
        resp->status);
  }
  nlohmann::json j = nlohmann::json::parse(resp->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail("InvalidBrokerAnswer",
                where + " answered " + std::to_string(resp->body.size()) +
                    " bytes that are not a JSON object; retrying with backoff");
  }
  try {
    if (!j.value("active", true)) {
      out.kind = FetchResult::Kind::Inactive;
      out.message =
          "ApiKey " + target_.ns + "/" + target_.apikey + " is inactive (spec.active: false)";
      return out;
    }
    AccessToken& t = out.token;
    t.token = j.value("accessToken", std::string());
    t.md_token = j.value("mdAccessToken", std::string());
    t.provider = j.value("provider", std::string());
    t.key_version = j.value("keyVersion", std::int64_t{0});
    t.issued_at = clock_.now();
    const std::string exp = j.value("expirationTime", std::string());
    if (t.token.empty()) {
      return fail("InvalidBrokerAnswer",
                  where + " answered without accessToken; retrying with backoff");
    }
    logger_.redactor().add(t.token);
    logger_.redactor().add(t.md_token);
    if (!exp.empty()) {
      auto expires = parse_rfc3339(exp);
      if (!expires) {
        return fail("InvalidBrokerAnswer",
                    where + " answered an expirationTime that is not RFC 3339");
      }
      t.expires_at = *expires;
    }
    if (auto date = resp->header("Date")) t.provider_time = parse_http_date(*date);
  } catch (const nlohmann::json::exception& e) {
    return fail("InvalidBrokerAnswer",
                where + " answered a field of the wrong type (" + e.what() + ")");
  }
  return out;
}

}  // namespace keyward::sidecar
