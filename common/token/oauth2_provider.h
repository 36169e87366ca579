#pragma once
// OAuth 2.0 client credentials grant (RFC 6749 section 4.4): POST grant_type=client_credentials
// (form-encoded) with the client authenticated by HTTP Basic (section 2.3.1, the default) or in
// the body; answers access_token, token_type, expires_in (and scope). No renewal: a new request
// is cheap and the grant has no refresh token (section 4.4.3).

#include <string>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/token/token_provider.h"

namespace keyward {

enum class OAuth2ClientAuth { Basic, Body };

struct OAuth2Options {
  std::string token_path{};  // the token endpoint's path, "/oauth2/token"
  OAuth2ClientAuth client_auth = OAuth2ClientAuth::Basic;
  std::string scope{};             // space-separated; empty: not sent
  Seconds default_lifetime{3600};  // when the answer has no expires_in
  Millis request_timeout{10000};   // a slow endpoint fails the attempt (Unreachable)
};

class OAuth2ClientCredentialsProvider final : public TokenProvider {
 public:
  OAuth2ClientCredentialsProvider(HttpTransport& transport, OAuth2Options options,
                                  const Clock& clock, Logger logger);

  [[nodiscard]] std::string name() const override { return "oauth2ClientCredentials"; }
  [[nodiscard]] ProviderLimits limits() const override { return ProviderLimits::oauth2(); }
  [[nodiscard]] Status check_credentials(const Credentials& credentials) const override;
  Result<TokenGrant> request(const Credentials& credentials,
                             const std::optional<std::string>& penalty_ticket = {}) override;

 private:
  HttpTransport& transport_;
  OAuth2Options options_;
  const Clock& clock_;
  Logger logger_;
};

// application/x-www-form-urlencoded encoding of one value (RFC 6749 appendix B).
std::string form_encode(std::string_view value);

}  // namespace keyward
