#pragma once
// What every token provider hands back, and the login material it needs.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/wipe.h"

namespace keyward {

// Both hold secrets: their string buffers are wiped (common/core/wipe.h) when they are destroyed.
struct AccessToken {
  AccessToken() = default;
  AccessToken(const AccessToken&) = default;
  AccessToken(AccessToken&&) = default;
  AccessToken& operator=(const AccessToken&) = default;
  AccessToken& operator=(AccessToken&&) = default;
  ~AccessToken() {
    for (std::string* s : {&token, &md_token, &api_secret, &passphrase}) wipe(*s);
  }

  std::string token;     // the access token (for provider "none": the API key itself)
  std::string md_token;  // Tradovate's market-data token, empty when the provider gives none
  SystemTime expires_at = SystemTime::max();  // provider's clock; max() = never expires
  SystemTime issued_at{};                     // local clock when received (or the provider's)
  std::string user_id;
  std::int64_t key_version = 0;
  std::string provider;  // "tradovate" | "oauth2ClientCredentials" | "none"
  // Provider "none" delivers the key's companions where the exchange signs with them.
  std::string api_secret;
  std::string passphrase;
  // The provider's own clock at the answer (HTTP Date header), for skew detection.
  std::optional<SystemTime> provider_time;

  [[nodiscard]] bool expires() const { return expires_at != SystemTime::max(); }
};

// Login fields per docs/contracts.md. Tradovate: name=username, password, cid=clientId,
// sec=clientSecret or apiKey. OAuth2: client_id=clientId, client_secret=clientSecret or apiKey.
struct Credentials {
  Credentials() = default;
  Credentials(const Credentials&) = default;
  Credentials(Credentials&&) = default;
  Credentials& operator=(const Credentials&) = default;
  Credentials& operator=(Credentials&&) = default;
  ~Credentials() {
    for (std::string* s : {&api_key, &api_secret, &passphrase, &password, &client_secret}) wipe(*s);
  }

  std::string api_key;
  std::string api_secret;
  std::string passphrase;
  std::string username;
  std::string password;
  std::string client_id;
  std::string client_secret;
  std::string app_id;
  std::string app_version;
  std::string device_id;
  std::int64_t key_version = 0;  // known in broker mode; 0 in direct mode unless configured
  // The key Secret's data.active (direct mode): false stops delivery (state Inactive).
  bool active = true;
  // The operator's broker said the key version held was revoked and it has no current one yet
  // (--key-from-broker): what was delivered of it is withdrawn.
  bool revoked = false;

  [[nodiscard]] const std::string& secret_for_exchange() const {
    return client_secret.empty() ? api_key : client_secret;
  }
  // Registers every secret field with the redactor (call right after reading them).
  void register_secrets(Redactor& redactor) const;
  // A short fingerprint of the key material (SHA-256 of the exchange secret and user, first 16
  // hex digits) to tell whether a cached token was issued for these credentials. It is the
  // same kind of fact the operator publishes as keyward.dev/content-hash.
  [[nodiscard]] std::string fingerprint() const;
  friend bool operator==(const Credentials&, const Credentials&) = default;
};

// The login fields by the names every source uses (docs/contracts.md): a Secret's data keys, a
// mounted Secret's file names. The one table of them; apiKey first.
struct LoginField {
  std::string_view name;
  std::string Credentials::*member;
};
[[nodiscard]] std::span<const LoginField> login_fields();

// Tells a token's remaining life against a clock; corrected for a known provider clock offset
// (local - provider).
[[nodiscard]] inline SystemTime local_expiry(const AccessToken& t,
                                             std::chrono::system_clock::duration skew) {
  if (!t.expires()) return SystemTime::max();
  return t.expires_at + skew;
}

}  // namespace keyward
