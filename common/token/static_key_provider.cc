#include "common/token/static_key_provider.h"

namespace keyward {

Result<TokenGrant> StaticKeyProvider::request(const Credentials& credentials,
                                              const std::optional<std::string>& /*ticket*/) {
  if (credentials.api_key.empty()) {
    return fail("MissingCredentials",
                "provider none delivers the key itself, but no apiKey was found: mount the key "
                "Secret (--key-dir) or pass the key");
  }
  AccessToken t;
  t.token = credentials.api_key;
  t.api_secret = credentials.api_secret;
  t.passphrase = credentials.passphrase;
  t.issued_at = clock_.now();
  t.key_version = credentials.key_version;
  t.provider = name();
  return TokenGrant{std::move(t)};
}

}  // namespace keyward
