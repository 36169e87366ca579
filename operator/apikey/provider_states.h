#pragma once
// ProviderStates: what each broker session last heard from its provider, as the reconciler
// publishes it in the ApiKey's ProviderReady condition (docs/operator.md, "Provider limits").
// The broker's sessions set() it after every step; set() says when the state changed (the
// caller then enqueues the key), so an unchanged state costs no status write.

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/token/token_refresher.h"

namespace keyward::apikey {

class ProviderStates {
 public:
  // The state of key ("namespace/name"). True when it differs from the one before.
  bool set(const std::string& key, const ProviderState& state) {
    std::lock_guard lock(mu_);
    auto [it, inserted] = states_.try_emplace(key, state);
    if (inserted) return true;
    if (it->second == state) return false;
    it->second = state;
    return true;
  }
  [[nodiscard]] std::optional<ProviderState> get(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = states_.find(key);
    return it == states_.end() ? std::nullopt : std::optional(it->second);
  }
  // The key has no session any more (stopped, deleted, inactive, standby). True when it had one.
  bool forget(const std::string& key) {
    std::lock_guard lock(mu_);
    return states_.erase(key) > 0;
  }

 private:
  mutable std::mutex mu_;  // guards states_
  std::map<std::string, ProviderState> states_;
};

}  // namespace keyward::apikey
