#include "operator/apikey/key_material.h"

#include <array>

#include "operator/apikey/key_generator.h"
#include "operator/apikey/names.h"

namespace keyward::apikey {

KeyMaterial& KeyMaterial::operator=(const KeyMaterial& other) {
  if (this == &other) return *this;
  for (const KeyField& f : key_fields()) {
    wipe(this->*f.member);
    this->*f.member = other.*f.member;
  }
  return *this;
}

KeyMaterial& KeyMaterial::operator=(KeyMaterial&& other) noexcept {
  if (this == &other) return *this;
  for (const KeyField& f : key_fields()) {
    wipe(this->*f.member);
    (this->*f.member).swap(other.*f.member);
    wipe(other.*f.member);  // a short string's characters stay in the moved-from buffer
  }
  return *this;
}

KeyMaterial::~KeyMaterial() {
  for (const KeyField& f : key_fields()) wipe(this->*f.member);
}

std::span<const KeyField> key_fields() {
  static constexpr std::array<KeyField, 3> kFields{{
      {secret_field::kApiKey, secret_field::kPreviousApiKey, &KeyMaterial::api_key},
      {secret_field::kApiSecret, secret_field::kPreviousApiSecret, &KeyMaterial::api_secret},
      {secret_field::kPassphrase, secret_field::kPreviousPassphrase, &KeyMaterial::passphrase},
  }};
  return kFields;
}

void redact_material(Redactor& redactor, const KeyMaterial& material) {
  for (const KeyField& f : key_fields()) {
    if (!(material.*f.member).empty()) redactor.add(material.*f.member);
  }
}

Result<std::string> content_hash(const KeyMaterial& material) {
  if (material.api_secret.empty() && material.passphrase.empty()) {
    return content_hash(material.api_key);
  }
  std::string canonical;
  for (const KeyField& f : key_fields()) {
    const std::string& value = material.*f.member;
    canonical += std::string(f.name) + ":" + std::to_string(value.size()) + ":" + value + "\n";
  }
  auto hash = content_hash(canonical);
  wipe(canonical);
  return hash;
}

}  // namespace keyward::apikey
