#pragma once
// Where the sidecar gets its token: from the operator's token broker (broker mode) or from the
// provider itself (direct mode). The TokenRefresher decides *when* to fetch; a TokenSource
// decides *how* (renew or log in, honour a penalty ticket, ask the broker).

#include <string>

#include "common/core/result.h"
#include "common/token/access_token.h"
#include "sidecar/token_files.h"

namespace keyward::sidecar {

struct FetchResult {
  enum class Kind {
    Token,        // a new token
    RetryLater,   // a penalty (p-time) or the broker's 503 Retry-After: wait retry_after
    NeedsPerson,  // captcha: a person must log in at the provider; retrying will not help
    Inactive,     // the ApiKey is inactive (broker 409 / active:false)
  };
  Kind kind = Kind::Token;
  AccessToken token;
  Seconds retry_after{0};
  bool penalty = false;  // RetryLater because of a provider penalty
  bool renewed = false;  // Token came from a renewal
  std::string message;   // for status and logs; never secret
};

class TokenSource {
 public:
  TokenSource() = default;
  TokenSource(const TokenSource&) = delete;
  TokenSource& operator=(const TokenSource&) = delete;
  virtual ~TokenSource() = default;

  // current: the token in place, if it is still valid (a candidate for renewal).
  virtual Result<FetchResult> fetch(const AccessToken* current) = 0;
  // The key or login Secret changed: reload credentials, forget renewals and penalty tickets.
  virtual void credentials_changed() = 0;
  // Whether a token.json left by an earlier run may be reused as the current token.
  [[nodiscard]] virtual bool accepts_cached(const TokenRecord& record) const = 0;
  // Stored with every token written (empty in broker mode).
  [[nodiscard]] virtual std::string fingerprint() const = 0;
  [[nodiscard]] virtual std::string provider() const = 0;
};

}  // namespace keyward::sidecar
