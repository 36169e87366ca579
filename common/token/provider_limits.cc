#include "common/token/provider_limits.h"

#include "common/core/http_date.h"

namespace keyward {

namespace {

// The wait of a Retry-After header, or `fallback` when there is none or it is unreadable.
Seconds retry_after_or(const HttpResponse& response, SystemTime now, Seconds fallback,
                       std::string& said) {
  if (auto header = response.header("Retry-After")) {
    if (auto wait = parse_retry_after(*header, now)) {
      said = "Retry-After: " + *header;
      return *wait;
    }
    said = "an unreadable Retry-After '" + header->substr(0, 40) + "', so the provider's rule";
    return fallback;
  }
  said = "no Retry-After, so the provider's rule";
  return fallback;
}

}  // namespace

std::optional<Error> limit_error(const HttpResponse& response, const std::string& where,
                                 const ProviderLimits& limits, SystemTime now) {
  const std::string status = std::to_string(response.status);
  std::string said;
  if (response.status == 429) {
    const Seconds wait = retry_after_or(response, now, limits.rate_limited_wait, said);
    Error e{"RateLimited",
            where + " answered HTTP 429 (too many requests): no request is sent before " +
                format_rfc3339(now + wait) + " (" + said + ", " + std::to_string(wait.count()) +
                "s); the token in place stays until it expires",
            429};
    e.retry_after = wait;
    return e;
  }
  if (response.status == 423) {
    const Seconds wait = retry_after_or(response, now, limits.locked_out_wait, said);
    Error e{"LockedOut",
            where +
                " answered HTTP 423: the account is locked out (too many failed logins) "
                "until " +
                format_rfc3339(now + wait) + " (" + said +
                "); check the password in the credentials Secret before then, and make sure "
                "nothing else logs in as this user with an old one",
            423};
    e.retry_after = wait;
    return e;
  }
  if (response.status >= 500) {
    Error e{"ProviderUnavailable",
            where + " answered HTTP " + status + ": the provider is unavailable; retrying",
            response.status};
    if (auto header = response.header("Retry-After")) {
      if (auto wait = parse_retry_after(*header, now)) {
        e.retry_after = *wait;
        e.message += " at " + format_rfc3339(now + *wait) + " (Retry-After: " + *header + ")";
        return e;
      }
    }
    e.message += " with backoff";
    return e;
  }
  return std::nullopt;
}

RequestBudget::RequestBudget(int logins_per_hour, int renewals_per_hour)
    : logins_per_hour_(logins_per_hour), renewals_per_hour_(renewals_per_hour) {}

std::deque<SystemTime>& RequestBudget::window(Kind kind, SystemTime now) const {
  auto& w = kind == Kind::Login ? logins_ : renewals_;
  while (!w.empty() && w.front() <= now - std::chrono::hours(1)) w.pop_front();
  return w;
}

int RequestBudget::limit(Kind kind) const {
  return kind == Kind::Login ? logins_per_hour_ : renewals_per_hour_;
}

std::optional<SystemTime> RequestBudget::try_spend(Kind kind, SystemTime now) {
  std::lock_guard lock(mu_);
  auto& w = window(kind, now);
  const int max = limit(kind);
  if (max > 0 && static_cast<int>(w.size()) >= max) return w.front() + std::chrono::hours(1);
  w.push_back(now);
  return std::nullopt;
}

int RequestBudget::spent(Kind kind, SystemTime now) const {
  std::lock_guard lock(mu_);
  return static_cast<int>(window(kind, now).size());
}

std::shared_ptr<RequestBudget> RequestBudgets::for_account(const std::string& account,
                                                           const ProviderLimits& limits) {
  std::lock_guard lock(mu_);
  auto& b = budgets_[account];
  if (!b) b = std::make_shared<RequestBudget>(limits.logins_per_hour, limits.renewals_per_hour);
  return b;
}

BudgetedProvider::BudgetedProvider(TokenProvider& inner, std::shared_ptr<RequestBudget> budget,
                                   const Clock& clock, std::string account)
    : inner_(inner), budget_(std::move(budget)), clock_(clock), account_(std::move(account)) {}

Error BudgetedProvider::exhausted(RequestBudget::Kind kind, SystemTime now,
                                  SystemTime frees) const {
  const bool login = kind == RequestBudget::Kind::Login;
  const int max = budget_->limit(kind);
  Error e{"RequestBudgetExhausted",
          std::to_string(max) + (login ? " logins" : " renewals") + " of " + account_ +
              " in the last hour, the most Keyward sends to " + inner_.name() +
              " (beyond it the provider penalises and locks the account); waiting until " +
              format_rfc3339(frees) +
              (login ? ": if logins keep failing, fix the credentials they are refused for" : ""),
          0};
  e.retry_after = std::chrono::ceil<Seconds>(frees - now);
  return e;
}

Result<TokenGrant> BudgetedProvider::request(const Credentials& credentials,
                                             const std::optional<std::string>& penalty_ticket) {
  const SystemTime now = clock_.now();
  if (auto frees = budget_->try_spend(RequestBudget::Kind::Login, now)) {
    return fail(exhausted(RequestBudget::Kind::Login, now, *frees));
  }
  return inner_.request(credentials, penalty_ticket);
}

Result<AccessToken> BudgetedProvider::renew(const AccessToken& current) {
  const SystemTime now = clock_.now();
  if (auto frees = budget_->try_spend(RequestBudget::Kind::Renewal, now)) {
    return fail(exhausted(RequestBudget::Kind::Renewal, now, *frees));
  }
  return inner_.renew(current);
}

}  // namespace keyward
