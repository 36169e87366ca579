#pragma once
// One version of the key material an ApiKey manages: the key, and the secret and passphrase an
// exchange pairs with it (a key pair; OKX adds a passphrase) when the source has them. Every
// source produces all of them at once, and the operator stores, seals, keeps during the grace
// period and revokes them as one (docs/apikey.md, "Key material").
//
// The bytes are wiped (OPENSSL_cleanse) when a KeyMaterial is destroyed or assigned over.

#include <span>
#include <string>
#include <string_view>

#include "common/core/log.h"
#include "common/core/result.h"
#include "common/core/wipe.h"

namespace keyward::apikey {

struct KeyMaterial {
  std::string api_key;
  std::string api_secret;  // "" when the source has none
  std::string passphrase;  // "" when the source has none

  KeyMaterial() = default;
  explicit KeyMaterial(std::string key) : api_key(std::move(key)) {}
  KeyMaterial(const KeyMaterial&) = default;
  KeyMaterial(KeyMaterial&&) = default;
  KeyMaterial& operator=(const KeyMaterial& other);
  KeyMaterial& operator=(KeyMaterial&& other) noexcept;
  ~KeyMaterial();

  bool operator==(const KeyMaterial&) const = default;
};

// A field of the material and the Secret data keys that hold it (current and previous version).
struct KeyField {
  std::string_view name;           // "apiKey", "apiSecret", "passphrase"
  std::string_view previous_name;  // "previousApiKey", ...
  std::string KeyMaterial::*member;
};

// Every field, apiKey first.
[[nodiscard]] std::span<const KeyField> key_fields();

// Registers every non-empty field with the redactor.
void redact_material(Redactor& redactor, const KeyMaterial& material);

// SHA-256 hex of the material, stored as keyward.dev/content-hash: for a key alone the digest of
// the key (what Secrets written before key pairs hold, so they are not taken for a change), else
// the digest over every field, each length-prefixed.
[[nodiscard]] Result<std::string> content_hash(const KeyMaterial& material);

}  // namespace keyward::apikey
