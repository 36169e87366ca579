#pragma once
// ProviderTokenSource: tokens straight from a provider (the sidecar's direct mode, and each of
// the operator's broker sessions). Renewal is preferred over a new login (it spends no login
// budget and keeps the session); a refused renewal falls back to a login, but a network failure
// does not (a login during an outage would only burn the request budget). A penalty ticket is
// kept and sent with the next login. After a credentials change the next fetch is a login with
// the new credentials (a renewal would extend the old key's session).
//
// Limits (docs/sidecar.md, "Provider limits"): incomplete credentials are refused before
// anything is sent (CredentialsIncomplete); credentials the provider refused
// (CredentialsRejected) are refused again without a request until they change; a renewal
// refused while the token had life left means the provider closed the session, most likely
// because another client logged in as the same user: the token is revoked(), a warning
// (SessionReplaced) names the cause, and a login follows (within the request budget, which the
// caller puts in front of the provider: BudgetedProvider).

#include <functional>
#include <mutex>
#include <optional>

#include "common/core/log.h"
#include "common/token/token_provider.h"
#include "common/token/token_source.h"

namespace keyward {

class ProviderTokenSource final : public TokenSource {
 public:
  using Loader = std::function<Result<Credentials>()>;
  ProviderTokenSource(TokenProvider& provider, Loader load_credentials, Logger logger);

  Result<FetchResult> fetch(const AccessToken* current) override;
  void credentials_changed() override;
  [[nodiscard]] bool accepts_cached(const Delivery& cached) const override;
  [[nodiscard]] std::string fingerprint() const override;
  [[nodiscard]] std::string provider() const override { return provider_.name(); }
  [[nodiscard]] bool revoked(const AccessToken& token) const override;

 private:
  Result<Credentials> credentials();

  TokenProvider& provider_;
  Loader load_;
  Logger logger_;
  mutable std::mutex mu_;  // guards everything below
  std::optional<Credentials> creds_;
  std::optional<std::string> ticket_;
  std::string renewal_refused_for_;      // the token whose renewal the provider refused
  std::string revoked_token_;            // ... with 401/403: its session is closed
  bool login_next_ = false;              // credentials changed: the next fetch logs in
  std::optional<Credentials> rejected_;  // credentials the provider refused (CredentialsRejected)
  Error rejection_;                      // ... and what it said
};

}  // namespace keyward
