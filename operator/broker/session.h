#pragma once
// Session: the broker's one upstream session for one ApiKey (docs/operator.md, "Token broker").
//
// A Session owns the provider client (TradovateProvider or OAuth2ClientCredentialsProvider, the
// same code as the sidecar's direct mode), a ProviderTokenSource (renewal first, penalty
// tickets, login after a credentials change) and the shared TokenRefresher (refresh at
// expiry - lead - jitter, backoff, skew, captcha stop). The refresher delivers into a TokenSlot
// in memory; GET requests read the slot and never call the provider.
//
//   auto s = Session::create(config, deps);   // Result<std::unique_ptr<Session>>
//   s->start();                               // run loop: step, sleep until the next due time
//   s->token(clock.now());                    // the token to serve, if any
//   s->update_credentials(new_credentials);   // rotation: wipe, log in with the new key now
//   s.reset();                                // stop, wipe the token
//
// Rotation: a new key (or key version) wipes the token from the slot at once, so no client gets
// a token of the old key any more, and the next step logs in with the new key (never a renewal
// of the old session). Other credential changes (password, clientId) log in again too but keep
// serving the old token until the new one is there.
//
// Limits: the provider is called through a BudgetedProvider spending from its upstream
// account's RequestBudget (Tradovate: 5 logins, 15 renewals per rolling hour), and every step
// publishes the refresher's ProviderState (ProviderReady on the ApiKey).
//
// Failover: with a SessionStore every new token is stored (sealed), and a session's first step
// (a new leader) adopts a stored token that still lives and was obtained with the same
// credentials: it serves it at once and renews it when due, so a leader change costs no login.
// The store is read and written in step(), outside the manager's and the refresher's locks.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/io/random.h"
#include "common/token/provider_limits.h"
#include "common/token/provider_token_source.h"
#include "common/token/token_provider.h"
#include "common/token/token_refresher.h"
#include "operator/apikey/apikey.h"
#include "operator/apikey/key_material.h"
#include "operator/apikey/key_sealer.h"
#include "operator/apikey/provider_states.h"
#include "operator/broker/session_store.h"

namespace keyward::broker {

// The in-memory sink: holds the one token the broker serves for a key. Expired or Inactive
// deliveries empty it.
class TokenSlot final : public TokenSink {
 public:
  Status deliver(const Delivery& delivery) override;
  [[nodiscard]] std::optional<AccessToken> current() const;
  void wipe();

 private:
  mutable std::mutex mu_;  // guards token_
  std::optional<AccessToken> token_;
};

struct SessionConfig {
  std::string ns;
  std::string name;
  apikey::TokenExchangeSpec exchange;  // provider tradovate or oauth2ClientCredentials
  Credentials credentials;             // key_version set: the version of credentials.api_key
  std::string uid;                     // the ApiKey's metadata.uid (the stored session's owner)

  bool operator==(const SessionConfig&) const = default;
};

struct SessionDeps {
  Clock& clock;
  Random& random;
  MetricsRegistry& metrics;
  Logger logger;
  // A client for the provider's endpoint, trusting spec.tokenExchange.caBundle when set.
  HttpTransportFactory transports;
  RefresherOptions refresher;  // backoff etc.; lead comes from the spec
  // The request budgets per upstream account, shared by all sessions (a session restarted by a
  // spec change keeps its account's last hour); null: each session has its own.
  RequestBudgets* budgets = nullptr;
  // Where each step publishes the provider's state (ProviderReady); null: nowhere.
  apikey::ProviderStates* provider_states = nullptr;
  // Called with "namespace/name" when the published state changed (the operator enqueues it).
  std::function<void(const std::string&)> on_provider_state;
  // Opens the sealed key Secrets (docs/sealing.md); null: they are read as plain base64.
  const apikey::KeySealer* sealer = nullptr;
  // Where sessions outlive their leader (session_store.h); null: a new leader logs in again.
  SessionStore* store = nullptr;
};

// The refresher's sink in a session: the slot the broker serves from, and the store a new leader
// continues from (each new token once). deliver() runs under the refresher's lock, so it only
// notes the token; store_pending() writes it to the API server afterwards, outside every lock.
class StoringSink final : public TokenSink {
 public:
  StoringSink(TokenSlot& slot, SessionStore* store, SessionOwner owner)
      : slot_(slot), store_(store), owner_(std::move(owner)) {}
  Status deliver(const Delivery& delivery) override;
  void store_pending();

 private:
  TokenSlot& slot_;
  SessionStore* store_;
  SessionOwner owner_;
  std::mutex mu_;                    // guards pending_ and last_stored_
  std::optional<Delivery> pending_;  // a new token not stored yet
  std::string last_stored_;          // the token stored last
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(SessionConfig config, SessionDeps deps);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs the refresher on its own thread until stop() (or destruction).
  void start();
  // Wipes the token from memory, then stops the run loop (waits for a request in flight), and
  // drops the session's gauges (token validity, expiry, skew, budget): a stopped session reports
  // nothing rather than its last token for ever.
  void stop();
  // Sets keyward_broker_upstream_requests_last_hour / _per_hour_limit{namespace, name, kind} from
  // the account's budget (shared by the sessions of one upstream account). Each step calls it,
  // and the session manager at most every 10 s while the broker answers.
  void update_budget_gauges(SystemTime now) const;
  // One step of the run loop (tests drive it with a FakeClock instead of start()).
  SystemTime step(SystemTime now);

  // New credentials from the Secrets. Returns true when they differ from the current ones.
  bool update_credentials(const Credentials& credentials);

  // The token to serve: a delivered token with life left at `now`, else nullopt.
  [[nodiscard]] std::optional<AccessToken> token(SystemTime now) const;
  [[nodiscard]] RefresherStatus status() const { return refresher_->status(); }
  [[nodiscard]] const SessionConfig& config() const { return config_; }
  [[nodiscard]] std::int64_t key_version() const;

 private:
  Session(SessionConfig config, SessionDeps deps);
  Status build();
  void run(std::stop_token stop);

  SessionConfig config_;  // credentials here are the initial ones; creds_ holds the current
  SessionDeps deps_;
  mutable std::mutex creds_mu_;  // guards creds_
  Credentials creds_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<TokenProvider> upstream_;  // the provider client
  std::unique_ptr<TokenProvider> provider_;  // ... behind its account's request budget
  std::shared_ptr<RequestBudget> budget_;    // that budget, for its gauges
  std::unique_ptr<ProviderTokenSource> source_;
  TokenSlot slot_;
  std::unique_ptr<StoringSink> sink_;
  std::unique_ptr<TokenRefresher> refresher_;
  bool store_checked_ = false;  // the stored session was looked at (first step; run thread only)
  Wakeup wakeup_;
  std::jthread loop_;
};

// The Credentials of a session from the ApiKey, its key material (the key Secret's current
// fields and version) and the user's credentials Secret data (decoded; may be empty). The key
// Secret's fields win over the credentials Secret's. Field names: docs/contracts.md.
// deviceId: the credentials Secret's, else "keyward-<ApiKey uid>" (stable per ApiKey).
Credentials session_credentials(const apikey::ApiKey& key, const apikey::KeyMaterial& material,
                                std::int64_t key_version,
                                const std::map<std::string, std::string>& login_fields_data);

}  // namespace keyward::broker
