#pragma once
// The API server's version, read from KubeApi::get_path("/version") and cached for `ttl`
// (an upgrade from 1.28 to 1.29 is noticed within the ttl). When the API server cannot be asked
// and nothing is cached, the fallback (1.28: classic sidecars, which work on every supported
// version) is used and the failure logged: injection never blocks on /version.

#include <chrono>
#include <mutex>
#include <optional>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/kube/kube_api.h"
#include "operator/webhook/server_version.h"

namespace keyward::webhook {

class ServerVersionCache {
 public:
  ServerVersionCache(kube::KubeApi& api, const Clock& clock, Logger logger,
                     std::chrono::seconds ttl = std::chrono::minutes(10),
                     ServerVersion fallback = ServerVersion{1, 28});

  ServerVersion get();

 private:
  kube::KubeApi& api_;
  const Clock& clock_;
  Logger logger_;
  std::chrono::seconds ttl_;
  ServerVersion fallback_;
  std::mutex mu_;  // guards cached_ and fetched_at_
  std::optional<ServerVersion> cached_;
  SystemTime fetched_at_{};
};

}  // namespace keyward::webhook
