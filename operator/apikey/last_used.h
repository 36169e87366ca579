#pragma once
// LastUsedTimes: when a sidecar last fetched each ApiKey's token from the broker, as the
// reconciler publishes it in status.lastUsedTime. The broker records every successful fetch;
// the published time moves only when it is at least `granularity` (a minute) past the one
// published before, so busy fleets cause at most one status write per key per minute.
// record() says when the published time moved (the caller then enqueues the key).

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/core/clock.h"

namespace keyward::apikey {

class LastUsedTimes {
 public:
  explicit LastUsedTimes(Seconds granularity = Seconds(60)) : granularity_(granularity) {}

  // A fetch of key ("namespace/name") at t. True when the published time moved.
  bool record(const std::string& key, SystemTime t) {
    std::lock_guard lock(mu_);
    auto& e = entries_[key];
    e.latest = t;
    if (e.published && t - *e.published < granularity_) return false;
    e.published = t;
    return true;
  }
  [[nodiscard]] std::optional<SystemTime> published(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    return it == entries_.end() ? std::nullopt : it->second.published;
  }
  void forget(const std::string& key) {
    std::lock_guard lock(mu_);
    entries_.erase(key);
  }

 private:
  struct Entry {
    SystemTime latest{};
    std::optional<SystemTime> published;
  };
  Seconds granularity_;
  mutable std::mutex mu_;  // guards entries_
  std::map<std::string, Entry> entries_;
};

}  // namespace keyward::apikey
