#include "common/token/provider_token_source.h"

namespace keyward {

ProviderTokenSource::ProviderTokenSource(TokenProvider& provider, Loader load_credentials,
                                         Logger logger)
    : provider_(provider), load_(std::move(load_credentials)), logger_(std::move(logger)) {}

Result<Credentials> ProviderTokenSource::credentials() {
  std::lock_guard lock(mu_);
  if (!creds_) {
    auto c = load_();
    if (!c) return fail(c.error());
    creds_ = std::move(*c);
  }
  return *creds_;
}

bool ProviderTokenSource::revoked(const AccessToken& token) const {
  std::lock_guard lock(mu_);
  return !token.token.empty() && token.token == revoked_token_;
}

void ProviderTokenSource::credentials_changed() {
  std::lock_guard lock(mu_);
  creds_.reset();
  // rejected_ stays: the same credentials again (an unrelated file event) are still refused.
  ticket_.reset();
  renewal_refused_for_.clear();
  login_next_ = true;
}

std::string ProviderTokenSource::fingerprint() const {
  std::lock_guard lock(mu_);
  if (creds_) return creds_->fingerprint();
  auto c = load_();
  return c ? c->fingerprint() : "";
}

bool ProviderTokenSource::accepts_cached(const Delivery& record) const {
  return record.state == DeliveryState::Valid && record.token.provider == provider_.name() &&
         !record.token.token.empty() && record.credentials_fingerprint == fingerprint();
}

Result<FetchResult> ProviderTokenSource::fetch(const AccessToken* current) {
  FetchResult out;
  // Deactivated (the key Secret's data.active in direct mode): nothing is fetched or renewed.
  {
    auto creds = credentials();
    if (!creds) return fail(creds.error());
    if (!creds->active) {
      out.kind = FetchResult::Kind::Inactive;
      out.message = "the ApiKey is inactive (spec.active: false)";
      return out;
    }
    if (creds->revoked) {
      out.kind = FetchResult::Kind::Revoked;
      out.retry_after = Seconds(5);
      out.message =
          "the key version this sidecar holds was revoked, and the operator's broker "
          "cannot deliver the current one yet; nothing is delivered until it does";
      return out;
    }
  }
  bool try_renew = false;
  {
    std::lock_guard lock(mu_);
    try_renew = current && provider_.supports_renewal() && !ticket_ && !login_next_ &&
                current->token != renewal_refused_for_;
  }
  if (try_renew) {
    auto renewed = provider_.renew(*current);
    if (renewed) {
      out.token = std::move(*renewed);
      out.renewed = true;
      return out;
    }
    if (renewed.error().reason != "RenewalRejected") return fail(renewed.error());
    const int status = renewed.error().http_status;
    std::lock_guard lock(mu_);
    renewal_refused_for_ = current->token;
    if (status == 401 || status == 403) {
      // Only tokens with life left are renewed, so the provider ended the session early.
      revoked_token_ = current->token;
      out.warning_reason = "SessionReplaced";
      out.warning =
          "the provider refused to renew a token that had not expired (" + renewed.error().message +
          "): it closed this session, most likely because another client logged in as the same "
          "user (Tradovate keeps 2 sessions per user and closes the oldest); logging in again. "
          "Give each bot its own user, or let the operator's token broker hold the one session";
      logger_.warn(out.warning, {{"reason", "SessionReplaced"}});
    } else {
      logger_.info("renewal refused; logging in again", {{"reason", renewed.error().message}});
    }
  }

  auto creds = credentials();
  if (!creds) return fail(creds.error());
  if (auto complete = provider_.check_credentials(*creds); !complete) {
    return fail(complete.error());
  }
  {
    std::lock_guard lock(mu_);
    if (rejected_ && *rejected_ == *creds) return fail(rejection_);
  }
  std::optional<std::string> ticket;
  {
    std::lock_guard lock(mu_);
    ticket = ticket_;
  }
  auto grant = provider_.request(*creds, ticket);
  if (!grant) {
    std::lock_guard lock(mu_);
    // A ticket the provider refused is spent: the next login starts without it. One that never
    // got an answer (network, 5xx, 429, budget) is kept for the retry.
    const std::string& why = grant.error().reason;
    if (ticket && (why == "CredentialsRejected" || why == "ProviderRejected" ||
                   why == "InvalidProviderAnswer")) {
      ticket_.reset();
    }
    if (grant.error().reason == "CredentialsRejected") {
      rejected_ = *creds;
      rejection_ = grant.error();
    }
    return fail(grant.error());
  }
  if (auto* token = std::get_if<AccessToken>(&*grant)) {
    std::lock_guard lock(mu_);
    ticket_.reset();
    login_next_ = false;
    out.token = std::move(*token);
    return out;
  }
  const auto& p = std::get<Penalty>(*grant);
  {
    std::lock_guard lock(mu_);
    ticket_ = p.ticket;
  }
  if (p.captcha) {
    out.kind = FetchResult::Kind::NeedsPerson;
    out.message =
        "the provider demands a captcha (p-captcha): a person must log in at the provider "
        "once from this network, then restart the sidecar or update the credentials Secret" +
        (p.error_text.empty() ? std::string() : " (provider said: \"" + p.error_text + "\")");
    return out;
  }
  out.kind = FetchResult::Kind::RetryLater;
  out.penalty = true;
  out.retry_after = p.wait;
  out.message =
      "the provider imposed a penalty: retrying with its ticket after " +
      std::to_string(p.wait.count()) + "s" +
      (p.error_text.empty() ? std::string() : " (provider said: \"" + p.error_text + "\")");
  return out;
}

}  // namespace keyward
