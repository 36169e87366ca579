#pragma once
// SecretReferences: which ApiKeys name which Secrets (spec.source.secretRef, the credentials
// Secret, an http source's seed Secret: apikey::referenced_secrets, the one reader of the spec),
// kept current from the ApiKey informer's events. A Secret event then finds its ApiKeys in
// O(log n), instead of parsing every ApiKey of its namespace (which made a start over thousands
// of keys in one namespace quadratic). Called from the ApiKey and Secret informer threads.

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/kube/informer.h"
#include "operator/apikey/apikey.h"

namespace keyward::controller {

class SecretReferences {
 public:
  // An ApiKey was added or changed: its references replace the ones it had.
  void set(const kube::Object& apikey) {
    const std::string key = kube::object_key(apikey);
    const std::string ns = kube::metadata_string(apikey, "namespace");
    std::vector<std::string> secrets;
    for (const auto& name : apikey::referenced_secrets(apikey)) secrets.push_back(ns + "/" + name);
    std::lock_guard lock(mu_);
    drop_locked(key);
    for (const auto& secret : secrets) by_secret_[secret].insert(key);
    by_apikey_[key] = std::move(secrets);
  }

  void remove(const kube::Object& apikey) {
    std::lock_guard lock(mu_);
    drop_locked(kube::object_key(apikey));
  }

  // The ApiKeys ("namespace/name") that name Secret `name` in `ns`.
  [[nodiscard]] std::vector<std::string> apikeys_for(const std::string& ns,
                                                     const std::string& name) const {
    std::lock_guard lock(mu_);
    const auto it = by_secret_.find(ns + "/" + name);
    if (it == by_secret_.end()) return {};
    return {it->second.begin(), it->second.end()};
  }

 private:
  void drop_locked(const std::string& key) {
    const auto it = by_apikey_.find(key);
    if (it == by_apikey_.end()) return;
    for (const auto& secret : it->second) {
      const auto refs = by_secret_.find(secret);
      if (refs == by_secret_.end()) continue;
      refs->second.erase(key);
      if (refs->second.empty()) by_secret_.erase(refs);
    }
    by_apikey_.erase(it);
  }

  mutable std::mutex mu_;                                      // guards both maps
  std::map<std::string, std::set<std::string>> by_secret_;     // "ns/secret" -> ApiKey keys
  std::map<std::string, std::vector<std::string>> by_apikey_;  // ApiKey key -> "ns/secret"s
};

}  // namespace keyward::controller
