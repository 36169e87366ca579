#include "common/token/token_refresher.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace keyward {

namespace {

using Duration = std::chrono::system_clock::duration;

Duration seconds_f(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

double to_seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

TokenRefresher::TokenRefresher(TokenSource& source, TokenSink& sink, Random& random,
                               MetricsRegistry& metrics, Logger logger, RefresherOptions options)
    : source_(source),
      sink_(sink),
      random_(random),
      logger_(std::move(logger)),
      options_(std::move(options)),
      refreshes_(metrics.counter(options_.metric_prefix + "_refreshes_total",
                                 "Tokens obtained, by kind (request, renew, broker, static)")),
      failures_(metrics.counter(options_.metric_prefix + "_refresh_failures_total",
                                "Failed attempts to obtain or write a token, by reason")),
      penalties_(metrics.counter(options_.metric_prefix + "_penalties_total",
                                 "Provider penalties received, by kind (p-ticket, p-captcha)")),
      expiry_seconds_(
          metrics.gauge(options_.metric_prefix + "_token_expiry_seconds",
                        "Seconds until the delivered token expires (negative: expired)")),
      skew_gauge_(metrics.gauge(options_.metric_prefix + "_clock_skew_seconds",
                                "Local clock minus the provider's clock, from its Date header")),
      valid_gauge_(metrics.gauge(options_.metric_prefix + "_token_valid",
                                 "1 while a token with life left is delivered, else 0")) {}

Labels TokenRefresher::labels(Labels extra) const {
  extra.insert(options_.metric_labels.begin(), options_.metric_labels.end());
  return extra;
}

bool TokenRefresher::valid_locked(SystemTime now) const {
  return current_ && status_.state == "Valid" && now < current_local_expiry_;
}

bool TokenRefresher::adopt_cached(const Delivery& record, SystemTime now) {
  if (!source_.accepts_cached(record)) return false;
  if (record.token.expires() && record.token.expires_at <= now) return false;
  std::lock_guard lock(mu_);
  current_ = record.token;
  logger_.redactor().add(record.token.token);
  logger_.redactor().add(record.token.md_token);
  current_local_expiry_ = local_expiry(record.token, skew_);
  status_.state = "Valid";
  status_.provider = record.token.provider;
  status_.key_version = record.token.key_version;
  status_.expires_at = record.token.expires() ? std::optional(current_local_expiry_) : std::nullopt;
  status_.issued_at = record.token.issued_at;
  status_.reused_cached_token = true;
  refresh_at_ = plan_refresh(now);
  checked_at_ = now;
  valid_gauge_.set(labels(), 1);
  logger_.info("reusing the token left by an earlier run",
               {{"expirationTime", format_rfc3339(record.token.expires_at)},
                {"refreshAt", format_rfc3339(refresh_at_)}});
  return true;
}

void TokenRefresher::credentials_changed() {
  source_.credentials_changed();
  std::lock_guard lock(mu_);
  force_ = true;
  needs_person_ = false;
  status_.needs_person = false;
  blocked_ = false;
  status_.blocked_until_credentials_change = false;
  inactive_ = false;
}

SystemTime TokenRefresher::plan_refresh(SystemTime now) {
  if (!current_ || !current_->expires()) return SystemTime::max();
  const Duration life = current_local_expiry_ - now;
  const Duration lead = options_.refresh_lead;
  const double jitter = random_.uniform01() * options_.jitter_fraction * to_seconds(lead);
  Duration before_expiry = lead + seconds_f(jitter);
  // Shorter-lived than its lead (plus jitter): refresh at half life. Never a time already past,
  // which would fetch again at once (a broker-mode sidecar can get a token the broker is about
  // to refresh; it asks again at half of what is left, not in a tight loop).
  if (before_expiry >= life) before_expiry = life / 2;
  return current_local_expiry_ - before_expiry;
}

SystemTime TokenRefresher::wake_bound(SystemTime t) const {
  if (current_ && status_.state == "Valid" && current_->expires()) {
    return std::min(t, current_local_expiry_);
  }
  return t;
}

void TokenRefresher::set_provider_state(bool ready, std::string reason, std::string message,
                                        std::optional<SystemTime> until) {
  status_.provider_state = ProviderState{ready, std::move(reason), std::move(message), until};
}

void TokenRefresher::mark_expired(const char* why) {
  status_.state = "Expired";
  valid_gauge_.set(labels(), 0);
  Delivery r{*current_, DeliveryState::Expired, source_.fingerprint()};
  logger_.error(why, {{"expiredAt", format_rfc3339(current_local_expiry_)},
                      {"lastError", status_.last_error}});
  if (auto s = sink_.deliver(r); !s) {
    // The files would keep claiming a validity that has ended: rewritten at every step until
    // it works (a full tmpfs).
    expired_unwritten_ = true;
    logger_.error("could not mark the token Expired; retrying", {{"error", s.error().message}});
    failures_.inc(labels({{"reason", s.error().reason}}));
  } else {
    expired_unwritten_ = false;
  }
}

bool TokenRefresher::deliver(const Delivery& record, SystemTime now) {
  if (auto s = sink_.deliver(record); !s) {
    unwritten_ = record;
    on_failure(now, s.error());
    return false;
  }
  unwritten_.reset();
  return true;
}

SystemTime TokenRefresher::on_failure(SystemTime now, const Error& error) {
  ++status_.consecutive_failures;
  status_.last_error = error.to_string();
  failures_.inc(labels({{"reason", error.reason}}));
  if (error.reason == "CredentialsRejected" || error.reason == "CredentialsIncomplete") {
    blocked_ = true;
    status_.blocked_until_credentials_change = true;
    next_attempt_ = SystemTime::max();
    status_.next_attempt.reset();
    set_provider_state(false, error.reason, error.message, std::nullopt);
    logger_.error("the credentials cannot log in; no request is sent until they change",
                  {{"reason", error.reason}, {"error", error.message}});
    return wake_bound(SystemTime::max());
  }
  if (error.retry_after) {
    // The other side said how long (Retry-After, a lockout's end, the request budget): exactly
    // that, even past the token's expiry, since an earlier request would only be refused.
    next_attempt_ = now + std::max<Duration>(*error.retry_after, std::chrono::seconds(1));
    hold_until_ = next_attempt_;
    status_.next_attempt = next_attempt_;
    set_provider_state(false, error.reason, error.message, next_attempt_);
    logger_.warn("the provider cannot be asked yet; waiting as told",
                 {{"reason", error.reason},
                  {"error", error.message},
                  {"retryAt", format_rfc3339(next_attempt_)}});
    return wake_bound(next_attempt_);
  }
  const int n = std::min(status_.consecutive_failures - 1, 30);
  double delay = std::min(to_seconds(options_.backoff_initial) * std::pow(2.0, n),
                          to_seconds(options_.backoff_max));
  delay *= 0.5 + 0.5 * random_.uniform01();
  if (valid_locked(now) && current_->expires()) {
    delay = std::min(delay, std::max(1.0, to_seconds(current_local_expiry_ - now) / 2));
  }
  next_attempt_ = now + seconds_f(delay);
  status_.next_attempt = next_attempt_;
  // Our own backoff: no `until` (it moves at every attempt and would rewrite the ApiKey's
  // status each time); nextAttemptTime shows it.
  set_provider_state(false, error.reason, error.message, std::nullopt);
  logger_.warn("could not refresh the token; retrying",
               {{"reason", error.reason},
                {"error", error.message},
                {"failures", status_.consecutive_failures},
                {"retryAt", format_rfc3339(next_attempt_)}});
  return wake_bound(next_attempt_);
}

SystemTime TokenRefresher::on_token(SystemTime now, FetchResult result) {
  AccessToken& t = result.token;
  if (t.provider.empty()) t.provider = source_.provider();
  if (t.provider_time) {
    // The Date header has whole seconds and is stamped before the answer travels, so the
    // measured skew overstates the true one by up to ~1s. Within 2s it is noise and ignored;
    // beyond, 1s is taken off so the corrected expiry errs early, never late.
    const Duration measured = t.issued_at - *t.provider_time;
    skew_ = std::chrono::abs(measured) <= Duration(std::chrono::seconds(2))
                ? Duration::zero()
                : measured - Duration(std::chrono::seconds(1));
    const double skew_s = to_seconds(measured);
    skew_gauge_.set(labels(), skew_s);
    status_.clock_skew_seconds = skew_s;
    if (std::abs(skew_s) > to_seconds(options_.skew_warning)) {
      logger_.warn("the local and provider clocks disagree; expiry is corrected for it",
                   {{"skewSeconds", skew_s},
                    {"hint", "local clock minus provider clock; fix NTP on this node"}});
    }
  }
  const SystemTime local_exp = local_expiry(t, skew_);
  if (t.expires() && local_exp <= now) {
    return on_failure(now, Error{"InvalidProviderAnswer",
                                 "the new token's expirationTime " + format_rfc3339(t.expires_at) +
                                     " is already past; check the clocks",
                                 0});
  }
  if (t.expires() && local_exp - now > options_.max_token_lifetime) {
    // A token "valid" for years would never be refreshed, so a session the provider ended
    // would go unnoticed until the bot's next order fails: refuse it, keep the one in place.
    return on_failure(
        now,
        Error{"InvalidProviderAnswer",
              "the new token's expirationTime " + format_rfc3339(t.expires_at) + " is " +
                  std::to_string(
                      std::chrono::duration_cast<std::chrono::hours>(local_exp - now).count()) +
                  " h ahead, beyond the " +
                  std::to_string(
                      std::chrono::duration_cast<std::chrono::hours>(options_.max_token_lifetime)
                          .count()) +
                  " h Keyward accepts; check the provider's answer and clock",
              0});
  }
  Delivery record{t, DeliveryState::Valid, source_.fingerprint()};
  if (!deliver(record, now)) return wake_bound(next_attempt_);
  current_ = t;
  current_local_expiry_ = local_exp;
  status_.state = "Valid";
  status_.provider = t.provider;
  status_.key_version = t.key_version;
  status_.expires_at = t.expires() ? std::optional(local_exp) : std::nullopt;
  status_.issued_at = t.issued_at;
  status_.last_refresh = now;
  status_.last_error.clear();
  status_.consecutive_failures = 0;
  if (result.warning_reason.empty()) {
    set_provider_state(true, "TokenIssued", "the provider issues tokens", std::nullopt);
  } else {
    set_provider_state(true, result.warning_reason, result.warning, std::nullopt);
  }
  status_.reused_cached_token = false;
  next_attempt_ = SystemTime::min();
  refresh_at_ = plan_refresh(now);
  status_.next_attempt =
      refresh_at_ == SystemTime::max() ? std::nullopt : std::optional(refresh_at_);
  valid_gauge_.set(labels(), 1);
  std::string kind = "request";
  if (result.renewed)
    kind = "renew";
  else if (source_.provider() == "broker")
    kind = "broker";
  else if (t.provider == "none")
    kind = "static";
  refreshes_.inc(labels({{"kind", kind}}));
  logger_.info("delivered a new token",
               {{"kind", kind},
                {"expirationTime", t.expires() ? format_rfc3339(t.expires_at) : "never"},
                {"refreshAt",
                 refresh_at_ == SystemTime::max() ? "on key change" : format_rfc3339(refresh_at_)},
                {"keyVersion", t.key_version}});
  if (options_.recheck.count() > 0) return std::min(refresh_at_, now + options_.recheck);
  return refresh_at_;
}

SystemTime TokenRefresher::step(SystemTime now) {
  std::optional<AccessToken> renewable;
  {
    std::lock_guard lock(mu_);
    status_.next_attempt.reset();

    // 1. The token in place ran out.
    if (current_ && status_.state == "Valid" && current_->expires() &&
        now >= current_local_expiry_) {
      mark_expired();
    }

    // 1b. The files still say Valid for a token that ran out (the write of Expired failed).
    if (expired_unwritten_ && current_ && status_.state == "Expired") {
      Delivery r{*current_, DeliveryState::Expired, source_.fingerprint()};
      if (auto s = sink_.deliver(r); s) {
        expired_unwritten_ = false;
        logger_.info("the files now say the token expired");
      }
    }

    // 2. A token fetched earlier but not written (disk full) goes first, while it still lives:
    //    one that ran out meanwhile is dropped and a new one fetched.
    if (unwritten_ && unwritten_->token.expires() &&
        local_expiry(unwritten_->token, skew_) <= now) {
      logger_.warn("the token that could not be written has expired meanwhile; fetching a new one",
                   {{"expirationTime", format_rfc3339(unwritten_->token.expires_at)}});
      unwritten_.reset();
      next_attempt_ = std::min(next_attempt_, now);
    }
    if (unwritten_ && !force_) {
      if (now < next_attempt_) return wake_bound(next_attempt_);
      FetchResult again;
      again.token = unwritten_->token;
      again.renewed = unwritten_renewed_;
      return on_token(now, std::move(again));
    }

    if (force_) {
      force_ = false;
      unwritten_.reset();
      next_attempt_ = std::max(now, hold_until_);
      refresh_at_ = now;
      logger_.info(now < hold_until_
                       ? "credentials changed; fetching a new token when the provider's wait ends"
                       : "credentials changed; fetching a new token now",
                   {{"at", format_rfc3339(next_attempt_)}});
    }
    if (needs_person_ || blocked_) return wake_bound(SystemTime::max());

    // 3. Not due yet.
    SystemTime due = valid_locked(now) ? refresh_at_ : now;
    if (valid_locked(now) && options_.recheck.count() > 0 && checked_at_ != SystemTime::min()) {
      due = std::min(due, checked_at_ + options_.recheck);
    }
    due = std::max({due, next_attempt_, hold_until_});
    if (now < due) {
      status_.next_attempt = due;
      return wake_bound(due);
    }
    status_.last_attempt = now;
    if (valid_locked(now)) renewable = current_;
  }

  // 4. Fetch, without the lock: readiness probes and /v1/status stay fast while a slow
  //    provider answers.
  auto result = source_.fetch(renewable ? &*renewable : nullptr);

  std::lock_guard lock(mu_);
  if (force_) {
    // The credentials changed while the request ran: its answer may belong to the old ones.
    logger_.info("discarding an answer fetched with credentials that changed meanwhile");
    return now;
  }
  checked_at_ = now;
  if ((!result || result->kind != FetchResult::Kind::Token) && current_ &&
      status_.state == "Valid" && source_.revoked(*current_)) {
    // The provider closed the session the token belongs to, and no new one came with this
    // attempt: the token no longer works, so it is not served either.
    status_.last_error = result ? result->message : result.error().to_string();
    mark_expired(
        "the provider closed the session of the token in place (its renewal was refused) and no "
        "new token could be obtained yet; readiness now fails");
    // The state names the cause, not only what the login after it ran into.
    const std::string then = status_.last_error;
    const SystemTime next = result ? now : on_failure(now, result.error());
    if (!result) {
      set_provider_state(false, "SessionReplaced",
                         "the provider closed the session of the token in place, most likely "
                         "because another client logged in as the same user; the login after it: " +
                             then,
                         status_.provider_state.until);
      return next;
    }
  }
  if (!result) return on_failure(now, result.error());
  switch (result->kind) {
    case FetchResult::Kind::Token:
      inactive_ = false;
      if (options_.recheck.count() > 0 && current_ && status_.state == "Valid" &&
          result->token.token == current_->token && now < refresh_at_) {
        // A recheck that found the token in place: nothing to write.
        status_.consecutive_failures = 0;
        return wake_bound(std::min(refresh_at_, now + options_.recheck));
      }
      unwritten_renewed_ = result->renewed;
      return on_token(now, std::move(*result));
    case FetchResult::Kind::RetryLater:
      if (result->penalty) penalties_.inc(labels({{"kind", "p-ticket"}}));
      status_.last_error = result->message;
      next_attempt_ = now + result->retry_after;
      if (result->penalty) hold_until_ = next_attempt_;
      status_.next_attempt = next_attempt_;
      set_provider_state(!result->penalty, result->penalty ? "Penalty" : "TokenNotReady",
                         result->message, next_attempt_);
      logger_.warn(result->penalty ? "provider penalty: waiting before retrying with the ticket"
                                   : "token not available yet; waiting",
                   {{"message", result->message}, {"retryAt", format_rfc3339(next_attempt_)}});
      return wake_bound(next_attempt_);
    case FetchResult::Kind::NeedsPerson:
      penalties_.inc(labels({{"kind", "p-captcha"}}));
      needs_person_ = true;
      status_.needs_person = true;
      status_.last_error = "CaptchaRequired: " + result->message;
      set_provider_state(false, "CaptchaRequired", result->message, std::nullopt);
      failures_.inc(labels({{"reason", "CaptchaRequired"}}));
      logger_.error("a person must log in: the provider demands a captcha; no more retries",
                    {{"message", result->message}});
      return wake_bound(SystemTime::max());
    case FetchResult::Kind::Inactive: {
      inactive_ = true;
      status_.state = "Inactive";
      status_.last_error = result->message;
      valid_gauge_.set(labels(), 0);
      AccessToken none;
      none.provider = current_ ? current_->provider : source_.provider();
      none.key_version = current_ ? current_->key_version : 0;
      if (auto s = sink_.deliver(Delivery{none, DeliveryState::Inactive, ""}); !s) {
        failures_.inc(labels({{"reason", s.error().reason}}));
      }
      current_.reset();
      // With a recheck bound (the broker) a reactivation reaches the files as fast.
      next_attempt_ =
          now + (options_.recheck.count() > 0 ? std::min(options_.inactive_poll, options_.recheck)
                                              : options_.inactive_poll);
      status_.next_attempt = next_attempt_;
      logger_.warn("the ApiKey is inactive; no token is delivered", {{"message", result->message}});
      return next_attempt_;
    }
    case FetchResult::Kind::Revoked: {
      // The token in place belongs to a revoked key version: it goes at once, even though it may
      // still live (a bot must not keep trading on a revoked key), and the current one is asked
      // for again soon.
      status_.state = "Revoked";
      status_.last_error = "KeyVersionRevoked: " + result->message;
      valid_gauge_.set(labels(), 0);
      failures_.inc(labels({{"reason", "KeyVersionRevoked"}}));
      AccessToken none;
      none.provider = current_ ? current_->provider : source_.provider();
      none.key_version = current_ ? current_->key_version : 0;
      if (auto s = sink_.deliver(Delivery{none, DeliveryState::Revoked, ""}); !s) {
        failures_.inc(labels({{"reason", s.error().reason}}));
      }
      current_.reset();
      next_attempt_ = now + std::max(result->retry_after, Seconds(1));
      status_.next_attempt = next_attempt_;
      logger_.warn("the key version held was revoked; its token is withdrawn",
                   {{"message", result->message}, {"retryAt", format_rfc3339(next_attempt_)}});
      return next_attempt_;
    }
  }
  return now + options_.backoff_max;
}

RefresherStatus TokenRefresher::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

bool TokenRefresher::has_valid_token(SystemTime now) const {
  std::lock_guard lock(mu_);
  return valid_locked(now);
}

Status TokenRefresher::ready(SystemTime now) const {
  std::lock_guard lock(mu_);
  if (valid_locked(now)) return ok();
  if (status_.needs_person)
    return fail("CaptchaRequired", "a person must log in at the provider (captcha)");
  if (status_.state == "Inactive") return fail("Inactive", "the ApiKey is inactive");
  if (status_.state == "Revoked") return fail("KeyVersionRevoked", status_.last_error);
  const ProviderState& p = status_.provider_state;
  if (status_.blocked_until_credentials_change) {
    return fail(p.reason, p.message + " (nothing is sent until the credentials change)");
  }
  // The provider's state says why there is no token, and when the next request goes.
  std::string why = status_.last_error;
  if (!p.ready && !p.reason.empty()) {
    why = p.reason + ": " + p.message;
    if (p.until) why += " (next request at " + format_rfc3339(*p.until) + ")";
  }
  if (status_.state == "Expired") {
    return fail("TokenExpired",
                "the token expired (or the provider closed its session) with no replacement; "
                "last error: " +
                    why);
  }
  return fail("NoToken", "no token yet" + (why.empty() ? "" : "; last error: " + why));
}

void TokenRefresher::update_gauges(SystemTime now) {
  std::lock_guard lock(mu_);
  if (current_ && current_->expires()) {
    expiry_seconds_.set(labels(), to_seconds(current_local_expiry_ - now));
  }
  valid_gauge_.set(labels(), valid_locked(now) ? 1 : 0);
}

}  // namespace keyward
