#pragma once
// Provider "none": no exchange. The key itself (with its secret and passphrase) is delivered,
// for exchanges that sign each request with the key. It never expires; a new one arrives when
// the operator rotates the key.

#include "common/core/clock.h"
#include "common/token/token_provider.h"

namespace keyward {

class StaticKeyProvider final : public TokenProvider {
 public:
  explicit StaticKeyProvider(const Clock& clock) : clock_(clock) {}
  [[nodiscard]] std::string name() const override { return "none"; }
  Result<TokenGrant> request(const Credentials& credentials,
                             const std::optional<std::string>& penalty_ticket = {}) override;

 private:
  const Clock& clock_;
};

}  // namespace keyward
