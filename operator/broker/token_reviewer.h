#pragma once
// TokenReviewer: who is calling the broker, per the API server (authentication.k8s.io/v1
// TokenReview, created through KubeApi). Answers are cached by the SHA-256 of the token (the
// token itself is never kept): positive ones for `positive_ttl` (60 s), negative ones for
// `negative_ttl` (10 s) so a bad token cannot make the broker hammer the API server. The cache
// is bounded (`max_entries`; the oldest entries go first).

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/kube/kube_api.h"

namespace keyward::broker {

struct ReviewedCaller {
  bool authenticated = false;
  std::string username;  // system:serviceaccount:<ns>:<sa>
  std::string uid;
  std::vector<std::string> groups;
  std::string pod_name;  // extra authentication.kubernetes.io/pod-name (bound tokens)
  std::string pod_uid;   // extra authentication.kubernetes.io/pod-uid
  std::string error;     // status.error of an unauthenticated review
};

struct TokenReviewOptions {
  Seconds positive_ttl{60};
  Seconds negative_ttl{10};
  std::size_t max_entries = 4096;
  std::vector<std::string> audiences;  // spec.audiences; empty: the API server's
};

class TokenReviewer {
 public:
  TokenReviewer(kube::KubeApi& api, const Clock& clock, MetricsRegistry& metrics, Logger logger,
                TokenReviewOptions options = {});

  // The review of a bearer token: from the cache, or one TokenReview create. An Error only when
  // the API server could not answer (then nothing is cached).
  Result<ReviewedCaller> review(const std::string& token);
  [[nodiscard]] std::size_t cache_size() const;

  static std::string token_hash(const std::string& token);  // SHA-256, hex

 private:
  struct Entry {
    ReviewedCaller caller;
    SystemTime expires;
  };
  kube::KubeApi& api_;
  const Clock& clock_;
  Logger logger_;
  TokenReviewOptions options_;
  Counter& reviews_;
  mutable std::mutex mu_;  // guards cache_
  std::map<std::string, Entry> cache_;
};

}  // namespace keyward::broker
