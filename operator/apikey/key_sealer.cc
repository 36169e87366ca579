#include "operator/apikey/key_sealer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <memory>
#include <optional>

#include "common/core/base64.h"
#include "common/core/sealed_envelope.h"

namespace keyward::apikey {
namespace {

constexpr std::string_view kFormat = kSealedEnvelopeFormat;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

std::string associated_data(const SealBinding& b) {
  return "keyward.dev sealed key v1\n" + b.ns + "\n" + b.apikey + "\n" + b.uid + "\n" + b.field +
         "\n" + std::to_string(b.version);
}

struct Envelope {
  std::string kek_id;
  std::string check;
  std::string payload;  // nonce | ciphertext | tag
};

std::optional<Envelope> parse_envelope(std::string_view text) {
  std::array<std::string_view, 4> parts;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    parts[i] = text.substr(0, dot);
    text.remove_prefix(dot + 1);
  }
  parts[3] = text;
  if (parts[0] != kFormat || !valid_kek_id(parts[1]) || parts[2].size() != 16) return std::nullopt;
  auto payload = base64_decode(parts[3]);
  if (!payload || payload->size() < kNonceSize + kTagSize) return std::nullopt;
  return Envelope{std::string(parts[1]), std::string(parts[2]), std::move(*payload)};
}

Error sealing_failed(const SealBinding& b) {
  return Error{"SealingFailed",
               "OpenSSL could not seal " + b.describe() +
                   "; nothing was written (the operator retries; check its OpenSSL installation)",
               0};
}

std::string kek_list(const KekRing& ring) {
  std::string out;
  for (const auto& id : ring.ids()) out += (out.empty() ? "" : ", ") + id;
  return out;
}

}  // namespace

std::string SealBinding::describe() const {
  return "field " + field + " (key version " + std::to_string(version) + ") of ApiKey " + ns + "/" +
         apikey;
}

KeySealer::KeySealer(const KekDirectory& keks, RandomBytes& random)
    : keks_(keks), random_(random) {}

bool KeySealer::is_envelope(std::string_view value) { return is_sealed_envelope(value); }

Result<std::string> KeySealer::primary_id() const {
  auto ring = keks_.ring();
  if (!ring) return fail(ring.error());
  return (*ring)->primary().id();
}

Result<std::string> KeySealer::seal(std::string_view plaintext, const SealBinding& binding) const {
  auto ring = keks_.ring();
  if (!ring) return fail(ring.error());
  const Kek& kek = (*ring)->primary();
  std::array<unsigned char, kNonceSize> nonce{};
  if (auto s = random_.fill(nonce); !s) return fail(sealing_failed(binding));
  const std::string aad = associated_data(binding);

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  // nonce | ciphertext | tag, built in place.
  std::string buffer(reinterpret_cast<const char*>(nonce.data()), kNonceSize);
  buffer.resize(kNonceSize + plaintext.size() + kTagSize);
  auto* out = reinterpret_cast<unsigned char*>(buffer.data());
  int len = 0;
  int total = 0;
  const bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, kek.bytes(), nonce.data()) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), out + kNonceSize, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) == 1 &&
      (total = len, EVP_EncryptFinal_ex(ctx.get(), out + kNonceSize + total, &len) == 1) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                          out + kNonceSize + plaintext.size()) == 1;
  if (!ok) {
    return fail(sealing_failed(binding));
  }
  std::string envelope =
      std::string(kFormat) + "." + kek.id() + "." + kek.check() + "." + base64_encode(buffer);
  return envelope;
}

Result<OpenedField> KeySealer::open(std::string_view text, const SealBinding& binding) const {
  auto envelope = parse_envelope(text);
  if (!envelope) {
    return fail(std::string(reason::kSealedDataTampered),
                binding.describe() +
                    " is not a valid sealed envelope (damaged or edited by hand); restore the "
                    "Secret from a backup, or delete it so the operator issues a new key (a "
                    "secretRef or http key must then be supplied again)");
  }
  auto ring = keks_.ring();
  if (!ring) {
    return fail(std::string(reason::kKekMissing),
                binding.describe() + " is sealed with KEK " + envelope->kek_id +
                    ", and the operator has no KEK (" + ring.error().message +
                    "); mount the KEK Secret that holds it. Nothing is rotated or overwritten "
                    "until then");
  }
  const Kek* kek = (*ring)->find(envelope->kek_id);
  if (kek == nullptr) {
    return fail(std::string(reason::kKekMissing),
                binding.describe() + " is sealed with KEK " + envelope->kek_id +
                    ", which is not in " + keks_.dir() + " (it has " + kek_list(**ring) +
                    "); add that KEK back to the KEK Secret. Nothing is rotated or overwritten "
                    "until then");
  }
  if (kek->check() != envelope->check) {
    return fail(std::string(reason::kKekWrong),
                binding.describe() + " is sealed with a different KEK under the id " +
                    envelope->kek_id + " than the one in " + keks_.dir() +
                    " (its check value differs); restore the original KEK " + envelope->kek_id +
                    ". Nothing is rotated or overwritten until then");
  }
  const std::string aad = associated_data(binding);
  const auto* payload = reinterpret_cast<const unsigned char*>(envelope->payload.data());
  const std::size_t cipher_size = envelope->payload.size() - kNonceSize - kTagSize;
  std::array<unsigned char, kTagSize> tag{};
  std::copy(payload + kNonceSize + cipher_size, payload + envelope->payload.size(), tag.begin());
  std::string plain(cipher_size, '\0');
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, kek->bytes(), payload) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                        payload + kNonceSize, static_cast<int>(cipher_size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &len) ==
          1;
  OPENSSL_cleanse(envelope->payload.data(), envelope->payload.size());
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return fail(std::string(reason::kSealedDataTampered),
                binding.describe() + " does not authenticate under KEK " + envelope->kek_id +
                    ": it was altered, or copied from another ApiKey, field or key version; "
                    "restore the Secret from a backup or delete it so the operator issues a new "
                    "key. Nothing is rotated or overwritten until then");
  }
  return OpenedField{std::move(plain), envelope->kek_id};
}

}  // namespace keyward::apikey
