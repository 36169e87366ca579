#pragma once
// TokenRefresher: when to fetch a short-lived token, as pure step logic over the time it is given
// (it reads no clock). One implementation for both binaries: the sidecar (sink = token files,
// source = the provider or the broker) and the operator's token broker (one refresher per ApiKey
// session, sink = an in-memory slot, source = the provider).
//
//   SystemTime next = refresher.step(clock.now());   // do what is due, say when to call again
//
// Rules:
//  * refresh at (expiry - lead - jitter), jitter uniform in [0, jitter_fraction * lead), so a
//    fleet does not refresh in the same second; a token shorter-lived than its lead is
//    refreshed at half its life;
//  * expiry is the provider's, shifted by the measured clock skew (local clock minus the
//    provider's Date header; ignored within 2s, the header's resolution, and reduced by 1s
//    beyond so the correction errs early); a skew above skew_warning is logged and exported;
//  * failures back off exponentially (initial * 2^n, capped at backoff_max) with jitter (x0.5
//    to x1), never sleeping past half of the current token's remaining life, so retries get
//    denser as expiry nears;
//  * a penalty waits exactly its p-time, then retries with the ticket; a captcha stops all
//    retries until the credentials change ("a person must log in");
//  * an error with Error::retry_after (a 429's or 503's Retry-After, a 423 lockout's end, the
//    client-side request budget) waits exactly that long, even past the token's expiry, and
//    so does a penalty's p-time; a credentials change (a rotation) does not cut the wait short;
//  * credentials refused by the provider (CredentialsRejected) or incomplete ones stop all
//    requests until the credentials change, like a captcha;
//  * a token the provider revoked (its renewal refused: the session was closed) is taken out of
//    service at once when no replacement arrives with the same attempt;
//  * the token in place stays until it really expires; then the sink gets it as Expired (the
//    sidecar empties the token file and fails readiness, the broker stops serving it);
//  * a token the sink could not take (disk full) is kept and delivered again before any new
//    fetch, so a full tmpfs never costs a provider request.
// A thin run loop (SidecarApp, broker Session) sleeps with Clock::sleep_until(next, wakeup, stop).

#include <mutex>
#include <optional>
#include <string>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/io/random.h"
#include "common/token/token_source.h"

namespace keyward {

struct RefresherOptions {
  Seconds refresh_lead{300};
  double jitter_fraction = 0.1;
  Seconds backoff_initial{2};
  Seconds backoff_max{60};
  Seconds skew_warning{30};
  // A new token whose expiry lies further ahead is refused (InvalidProviderAnswer) and the
  // current one kept: tokens of the supported providers live minutes to a day.
  Seconds max_token_lifetime{std::chrono::hours(24 * 31)};
  Seconds inactive_poll{60};  // how often an inactive key is asked about again
  // Ask the source at least this often while the token in place is valid (0: only at refresh
  // time). An answer with the token in place is not delivered again. For the broker, which
  // answers from memory: a deactivation or a rotation reaches the sidecar within this bound
  // instead of at the next refresh. Never for a provider (it would spend its budget).
  Seconds recheck{0};
  // Metric names are <metric_prefix>_refreshes_total, _refresh_failures_total,
  // _penalties_total, _token_expiry_seconds, _clock_skew_seconds, _token_valid; metric_labels
  // are added to every series (the broker: the ApiKey's namespace and name).
  std::string metric_prefix = "keyward_sidecar";
  Labels metric_labels{};
};

// What the provider's last answer means for the next request (docs/sidecar.md, "Provider
// limits"): the broker turns it into the ApiKey's ProviderReady condition, the sidecar shows it
// in /v1/status and /readyz. No secrets.
struct ProviderState {
  bool ready = true;   // the last attempt got a token (or none was made yet)
  std::string reason;  // "" before the first attempt; TokenIssued, SessionReplaced (a warning,
                       // ready), Penalty, CaptchaRequired, LockedOut, RateLimited,
                       // CredentialsRejected, CredentialsIncomplete, RequestBudgetExhausted,
                       // Unreachable, ProviderUnavailable, InvalidProviderAnswer, ...
  std::string message;
  std::optional<SystemTime> until;  // no request before then; nullopt: none planned (blocked
                                    // until the credentials change) or none needed
  bool operator==(const ProviderState&) const = default;
};

// What /v1/status and the readiness probe show. No secrets.
struct RefresherStatus {
  std::string state = "Starting";  // Starting | Valid | Expired | Inactive
  std::string provider;
  std::int64_t key_version = 0;
  std::optional<SystemTime> expires_at;  // local clock (skew-corrected)
  std::optional<SystemTime> issued_at;
  std::optional<SystemTime> last_refresh;
  std::optional<SystemTime> last_attempt;
  std::optional<SystemTime> next_attempt;
  std::string last_error;
  bool needs_person = false;
  // Credentials the provider refused, or incomplete ones: nothing is sent until they change.
  bool blocked_until_credentials_change = false;
  ProviderState provider_state;
  int consecutive_failures = 0;
  double clock_skew_seconds = 0;
  bool reused_cached_token = false;
};

class TokenRefresher {
 public:
  TokenRefresher(TokenSource& source, TokenSink& sink, Random& random, MetricsRegistry& metrics,
                 Logger logger, RefresherOptions options);
  TokenRefresher(const TokenRefresher&) = delete;
  TokenRefresher& operator=(const TokenRefresher&) = delete;

  // Adopts a token left by an earlier run (token.json) if the source accepts it and it has not
  // expired. Returns whether it did (no request is then made until the refresh time).
  bool adopt_cached(const Delivery& cached, SystemTime now);

  // Does whatever is due at `now` (fetch, write, mark expired) and returns when to call again.
  SystemTime step(SystemTime now);

  // The key or login Secret changed: fetch a new token at the next step (a login: the source
  // forgets the old session), and discard an answer still in flight for the old credentials.
  void credentials_changed();

  [[nodiscard]] RefresherStatus status() const;
  // Ready while a token with life left is in place.
  [[nodiscard]] Status ready(SystemTime now) const;
  // Whether a valid token has been delivered (for --once and exec).
  [[nodiscard]] bool has_valid_token(SystemTime now) const;
  // Sets the seconds-to-expiry gauge (called before /metrics renders).
  void update_gauges(SystemTime now);

 private:
  SystemTime plan_refresh(SystemTime now);
  SystemTime on_failure(SystemTime now, const Error& error);
  SystemTime on_token(SystemTime now, FetchResult result);
  bool deliver(const Delivery& delivery, SystemTime now);
  [[nodiscard]] Labels labels(Labels extra = {}) const;
  void mark_expired(const char* why = "the token expired with no replacement; readiness now fails");
  void set_provider_state(bool ready, std::string reason, std::string message,
                          std::optional<SystemTime> until);
  SystemTime wake_bound(SystemTime t) const;  // never sleep past the current token's expiry
  [[nodiscard]] bool valid_locked(SystemTime now) const;

  TokenSource& source_;
  TokenSink& sink_;
  Random& random_;
  Logger logger_;
  RefresherOptions options_;

  Counter& refreshes_;
  Counter& failures_;
  Counter& penalties_;
  Gauge& expiry_seconds_;
  Gauge& skew_gauge_;
  Gauge& valid_gauge_;

  mutable std::mutex mu_;  // guards everything below. step() runs on the run loop and holds it
                           // except during the fetch; status and readiness are read from
                           // server threads; credentials_changed from a watcher's.
  std::optional<AccessToken> current_;  // the token delivered (Valid) or the last one (Expired)
  SystemTime current_local_expiry_ = SystemTime::min();
  std::optional<Delivery> unwritten_;  // fetched but not yet taken by the sink (disk full)
  bool unwritten_renewed_ = false;     // ... and whether it came from a renewal
  std::chrono::system_clock::duration skew_{0};
  SystemTime refresh_at_ = SystemTime::min();
  SystemTime checked_at_ = SystemTime::min();  // the last fetch (for options_.recheck)
  SystemTime next_attempt_ = SystemTime::min();
  // No request before this, whatever happens (Retry-After, a lockout, a penalty, the request
  // budget): a credentials change or a rotation does not cut it short.
  SystemTime hold_until_ = SystemTime::min();
  bool force_ = false;
  bool needs_person_ = false;
  bool blocked_ = false;  // credentials rejected or incomplete: wait for new ones
  bool inactive_ = false;
  bool expired_unwritten_ = false;  // the files could not be told the token expired
  RefresherStatus status_;
};

}  // namespace keyward
