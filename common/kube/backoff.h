#pragma once
// Backoff: how long to wait before retrying a failed watch or request. Exponential (initial *
// factor^n, capped), with jitter from an injected Random so that many pods do not retry in
// step, and reset to the initial delay once nothing failed for reset_after (after kube-rs'
// DefaultBackoff: 800ms, x2, 30s cap, reset after 120s). Time comes from the Clock.
// Not thread-safe: one owner (a watch loop) uses it.

#include <chrono>

#include "common/core/clock.h"
#include "common/io/random.h"

namespace keyward::kube {

struct BackoffOptions {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{std::chrono::seconds(30)};
  double factor = 2.0;
  double jitter = 0.5;  // each delay is scaled by a uniform factor in [1 - jitter, 1 + jitter]
  std::chrono::seconds reset_after{120};
};

class Backoff {
 public:
  Backoff(const Clock& clock, Random& random, BackoffOptions options = {});

  // The delay before the next attempt. A failure more than reset_after after the previous one
  // starts again from initial.
  std::chrono::milliseconds next();
  void reset();
  [[nodiscard]] int attempts() const { return attempts_; }

 private:
  const Clock& clock_;
  Random& random_;
  BackoffOptions options_;
  int attempts_ = 0;
  SystemTime last_failure_{};
};

}  // namespace keyward::kube
