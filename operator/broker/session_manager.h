#pragma once
// SessionManager: which upstream sessions the broker runs, kept in line with the operator's
// caches (ApiKeys and Secrets, the informers of OperatorManager).
//
// A session runs for an ApiKey while, and only while: this replica leads; the ApiKey exists,
// parses and is active; spec.tokenExchange.provider is tradovate or oauth2ClientCredentials;
// its key Secret keyward-<name> has a key; and the credentials Secret, when one is named,
// exists. sync(key) moves one key to that state (start, update credentials, restart on a changed
// tokenExchange, stop); the operator calls it for every event that enqueues the key, so a
// session starts when the ApiKey appears (the first sidecar does not wait a login), a rotation
// reaches it at once, and an inactive or deleted ApiKey's token is dropped from memory at once.
//
// lookup() is what a GET reads: it never calls the provider.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/kube/informer.h"
#include "operator/broker/session.h"

namespace keyward::broker {

struct TokenLookup {
  enum class Kind {
    Token,       // token is set
    NotLeading,  // a standby replica: ask again (the Service may route to the leader)
    NoApiKey,    // no such ApiKey
    Inactive,    // spec.active false
    NoExchange,  // provider none: nothing to broker
    NoToken,     // a session without a token yet (or waiting for its Secrets): retry later
  };
  Kind kind = Kind::NoToken;
  AccessToken token;
  // Kind::Token: the key version the session runs on now (the key Secret's). The token may be
  // older for a moment after a rotation, until the session has logged in with the new key.
  std::int64_t key_version = 0;
  std::string message;  // why there is no token; never secret
};

class SessionManager {
 public:
  // run_sessions: start each session's run loop (false in tests that step sessions by hand).
  SessionManager(const kube::Store& apikeys, const kube::Store& secrets, SessionDeps deps,
                 bool run_sessions = true);
  ~SessionManager();
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // The ApiKey "namespace/name" or one of its Secrets changed (or a pod: a no-op then).
  void sync(const std::string& key);
  // Leadership changed: leading starts every session the caches call for; losing it stops all.
  void set_leading(bool leading);
  void stop_all();

  [[nodiscard]] TokenLookup lookup(const std::string& key, SystemTime now) const;
  [[nodiscard]] std::size_t session_count() const;
  // Sets keyward_broker_sessions{state=valid|waiting} (a token's validity changes with time:
  // called on every sync and every request).
  void update_gauge(SystemTime now) const;
  [[nodiscard]] std::size_t sessions_with_token(SystemTime now) const;
  // The session of a key, for tests (null when none). Valid until the next sync of that key.
  [[nodiscard]] Session* session(const std::string& key) const;

 private:
  struct Desired {
    std::optional<SessionConfig> config;  // nullopt: no session
    TokenLookup::Kind without = TokenLookup::Kind::NoApiKey;
    std::string message;
    // The key Secret is there but cannot be opened now (a KEK problem the operator reports as
    // Degraded): a running session keeps its token and credentials rather than being stopped.
    bool keep_running_session = false;
  };
  Desired desired(const std::string& key) const;
  // A key left without a session loses its published provider state (and is enqueued).
  void forget_state_without_session(const std::string& key);

  const kube::Store& apikeys_;
  const kube::Store& secrets_;
  SessionDeps deps_;
  bool run_sessions_;
  Gauge& sessions_gauge_;
  static constexpr std::chrono::seconds kBudgetGaugeInterval{10};
  mutable std::mutex mu_;  // guards leading_, sessions_, reasons_ and budgets_updated_ (not the
                           // sessions' insides)
  mutable SystemTime budgets_updated_{};  // when update_gauge last refreshed the budget gauges
  bool leading_ = false;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
  std::map<std::string, std::pair<TokenLookup::Kind, std::string>> reasons_;  // keys w/o session
};

}  // namespace keyward::broker
