#include "common/kube/backoff.h"

#include <algorithm>
#include <cmath>

namespace keyward::kube {

Backoff::Backoff(const Clock& clock, Random& random, BackoffOptions options)
    : clock_(clock), random_(random), options_(options) {}

std::chrono::milliseconds Backoff::next() {
  const SystemTime now = clock_.now();
  if (attempts_ > 0 && now - last_failure_ >= options_.reset_after) attempts_ = 0;
  last_failure_ = now;
  const double base = static_cast<double>(options_.initial.count()) *
                      std::pow(options_.factor, std::min(attempts_, 60));
  const double cap = static_cast<double>(options_.max.count());
  const double scale = 1.0 - options_.jitter + 2.0 * options_.jitter * random_.uniform01();
  const double delay = std::clamp(std::min(base, cap) * scale, 0.0, cap);
  ++attempts_;
  return std::chrono::milliseconds(static_cast<std::int64_t>(delay));
}

void Backoff::reset() { attempts_ = 0; }

}  // namespace keyward::kube
