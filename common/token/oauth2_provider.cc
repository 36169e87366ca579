#include "common/token/oauth2_provider.h"

#include "common/core/base64.h"
#include "common/token/provider_answer.h"

namespace keyward {

using provider_detail::json_body;
using provider_detail::provider_text;

std::string form_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

OAuth2ClientCredentialsProvider::OAuth2ClientCredentialsProvider(HttpTransport& transport,
                                                                 OAuth2Options options,
                                                                 const Clock& clock, Logger logger)
    : transport_(transport),
      options_(std::move(options)),
      clock_(clock),
      logger_(std::move(logger)) {}

Status OAuth2ClientCredentialsProvider::check_credentials(const Credentials& c) const {
  if (c.client_id.empty() || c.secret_for_exchange().empty()) {
    return fail("CredentialsIncomplete",
                std::string("the credentials have no ") +
                    (c.client_id.empty() ? "clientId" : "clientSecret (or apiKey)") +
                    ": oauth2ClientCredentials needs clientId and clientSecret (or apiKey); add "
                    "the missing field to the credentials (docs/contracts.md names the fields)");
  }
  return ok();
}

Result<TokenGrant> OAuth2ClientCredentialsProvider::request(
    const Credentials& c, const std::optional<std::string>& /*penalty_ticket*/) {
  const std::string where = "POST " + options_.token_path;
  if (auto complete = check_credentials(c); !complete) return fail(complete.error());
  HttpRequest req;
  req.method = "POST";
  req.path = options_.token_path;
  req.content_type = "application/x-www-form-urlencoded";
  req.headers.emplace("Accept", "application/json");
  req.timeout = options_.request_timeout;
  req.max_response_bytes = kMaxProviderAnswerBytes;
  req.body = "grant_type=client_credentials";
  if (!options_.scope.empty()) req.body += "&scope=" + form_encode(options_.scope);
  if (options_.client_auth == OAuth2ClientAuth::Basic) {
    // RFC 6749 2.3.1: id and secret are form-encoded before joining with ':'.
    req.headers.emplace("Authorization",
                        "Basic " + base64_encode(form_encode(c.client_id) + ":" +
                                                 form_encode(c.secret_for_exchange())));
  } else {
    req.body += "&client_id=" + form_encode(c.client_id) +
                "&client_secret=" + form_encode(c.secret_for_exchange());
  }
  auto resp = transport_.send(req);
  if (!resp) return fail(resp.error());
  auto answer = json_body(*resp, where, limits(), clock_.now());
  if (!answer) return fail(answer.error());
  if (resp->status >= 400 || answer->contains("error")) {
    std::string code = answer->contains("error") && answer->at("error").is_string()
                           ? answer->at("error").get<std::string>()
                           : "";
    std::string error = code.empty() ? std::string("HTTP ") + std::to_string(resp->status) : code;
    const auto described = provider_detail::string_member(*answer, "error_description", where);
    const std::string description = described ? *described : std::string();
    if (!description.empty()) error += ": " + description;
    // RFC 6749 5.2: these mean the client's credentials are wrong; retrying cannot help.
    if (code == "invalid_client" || code == "unauthorized_client" || resp->status == 401) {
      return fail("CredentialsRejected",
                  "the token endpoint " + options_.token_path + " refused the client (\"" +
                      provider_text(error, logger_.redactor()) +
                      "\"): fix clientId and clientSecret (or apiKey) in the credentials, or "
                      "spec.tokenExchange.oauth2.clientAuth; no request is sent again until "
                      "the credentials change",
                  resp->status);
    }
    return fail("ProviderRejected",
                "the token endpoint " + options_.token_path +
                    " refused the client credentials (\"" +
                    provider_text(error, logger_.redactor()) +
                    "\"); check clientId, clientSecret, clientAuth and scope",
                resp->status);
  }
  AccessToken t;
  auto token = provider_detail::string_member(*answer, "access_token", where);
  if (!token) return fail(token.error().reason, token.error().message, resp->status);
  t.token = std::move(*token);
  if (t.token.empty()) {
    return fail("InvalidProviderAnswer",
                where + " answered without access_token; retrying with backoff", resp->status);
  }
  logger_.redactor().add(t.token);
  t.provider = name();
  t.issued_at = clock_.now();
  t.key_version = c.key_version;
  Seconds lifetime = options_.default_lifetime;
  if (auto it = answer->find("expires_in"); it != answer->end()) {
    if (it->is_number_integer() && it->get<long long>() > 0) {
      lifetime = Seconds(it->get<long long>());
    } else if (it->is_string()) {  // some servers send "3600"
      try {
        lifetime = Seconds(std::stoll(it->get<std::string>()));
      } catch (const std::exception&) {
        return fail("InvalidProviderAnswer",
                    where + " answered an expires_in that is not a number");
      }
    }
  }
  if (auto date = resp->header("Date")) t.provider_time = parse_http_date(*date);
  // expires_in is relative to when the server answered; anchor it to the server's clock when
  // it sends one so the skew correction applies uniformly.
  t.expires_at = (t.provider_time ? *t.provider_time : t.issued_at) + lifetime;
  return TokenGrant{std::move(t)};
}

}  // namespace keyward
