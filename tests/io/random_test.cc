#include "common/io/random.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

TEST(SystemRandomTest, ValuesInUnitIntervalAndSpread) {
  SystemRandom r;
  double lo = 1, hi = 0;
  for (int i = 0; i < 1000; ++i) {
    const double v = r.uniform01();
    ASSERT_GE(v, 0.0);
    ASSERT_LT(v, 1.0);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_LT(lo, 0.1);
  EXPECT_GT(hi, 0.9);
}

TEST(SystemRandomTest, TwoInstancesAreSeededDifferently) {
  SystemRandom a, b;
  EXPECT_NE(a.uniform01(), b.uniform01());
}

}  // namespace
}  // namespace keyward
