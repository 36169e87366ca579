#pragma once
// Tradovate: POST {base}/auth/accesstokenrequest with name, password, appId, appVersion, cid,
// sec, deviceId (and p-ticket on a penalty retry); GET {base}/auth/renewaccesstoken with the
// current token as Bearer. Answers carry accessToken, mdAccessToken, expirationTime, userId, or
// errorText, or p-ticket / p-time / p-captcha.
//
// A login refused with errorText (or 401/403) is CredentialsRejected and names the fields the
// text points at; 429/423/5xx are RateLimited/LockedOut/ProviderUnavailable (limit_error); a
// renewal refused with 401/403 is RenewalRejected (the session is gone).

#include <string>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/token/token_provider.h"

namespace keyward {

class TradovateProvider final : public TokenProvider {
 public:
  // base_path: the endpoint's path ("/v1" of https://demo.tradovateapi.com/v1); transport
  // connects to the endpoint's host.
  TradovateProvider(HttpTransport& transport, std::string base_path, const Clock& clock,
                    Logger logger, Millis request_timeout = Millis(10000));

  [[nodiscard]] std::string name() const override { return "tradovate"; }
  [[nodiscard]] ProviderLimits limits() const override { return ProviderLimits::tradovate(); }
  // username, password and the sec (apiKey or clientSecret) must be set.
  [[nodiscard]] Status check_credentials(const Credentials& credentials) const override;
  Result<TokenGrant> request(const Credentials& credentials,
                             const std::optional<std::string>& penalty_ticket = {}) override;
  [[nodiscard]] bool supports_renewal() const override { return true; }
  Result<AccessToken> renew(const AccessToken& current) override;

 private:
  Result<AccessToken> parse_token(const nlohmann::json& body, const HttpResponse& response,
                                  const std::string& where) const;

  HttpTransport& transport_;
  std::string base_path_;
  const Clock& clock_;
  Logger logger_;
  Millis request_timeout_;  // a slow provider fails the attempt (Unreachable) and is retried
};

}  // namespace keyward
