#pragma once
// The token providers: how a login becomes a short-lived access token. The sidecar (direct
// mode) and the operator's token broker share them.
//
// A provider answers with a TokenGrant: either a token, or a Penalty (Tradovate's p-ticket /
// p-time / p-captcha) that the caller must honour: wait `wait`, then call request() again with
// the ticket; captcha means a person must log in and no retry will help. Everything else (the
// provider unreachable, a refusal, garbage) is an Error. Reasons:
//   Unreachable          the endpoint did not answer (network, timeout)
//   ProviderUnavailable  5xx or 429: try again later
//   ProviderRejected     the provider refused (errorText / 4xx): credentials or app are wrong
//   RenewalRejected      renewal refused: log in again instead
//   InvalidProviderAnswer  garbage, truncated or incomplete JSON
// Messages quote the provider's errorText as written (never the credentials).

#include <optional>
#include <string>
#include <variant>

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

class TokenProvider {
 public:
  TokenProvider() = default;
  TokenProvider(const TokenProvider&) = delete;
  TokenProvider& operator=(const TokenProvider&) = delete;
  virtual ~TokenProvider() = default;

  [[nodiscard]] virtual std::string name() const = 0;

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

// HTTP-date (RFC 7231 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT") of a Date header.
std::optional<SystemTime> parse_http_date(const std::string& text);
std::string format_http_date(SystemTime t);

}  // namespace keyward
