#pragma once
#include "common/io/random.h"

namespace keyward::testing {

// Returns the value a test chose (0 by default: no jitter, the shortest backoff).
class FakeRandom final : public Random {
 public:
  explicit FakeRandom(double value = 0) : value_(value) {}
  double uniform01() override { return value_; }
  void set(double v) { value_ = v; }

 private:
  double value_;
};

}  // namespace keyward::testing
