#pragma once
// New key material for the `generate` source: the prefix plus `length` characters drawn
// uniformly from the alphabet with OpenSSL's CSPRNG. Uniform means rejection sampling: a random
// byte is used only when it falls below the largest multiple of the alphabet size that fits in a
// byte, so no character is more likely than another (no modulo bias).

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "common/core/result.h"
#include "operator/apikey/apikey.h"

namespace keyward::apikey {

// The characters of each alphabet.
[[nodiscard]] std::string_view alphabet_chars(Alphabet alphabet);

// A source of random bytes (OpenSSL's RAND_bytes in production; scripted bytes in tests).
class RandomBytes {
 public:
  RandomBytes() = default;
  RandomBytes(const RandomBytes&) = delete;
  RandomBytes& operator=(const RandomBytes&) = delete;
  virtual ~RandomBytes() = default;
  // Fills `out` completely or returns Error{"KeyGenerationFailed", ...}.
  virtual Status fill(std::span<unsigned char> out) = 0;
};

class OpenSslRandomBytes final : public RandomBytes {
 public:
  Status fill(std::span<unsigned char> out) override;
};

class KeyGenerator {
 public:
  KeyGenerator() = default;
  KeyGenerator(const KeyGenerator&) = delete;
  KeyGenerator& operator=(const KeyGenerator&) = delete;
  virtual ~KeyGenerator() = default;
  // prefix + length characters of the alphabet. Error{"KeyGenerationFailed", ...} when the
  // random source fails; the message never contains key material.
  virtual Result<std::string> generate(const GenerateSource& spec) = 0;
};

class OpenSslKeyGenerator final : public KeyGenerator {
 public:
  OpenSslKeyGenerator();                              // RAND_bytes
  explicit OpenSslKeyGenerator(RandomBytes& random);  // not owned; tests script the bytes
  Result<std::string> generate(const GenerateSource& spec) override;

 private:
  OpenSslRandomBytes own_random_;
  RandomBytes* random_;  // own_random_ or the one passed in
};

// Lower-case hex SHA-256 of `key` (OpenSSL EVP): the Secret's keyward.dev/content-hash annotation,
// and how a secretRef source notices that the user changed the key.
// Error{"HashFailed", ...} only when OpenSSL itself fails.
[[nodiscard]] Result<std::string> content_hash(std::string_view key);

}  // namespace keyward::apikey
