#include "common/io/random.h"

#include <openssl/rand.h>

#include <array>

namespace keyward {

SystemRandom::SystemRandom() {
  std::array<unsigned char, 8> bytes{};
  std::uint64_t seed = 0;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1) {
    for (unsigned char b : bytes) seed = (seed << 8) | b;
  } else {
    std::random_device rd;
    seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }
  engine_.seed(seed);
}

double SystemRandom::uniform01() {
  std::lock_guard lock(mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
}

}  // namespace keyward
