#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <memory>

#include "common/core/hex.h"
#include "common/token/access_token.h"

namespace keyward {

std::span<const LoginField> login_fields() {
  static constexpr LoginField kFields[] = {{"apiKey", &Credentials::api_key},
                                           {"apiSecret", &Credentials::api_secret},
                                           {"passphrase", &Credentials::passphrase},
                                           {"username", &Credentials::username},
                                           {"password", &Credentials::password},
                                           {"clientId", &Credentials::client_id},
                                           {"clientSecret", &Credentials::client_secret},
                                           {"appId", &Credentials::app_id},
                                           {"appVersion", &Credentials::app_version},
                                           {"deviceId", &Credentials::device_id}};
  return kFields;
}

void Credentials::register_secrets(Redactor& redactor) const {
  for (const std::string* s : {&api_key, &api_secret, &passphrase, &password, &client_secret}) {
    if (!s->empty()) redactor.add(*s);
  }
}

std::string Credentials::fingerprint() const {
  const std::string material = username + '\0' + client_id + '\0' + secret_for_exchange();
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_Digest(material.data(), material.size(), digest.data(), &len, EVP_sha256(), nullptr) !=
      1) {
    return "";
  }
  return lower_hex(digest.data(), std::min(8U, len));
}

}  // namespace keyward
