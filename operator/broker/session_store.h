#pragma once
// Where an upstream session outlives the broker leader that holds it (docs/operator.md, "Broker
// failover"). With Tradovate's 2 sessions per user and about 5 logins per hour, a leader change
// that logs in again costs a login (and may close a session someone else holds); a flapping
// leader could spend the hour's budget. So the leader stores each session's current token, and a
// new leader continues it with a renewal, logging in only when the renewal is refused.
//
// SecretSessionStore keeps one Secret per ApiKey, `keyward.session.<apikey>` (a name no key Secret
// `keyward-<apikey>` can take), owned by the ApiKey, labelled keyward.dev/apikey, whose
// data.session is the token record sealed like key material (docs/sealing.md; field "session",
// bound to the key version the token was obtained with). Written only when the token changes.
// Never stored unsealed: without a KEK there is no store, and a new leader logs in.

#include <optional>
#include <string>

#include "common/core/log.h"
#include "common/kube/kube_api.h"
#include "common/token/token_source.h"
#include "operator/apikey/key_sealer.h"

namespace keyward::broker {

// The ApiKey a stored session belongs to.
struct SessionOwner {
  std::string ns;
  std::string name;
  std::string uid;
};

class SessionStore {
 public:
  SessionStore() = default;
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;
  virtual ~SessionStore() = default;
  // Stores a Valid delivery. A failure is logged, never fatal: the next token is stored again.
  virtual void save(const SessionOwner& owner, const Delivery& delivery) = 0;
  // The stored session, if there is one that opens for this ApiKey.
  virtual std::optional<Delivery> load(const SessionOwner& owner) = 0;
};

class SecretSessionStore final : public SessionStore {
 public:
  SecretSessionStore(kube::KubeApi& api, const apikey::KeySealer& sealer, Logger logger);
  void save(const SessionOwner& owner, const Delivery& delivery) override;
  std::optional<Delivery> load(const SessionOwner& owner) override;

  [[nodiscard]] static std::string secret_name(const std::string& apikey);

 private:
  kube::KubeApi& api_;
  const apikey::KeySealer& sealer_;
  Logger logger_;
};

}  // namespace keyward::broker
