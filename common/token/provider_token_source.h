#pragma once
// ProviderTokenSource: tokens straight from a provider (the sidecar's direct mode, and each of
// the operator's broker sessions). Renewal is preferred over a new login (it spends no login
// budget and keeps the session); a refused renewal falls back to a login, but a network failure
// does not (a login during an outage would only burn the request budget). A penalty ticket is
// kept and sent with the next login. After a credentials change the next fetch is a login with
// the new credentials (a renewal would extend the old key's session).

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

 private:
  Result<Credentials> credentials();

  TokenProvider& provider_;
  Loader load_;
  Logger logger_;
  mutable std::mutex mu_;  // guards creds_, ticket_, renewal_refused_for_, login_next_
  std::optional<Credentials> creds_;
  std::optional<std::string> ticket_;
  std::string renewal_refused_for_;  // the token whose renewal the provider refused
  bool login_next_ = false;          // credentials changed: the next fetch logs in
};

}  // namespace keyward
