#include "operator/apikey/key_generator.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <memory>
#include <vector>

#include "common/core/hex.h"

namespace keyward::apikey {
namespace {

struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;

}  // namespace

std::string_view alphabet_chars(Alphabet alphabet) {
  switch (alphabet) {
    case Alphabet::Hex:
      return "0123456789abcdef";
    case Alphabet::Base32:
      return "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";  // RFC 4648
    case Alphabet::Base62:
    default:
      return "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  }
}

Status OpenSslRandomBytes::fill(std::span<unsigned char> out) {
  if (out.empty()) return ok();
  if (out.size() > static_cast<std::size_t>(INT_MAX) ||
      RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return fail(std::string(reason::kKeyGenerationFailed),
                "OpenSSL RAND_bytes failed to produce random bytes; the system's entropy source "
                "may be unavailable");
  }
  return ok();
}

OpenSslKeyGenerator::OpenSslKeyGenerator() : random_(&own_random_) {}

OpenSslKeyGenerator::OpenSslKeyGenerator(RandomBytes& random) : random_(&random) {}

Result<std::string> OpenSslKeyGenerator::generate(const GenerateSource& spec) {
  const std::string_view chars = alphabet_chars(spec.alphabet);
  if (spec.length <= 0) {
    return fail(
        std::string(reason::kInvalidSpec),
        "spec.source.generate.length: must be positive, got " + std::to_string(spec.length));
  }
  const auto wanted = static_cast<std::size_t>(spec.length);
  // Bytes at or above `limit` would make the first (256 % size) characters more likely: drop them.
  const unsigned limit = 256U - (256U % static_cast<unsigned>(chars.size()));
  std::string key = spec.prefix;
  key.reserve(spec.prefix.size() + wanted);
  std::vector<unsigned char> buffer(wanted + 16);
  // Each byte is accepted with probability >= 0.75, so a handful of refills is the normal worst
  // case; the bound only catches a broken source that keeps returning rejected bytes.
  for (int round = 0; round < 1000 && key.size() < spec.prefix.size() + wanted; ++round) {
    if (auto s = random_->fill(buffer); !s) return fail(s.error());
    for (unsigned char b : buffer) {
      if (b >= limit) continue;
      key.push_back(chars[b % chars.size()]);
      if (key.size() == spec.prefix.size() + wanted) break;
    }
  }
  if (key.size() != spec.prefix.size() + wanted) {
    return fail(std::string(reason::kKeyGenerationFailed),
                "the random source kept returning unusable bytes; no key was generated");
  }
  return key;
}

Result<std::string> content_hash(std::string_view key) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), key.data(), key.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &digest_len) != 1) {
    return fail("HashFailed", "OpenSSL could not compute a SHA-256 digest");
  }
  return lower_hex(digest.data(), digest_len);
}

}  // namespace keyward::apikey
