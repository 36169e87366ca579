#pragma once
// Randomness behind a small interface: jitter for refresh times and backoff. Tests pass a fake
// that returns chosen values; production uses SystemRandom.

#include <cstdint>
#include <mutex>
#include <random>

namespace keyward {

class Random {
 public:
  Random() = default;
  Random(const Random&) = delete;
  Random& operator=(const Random&) = delete;
  virtual ~Random() = default;

  // A value in [0, 1).
  virtual double uniform01() = 0;
};

// A Mersenne Twister seeded once from OpenSSL's RAND_bytes (std::random_device as a fallback).
// Jitter needs no cryptographic strength, only different seeds in different pods.
class SystemRandom final : public Random {
 public:
  SystemRandom();
  double uniform01() override;

 private:
  std::mutex mu_;  // guards engine_
  std::mt19937_64 engine_;
};

}  // namespace keyward
