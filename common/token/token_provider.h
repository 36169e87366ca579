#pragma once
// The token providers: how a login becomes a short-lived access token. The sidecar (direct
// mode) and the operator's token broker share them.
//
// A provider answers with a TokenGrant: either a token, or a Penalty (Tradovate's p-ticket /
// p-time / p-captcha) that the caller must honour: wait `wait`, then call request() again with
// the ticket; captcha means a person must log in and no retry will help. Everything else (the
// provider unreachable, a refusal, garbage) is an Error. Reasons:
//   Unreachable          the endpoint did not answer (network, timeout)
//   ProviderUnavailable  5xx: try again later (Error::retry_after when it sent Retry-After)
//   RateLimited          429: wait Error::retry_after (Retry-After, or the provider's rule)
//   LockedOut            423: the account is locked (failed logins) until Error::retry_after
//   CredentialsRejected  the provider refused the login (wrong password, unknown app id): the
//                        message names the fields to fix; not retried until they change
//   CredentialsIncomplete  check_credentials: a field a login needs is empty; nothing sent
//   ProviderRejected     any other refusal (4xx): retried with backoff
//   RenewalRejected      renewal refused (the session is gone): log in again instead
//   InvalidProviderAnswer  garbage, truncated or incomplete JSON
// Messages quote the provider's errorText as written (never the credentials).

#include <optional>
#include <string>
#include <variant>

#include "common/core/http_date.h"
#include "common/core/result.h"
#include "common/token/access_token.h"

namespace keyward {

struct Penalty {
  std::string ticket;      // send back with the retry
  Seconds wait{0};         // p-time: wait at least this long before the retry
  bool captcha = false;    // p-captcha: a person must log in; do not retry
  std::string error_text;  // the provider's errorText, if any
};

using TokenGrant = std::variant<AccessToken, Penalty>;

struct ProviderLimits {
  int logins_per_hour = 0;        // token requests (logins) per rolling hour; 0: no client budget
  int renewals_per_hour = 0;      // renewals per rolling hour; 0: no client budget
  Seconds rate_limited_wait{60};  // a 429 without (readable) Retry-After
  Seconds locked_out_wait{3600};  // a 423 without (readable) Retry-After

  // Tradovate: about 5 access token requests per hour per user, failures counted, beyond which
  // it answers penalties and then locks the account; renewals at most 15 per hour; a 429 with
  // no Retry-After means one hour.
  static ProviderLimits tradovate() { return {5, 15, Seconds(3600), Seconds(3600)}; }
  // OAuth 2.0 client credentials: no documented budget; Keyward allows itself one request a
  // minute on average (a token lives an hour or more) and waits a minute on a bare 429.
  static ProviderLimits oauth2() { return {60, 0, Seconds(60), Seconds(3600)}; }
  static ProviderLimits none() { return {}; }
};

class TokenProvider {
 public:
  TokenProvider() = default;
  TokenProvider(const TokenProvider&) = delete;
  TokenProvider& operator=(const TokenProvider&) = delete;
  virtual ~TokenProvider() = default;

  [[nodiscard]] virtual std::string name() const = 0;
  [[nodiscard]] virtual ProviderLimits limits() const { return ProviderLimits::none(); }
  // Whether the credentials carry what a login needs; an Error{"CredentialsIncomplete"} names
  // the missing fields (nothing is sent with incomplete credentials).
  [[nodiscard]] virtual Status check_credentials(const Credentials& credentials) const {
    (void)credentials;
    return ok();
  }

  // A fresh token from the credentials. penalty_ticket: the ticket of an earlier Penalty.
  virtual Result<TokenGrant> request(const Credentials& credentials,
                                     const std::optional<std::string>& penalty_ticket = {}) = 0;

  [[nodiscard]] virtual bool supports_renewal() const { return false; }
  // A new token for the same session, before the current one expires.
  virtual Result<AccessToken> renew(const AccessToken& current) {
    (void)current;
    return fail("RenewalUnsupported", "provider " + name() + " cannot renew tokens");
  }
};

}  // namespace keyward
