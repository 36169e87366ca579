#pragma once
// What a provider allows, and how Keyward stays inside it (docs/sidecar.md, "Provider limits").
//
//   ProviderLimits   (token_provider.h) per provider: requests per rolling hour Keyward allows
//                    itself, and how long a 429 or 423 without Retry-After means to wait.
//   limit_error()    429 -> RateLimited, 423 -> LockedOut, 5xx -> ProviderUnavailable, each
//                    with Error::retry_after set from Retry-After (seconds or HTTP-date) or the
//                    provider's rule.
//   RequestBudget    the client-side budget of one upstream account: the times of the last
//                    hour's logins and renewals (failures count: the provider counts them too).
//   RequestBudgets   one budget per account, shared by everything that logs in as it (a broker
//                    session restarted by a spec change keeps its account's history).
//   BudgetedProvider a TokenProvider that spends from a budget before every request and, when
//                    it is spent, fails with RequestBudgetExhausted and the time a slot frees
//                    (Error::retry_after) without sending anything. A request that never
//                    reached the provider (no connection) is refunded, so a network outage
//                    spends no budget and the renewal after it is not locked out.

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/result.h"
#include "common/token/token_provider.h"

namespace keyward {

// The Error for a 429, 423 or 5xx answer (nullopt for any other status). where: "POST
// /v1/auth/accesstokenrequest". The message says until when, and what to do.
std::optional<Error> limit_error(const HttpResponse& response, const std::string& where,
                                 const ProviderLimits& limits, SystemTime now);

class RequestBudget {
 public:
  enum class Kind { Login, Renewal };
  RequestBudget(int logins_per_hour, int renewals_per_hour);

  // Spends one request of `kind` at `now` when the last hour leaves room and returns nullopt;
  // otherwise spends nothing and returns when the oldest request of the window leaves it.
  std::optional<SystemTime> try_spend(Kind kind, SystemTime now);
  // Gives back the request spent at `spent_at` (it never reached the provider).
  void refund(Kind kind, SystemTime spent_at);
  // Requests of `kind` in the hour before `now`.
  [[nodiscard]] int spent(Kind kind, SystemTime now) const;
  [[nodiscard]] int limit(Kind kind) const;

 private:
  std::deque<SystemTime>& window(Kind kind, SystemTime now) const;

  int logins_per_hour_;
  int renewals_per_hour_;
  mutable std::mutex mu_;  // guards the windows
  mutable std::deque<SystemTime> logins_;
  mutable std::deque<SystemTime> renewals_;
};

// Whether a failed request cannot have been counted by the provider: no connection, DNS, TLS.
// A read timeout may have been (the login was sent): refunded for renewals only.
[[nodiscard]] bool never_reached_provider(const Error& error, bool renewal);

class RequestBudgets {
 public:
  // The budget of `account` (provider, endpoint and login, never a secret), created with
  // `limits` the first time.
  std::shared_ptr<RequestBudget> for_account(const std::string& account,
                                             const ProviderLimits& limits);

 private:
  std::mutex mu_;  // guards budgets_
  std::map<std::string, std::shared_ptr<RequestBudget>> budgets_;
};

class BudgetedProvider final : public TokenProvider {
 public:
  // account: for messages ("user demo at demo.tradovateapi.com"), never a secret.
  BudgetedProvider(TokenProvider& inner, std::shared_ptr<RequestBudget> budget, const Clock& clock,
                   std::string account);

  [[nodiscard]] std::string name() const override { return inner_.name(); }
  [[nodiscard]] ProviderLimits limits() const override { return inner_.limits(); }
  [[nodiscard]] Status check_credentials(const Credentials& credentials) const override {
    return inner_.check_credentials(credentials);
  }
  Result<TokenGrant> request(const Credentials& credentials,
                             const std::optional<std::string>& penalty_ticket = {}) override;
  [[nodiscard]] bool supports_renewal() const override { return inner_.supports_renewal(); }
  Result<AccessToken> renew(const AccessToken& current) override;

 private:
  [[nodiscard]] Error exhausted(RequestBudget::Kind kind, SystemTime now, SystemTime frees) const;

  TokenProvider& inner_;
  std::shared_ptr<RequestBudget> budget_;
  const Clock& clock_;
  std::string account_;
};

}  // namespace keyward
