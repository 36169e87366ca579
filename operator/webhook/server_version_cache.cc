#include "operator/webhook/server_version_cache.h"

namespace keyward::webhook {

ServerVersionCache::ServerVersionCache(kube::KubeApi& api, const Clock& clock, Logger logger,
                                       std::chrono::seconds ttl, ServerVersion fallback)
    : api_(api), clock_(clock), logger_(std::move(logger)), ttl_(ttl), fallback_(fallback) {}

ServerVersion ServerVersionCache::get() {
  std::lock_guard lock(mu_);
  const SystemTime now = clock_.now();
  if (cached_ && now - fetched_at_ < ttl_) return *cached_;
  auto answer = api_.get_path("/version");
  Result<ServerVersion> parsed = answer ? server_version_from_json(*answer) : fail(answer.error());
  if (parsed) {
    if (!cached_ || !(*cached_ == *parsed)) {
      logger_.info("API server version", {{"version", parsed->to_string()},
                                          {"nativeSidecars", parsed->supports_native_sidecars()}});
    }
    cached_ = *parsed;
    fetched_at_ = now;
    return *cached_;
  }
  ServerVersion use = cached_ ? *cached_ : fallback_;
  logger_.warn("could not read the API server version; using the last known or the fallback",
               {{"reason", parsed.error().reason},
                {"error", parsed.error().message},
                {"using", use.to_string()}});
  return use;
}

}  // namespace keyward::webhook
