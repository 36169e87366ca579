#include "common/token/tradovate_provider.h"

#include <cctype>
#include <charconv>
#include <string_view>

#include "common/token/provider_answer.h"

namespace keyward {

using provider_detail::json_body;
using provider_detail::provider_text;
using provider_detail::string_member;

namespace {

// A text member read leniently (a number's digits; "" for another type, which parse_token or
// the caller then reports): p-ticket and errorText.
std::string text_member(const nlohmann::json& body, const char* key) {
  auto text = string_member(body, key, "", /*numbers_as_text=*/true);
  return text ? *text : std::string();
}

// cid is a number in Tradovate's API; send it as one when it looks like one.
nlohmann::json cid_value(const std::string& cid) {
  long long n = 0;
  auto [p, ec] = std::from_chars(cid.data(), cid.data() + cid.size(), n);
  if (!cid.empty() && ec == std::errc() && p == cid.data() + cid.size()) return n;
  return cid;
}

// Which credential fields a refusal's errorText points at (Tradovate's texts name them in
// words: "Incorrect username or password", "The app is not registered", ...).
std::string fields_to_fix(const std::string& error_text) {
  std::string t;
  for (char ch : error_text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto has = [&](std::string_view w) { return t.find(w) != std::string::npos; };
  if (has("password") || has("username") || has("user name")) return "username and password";
  if (has("app")) return "appId and appVersion (spec.tokenExchange.tradovate or the Secret)";
  if (has("cid") || has("api key") || has("client") || has("secret")) {
    return "clientId (cid) and apiKey or clientSecret (sec)";
  }
  return "username, password, clientId (cid), apiKey (sec) and appId";
}

}  // namespace

Status TradovateProvider::check_credentials(const Credentials& c) const {
  std::string missing;
  auto need = [&](const std::string& value, const char* field) {
    if (!value.empty()) return;
    if (!missing.empty()) missing += ", ";
    missing += field;
  };
  need(c.username, "username");
  need(c.password, "password");
  need(c.secret_for_exchange(), "apiKey (sec)");
  if (missing.empty()) return ok();
  return fail("CredentialsIncomplete",
              "the credentials have no " + missing +
                  ": a Tradovate login needs username, password and the API key (sec); add the "
                  "missing field to the credentials (docs/contracts.md names the fields); "
                  "nothing is sent to Tradovate until then");
}

TradovateProvider::TradovateProvider(HttpTransport& transport, std::string base_path,
                                     const Clock& clock, Logger logger, Millis request_timeout)
    : transport_(transport),
      base_path_(std::move(base_path)),
      clock_(clock),
      logger_(std::move(logger)),
      request_timeout_(request_timeout) {
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
}

Result<AccessToken> TradovateProvider::parse_token(const nlohmann::json& body,
                                                   const HttpResponse& response,
                                                   const std::string& where) const {
  AccessToken t;
  auto token = string_member(body, "accessToken", where);
  auto md_token = string_member(body, "mdAccessToken", where);
  auto user_id = string_member(body, "userId", where, /*numbers_as_text=*/true);
  auto expiry_text = string_member(body, "expirationTime", where);
  for (const auto* field : {&token, &md_token, &user_id, &expiry_text}) {
    if (!*field) return fail(field->error().reason, field->error().message, response.status);
  }
  t.token = std::move(*token);
  t.md_token = std::move(*md_token);
  t.user_id = std::move(*user_id);
  t.provider = name();
  t.issued_at = clock_.now();
  const std::string expiry = *expiry_text;
  if (t.token.empty() || expiry.empty()) {
    return fail("InvalidProviderAnswer",
                where + " answered HTTP " + std::to_string(response.status) +
                    " without accessToken and expirationTime; retrying with backoff",
                response.status);
  }
  auto expires = parse_rfc3339(expiry);
  if (expires) t.expires_at = *expires;
  if (!expires) {
    return fail("InvalidProviderAnswer",
                where + " answered an expirationTime that is not RFC 3339 ('" +
                    provider_text(expiry, logger_.redactor()) + "')",
                response.status);
  }
  if (auto date = response.header("Date")) t.provider_time = parse_http_date(*date);
  logger_.redactor().add(t.token);
  logger_.redactor().add(t.md_token);
  return t;
}

Result<TokenGrant> TradovateProvider::request(const Credentials& c,
                                              const std::optional<std::string>& penalty_ticket) {
  const std::string where = "POST " + base_path_ + "/auth/accesstokenrequest";
  if (auto complete = check_credentials(c); !complete) return fail(complete.error());
  nlohmann::json body{{"name", c.username},
                      {"password", c.password},
                      {"appId", c.app_id},
                      {"appVersion", c.app_version},
                      {"cid", cid_value(c.client_id)},
                      {"sec", c.secret_for_exchange()},
                      {"deviceId", c.device_id}};
  if (penalty_ticket) body["p-ticket"] = *penalty_ticket;
  HttpRequest req;
  req.method = "POST";
  req.path = base_path_ + "/auth/accesstokenrequest";
  req.max_response_bytes = kMaxProviderAnswerBytes;
  req.body = body.dump();
  req.content_type = "application/json";
  req.headers.emplace("Accept", "application/json");
  req.timeout = request_timeout_;
  auto resp = transport_.send(req);
  if (!resp) return fail(resp.error());
  auto answer = json_body(*resp, where, limits(), clock_.now());
  if (!answer) return fail(answer.error());

  if (answer->contains("p-ticket")) {
    Penalty p;
    p.ticket = text_member(*answer, "p-ticket");
    logger_.redactor().add(p.ticket);
    if (auto it = answer->find("p-time"); it != answer->end() && it->is_number()) {
      p.wait = Seconds(std::max<long long>(0, it->get<long long>()));
    }
    if (auto it = answer->find("p-captcha"); it != answer->end() && it->is_boolean()) {
      p.captcha = it->get<bool>();
    }
    p.error_text = provider_text(text_member(*answer, "errorText"), logger_.redactor());
    return TokenGrant{std::move(p)};
  }
  if (const std::string error_text = text_member(*answer, "errorText"); !error_text.empty()) {
    return fail("CredentialsRejected",
                "Tradovate refused the login: \"" + provider_text(error_text, logger_.redactor()) +
                    "\": fix " + fields_to_fix(error_text) +
                    " in the credentials; no login is tried again until they change",
                resp->status);
  }
  if (resp->status == 401 || resp->status == 403) {
    return fail("CredentialsRejected",
                where + " answered HTTP " + std::to_string(resp->status) + ": fix " +
                    fields_to_fix("") +
                    " in the credentials; no login is tried again until they change",
                resp->status);
  }
  if (resp->status >= 400) {
    return fail("ProviderRejected",
                where + " answered HTTP " + std::to_string(resp->status) +
                    "; check the credentials and the endpoint",
                resp->status);
  }
  auto token = parse_token(*answer, *resp, where);
  if (!token) return fail(token.error());
  token->key_version = c.key_version;
  return TokenGrant{std::move(*token)};
}

Result<AccessToken> TradovateProvider::renew(const AccessToken& current) {
  const std::string where = "GET " + base_path_ + "/auth/renewaccesstoken";
  HttpRequest req;
  req.method = "GET";
  req.path = base_path_ + "/auth/renewaccesstoken";
  req.max_response_bytes = kMaxProviderAnswerBytes;
  req.headers.emplace("Authorization", "Bearer " + current.token);
  req.headers.emplace("Accept", "application/json");
  req.timeout = request_timeout_;
  auto resp = transport_.send(req);
  if (!resp) return fail(resp.error());
  if (resp->status == 401 || resp->status == 403) {
    return fail("RenewalRejected",
                where + " answered HTTP " + std::to_string(resp->status) +
                    ": the session is gone; logging in again",
                resp->status);
  }
  auto answer = json_body(*resp, where, limits(), clock_.now());
  if (!answer) return fail(answer.error());
  if (const std::string error_text = text_member(*answer, "errorText"); !error_text.empty()) {
    return fail("RenewalRejected",
                "Tradovate refused to renew the token: \"" +
                    provider_text(error_text, logger_.redactor()) + "\"; logging in again",
                resp->status);
  }
  if (resp->status >= 400) {
    return fail("RenewalRejected",
                where + " answered HTTP " + std::to_string(resp->status) + "; logging in again",
                resp->status);
  }
  auto token = parse_token(*answer, *resp, where);
  if (!token) return fail(token.error());
  if (token->md_token.empty()) token->md_token = current.md_token;
  if (token->user_id.empty()) token->user_id = current.user_id;
  token->key_version = current.key_version;
  return token;
}

}  // namespace keyward
