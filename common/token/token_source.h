#pragma once
// Where a TokenRefresher gets its token, and where it puts it.
//
//   TokenSource  how to fetch (renew or log in, honour a penalty ticket, ask the broker): the
//                sidecar's BrokerTokenSource, and ProviderTokenSource (the sidecar's direct mode
//                and the operator's broker sessions).
//   TokenSink    where a delivered token goes: the token files in the sidecar, an in-memory
//                slot in the operator's broker.
// The TokenRefresher (token_refresher.h) decides *when*.

#include <string>

#include "common/core/clock.h"
#include "common/core/result.h"
#include "common/token/access_token.h"

namespace keyward {

enum class DeliveryState { Valid, Expired, Inactive, Revoked };

// What the refresher hands its sink: the token in place and its state. Expired: the token ran
// out with no replacement (a sink stops serving it). Inactive: the key is inactive (the token
// fields are empty but provider and keyVersion). Revoked: the key version of the token in place
// was revoked and no current one is ready (the token is withdrawn, fields empty likewise).
struct Delivery {
  AccessToken token;
  DeliveryState state = DeliveryState::Valid;
  std::string credentials_fingerprint;  // which credentials issued it (direct mode), else ""
};

class TokenSink {
 public:
  TokenSink() = default;
  TokenSink(const TokenSink&) = delete;
  TokenSink& operator=(const TokenSink&) = delete;
  virtual ~TokenSink() = default;
  // An error (a full tmpfs) makes the refresher keep the token and deliver it again later
  // without asking the provider again.
  virtual Status deliver(const Delivery& delivery) = 0;
};

struct FetchResult {
  enum class Kind {
    Token,        // a new token
    RetryLater,   // a penalty (p-time) or the broker's 503 Retry-After: wait retry_after
    NeedsPerson,  // captcha: a person must log in at the provider; retrying will not help
    Inactive,     // the ApiKey is inactive (broker 409 / active:false)
    Revoked,      // the key version held was revoked (broker 410): withdraw, ask after retry_after
  };
  Kind kind = Kind::Token;
  AccessToken token;
  Seconds retry_after{0};
  bool penalty = false;  // RetryLater because of a provider penalty
  bool renewed = false;  // Token came from a renewal
  std::string message;   // for status and logs; never secret
  // Something worth a warning happened on the way to the token (reason "SessionReplaced": the
  // provider had closed the session, so it logged in again). Never secret.
  std::string warning_reason;
  std::string warning;
};

class TokenSource {
 public:
  TokenSource() = default;
  TokenSource(const TokenSource&) = delete;
  TokenSource& operator=(const TokenSource&) = delete;
  virtual ~TokenSource() = default;

  // current: the token in place, if it is still valid (a candidate for renewal).
  virtual Result<FetchResult> fetch(const AccessToken* current) = 0;
  // The key or login credentials changed: reload them, forget renewals and penalty tickets.
  virtual void credentials_changed() = 0;
  // Whether the provider has said that `token` no longer works (its renewal was refused): the
  // refresher then stops delivering it even though its expiry is still ahead.
  [[nodiscard]] virtual bool revoked(const AccessToken& token) const {
    (void)token;
    return false;
  }
  // Whether a token left by an earlier run may be reused as the current token.
  [[nodiscard]] virtual bool accepts_cached(const Delivery& cached) const = 0;
  // Stored with every token delivered (empty in broker mode).
  [[nodiscard]] virtual std::string fingerprint() const = 0;
  [[nodiscard]] virtual std::string provider() const = 0;
};

}  // namespace keyward
