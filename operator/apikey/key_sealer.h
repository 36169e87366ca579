#pragma once
// Key material sealed at rest with AES-256-GCM (OpenSSL EVP) under the primary KEK
// (docs/sealing.md). An envelope is text, so it goes into a Secret's data like any value:
//
//   kw1.<KEK id>.<KEK check>.<base64 of 12-byte nonce | ciphertext | 16-byte tag>
//
// The associated data binds the envelope to its place: namespace, ApiKey name, ApiKey UID, field
// name and key version. An envelope copied to another ApiKey (or a re-created one of the same
// name), another field or another version does not open. A fresh random nonce per seal.
//
// Opening tells three failures apart, each with a reason the ApiKey's Degraded condition carries:
//   KekMissing          the envelope names a KEK the operator does not have (or it has none);
//   KekWrong            a KEK of that id is there but it is not the one that sealed (check value);
//   SealedDataTampered  the right KEK, but the envelope does not authenticate (or is malformed).
// Messages name the ApiKey, field and KEK ids and what to do; never a byte of key or KEK.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/result.h"
#include "operator/apikey/kek_ring.h"
#include "operator/apikey/key_generator.h"

namespace keyward::apikey {

namespace reason {
inline constexpr std::string_view kKekMissing = "KekMissing";
inline constexpr std::string_view kKekWrong = "KekWrong";
inline constexpr std::string_view kSealedDataTampered = "SealedDataTampered";
}  // namespace reason

// Where sealed material belongs: it opens only there.
struct SealBinding {
  std::string ns;
  std::string apikey;
  std::string uid;  // the ApiKey's metadata.uid
  std::string field;
  std::int64_t version = 0;

  [[nodiscard]] std::string describe() const;  // "field apiKey (version 3) of ApiKey bots/alpha"
};

struct OpenedField {
  std::string plaintext;
  std::string kek_id;  // the KEK that opened it (re-seal when it is not the primary)
};

class KeySealer {
 public:
  // Neither is owned; both outlive the sealer.
  KeySealer(const KekDirectory& keks, RandomBytes& random);

  [[nodiscard]] Result<std::string> seal(std::string_view plaintext,
                                         const SealBinding& binding) const;
  [[nodiscard]] Result<OpenedField> open(std::string_view envelope,
                                         const SealBinding& binding) const;
  // The KEK new seals use, or the error of a KEK directory that never loaded.
  [[nodiscard]] Result<std::string> primary_id() const;

  // Whether a stored value is an envelope (and not plain key material written before sealing).
  [[nodiscard]] static bool is_envelope(std::string_view value);

 private:
  const KekDirectory& keks_;
  RandomBytes& random_;
};

}  // namespace keyward::apikey
