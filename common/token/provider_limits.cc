#include "common/token/provider_limits.h"

#include <algorithm>

#include "common/core/http_date.h"

namespace keyward {

namespace {

constexpr Seconds kShortestWait{1};         // a Retry-After of 0 or in the past: not a tight loop
constexpr Seconds kLongestWait{24 * 3600};  // a huge one: ask again tomorrow, not in 292 years

// The wait of a Retry-After header, or `fallback` when there is none or it is unreadable. An
// HTTP-date is measured against the answer's own Date header when it has one, so a local clock
// that runs ahead cannot make the retry early.
Seconds retry_after_or(const HttpResponse& response, SystemTime now, Seconds fallback,
                       std::string& said) {
  if (auto header = response.header("Retry-After")) {
    SystemTime reference = now;
    if (auto date = response.header("Date")) {
      if (auto server_now = parse_http_date(*date)) reference = *server_now;
    }
    if (auto wait = parse_retry_after(*header, reference)) {
      said = "Retry-After: " + *header;
      return std::clamp(*wait, kShortestWait, kLongestWait);
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
        *wait = std::clamp(*wait, kShortestWait, kLongestWait);
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

void RequestBudget::refund(Kind kind, SystemTime spent_at) {
  std::lock_guard lock(mu_);
  auto& w = kind == Kind::Login ? logins_ : renewals_;
  for (auto it = w.rbegin(); it != w.rend(); ++it) {
    if (*it == spent_at) {
      w.erase(std::next(it).base());
      return;
    }
  }
}

bool never_reached_provider(const Error& error, bool renewal) {
  if (error.reason == "TLSHandshakeFailed" || error.reason == "TLSVerifyFailed" ||
      error.reason == "InvalidCertificate" || error.reason == "Canceled") {
    return true;
  }
  if (error.reason != "Unreachable") return false;
  // A read that timed out may have reached the provider's login logic (which counts it): only a
  // renewal, which cannot lock the account, is refunded then.
  return renewal || error.message.find("no complete answer") == std::string::npos;
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
  auto grant = inner_.request(credentials, penalty_ticket);
  if (!grant && never_reached_provider(grant.error(), false)) {
    budget_->refund(RequestBudget::Kind::Login, now);
  }
  return grant;
}

Result<AccessToken> BudgetedProvider::renew(const AccessToken& current) {
  const SystemTime now = clock_.now();
  if (auto frees = budget_->try_spend(RequestBudget::Kind::Renewal, now)) {
    return fail(exhausted(RequestBudget::Kind::Renewal, now, *frees));
  }
  auto renewed = inner_.renew(current);
  if (!renewed && never_reached_provider(renewed.error(), true)) {
    budget_->refund(RequestBudget::Kind::Renewal, now);
  }
  return renewed;
}

}  // namespace keyward
