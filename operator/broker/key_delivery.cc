#include "operator/broker/key_delivery.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

#include "operator/apikey/apikey.h"
#include "operator/apikey/key_secret.h"
#include "operator/broker/session.h"

namespace keyward::broker {

Result<DeliveredKey> deliver_key(const kube::Store& apikeys, const kube::Store& secrets,
                                 const apikey::KeySealer* sealer, Redactor& redactor,
                                 const std::string& ns, const std::string& name,
                                 bool exchange_keys) {
  const std::string key = ns + "/" + name;
  auto object = apikeys.get(key);
  if (!object) return fail("ApiKeyNotFound", "ApiKey " + key + " does not exist", 404);
  auto parsed = apikey::parse_apikey(*object);
  if (!parsed) {
    return fail("KeyPending",
                "ApiKey " + key + " does not parse (" + parsed.error().message +
                    "); fix it, the operator reports it as Degraded",
                503);
  }
  const apikey::ApiKey& a = *parsed;
  if (a.spec.token_exchange.provider != apikey::TokenProvider::None && !exchange_keys) {
    return fail("KeyNotDelivered",
                "ApiKey " + key +
                    " exchanges its key for tokens and its pods run in broker mode: "
                    "they get tokens (GET .../token), never the key itself",
                409);
  }
  const std::string secret_name = apikey::secret_name_for(name);
  auto key_object = secrets.get(ns + "/" + secret_name);
  if (!key_object) {
    return fail("KeyPending",
                "the key Secret " + secret_name + " does not exist yet (the operator creates it)",
                503);
  }
  auto key_secret = apikey::read_key_secret(*key_object, redactor, sealer,
                                            apikey::KeyOwner{ns, name, a.metadata.uid});
  if (!key_secret) return fail(key_secret.error().reason, key_secret.error().message, 503);
  DeliveredKey out;
  out.key_version = key_secret->version;
  out.active = a.spec.active;
  if (!out.active) return out;  // no key material while the key is switched off

  std::map<std::string, std::string> login;
  if (const auto& ref = a.spec.token_exchange.credentials_secret_ref) {
    auto creds_object = secrets.get(ns + "/" + ref->name);
    if (!creds_object) {
      return fail("KeyPending",
                  "the credentials Secret " + ref->name +
                      " (spec.tokenExchange.credentialsSecretRef) does not exist; create it",
                  503);
    }
    auto fields = apikey::read_secret_fields(*creds_object, redactor);
    if (!fields) {
      return fail("KeyPending",
                  "the credentials Secret " + ref->name + ": " + fields.error().message, 503);
    }
    login = std::move(*fields);
  }
  const Credentials c = session_credentials(a, key_secret->current, out.key_version, login);
  for (const auto& [field, member] : login_fields()) {
    if (!(c.*member).empty()) out.fields.emplace(std::string(field), c.*member);
  }
  return out;
}

namespace {

std::array<unsigned char, 32> digest(const std::string& text) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

bool same(const std::array<unsigned char, 32>& a, const std::array<unsigned char, 32>& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Result<ValidKeys> valid_keys(const kube::Store& apikeys, const kube::Store& secrets,
                             const apikey::KeySealer* sealer, Redactor& redactor,
                             const std::string& ns, const std::string& name, SystemTime now) {
  const std::string key = ns + "/" + name;
  auto object = apikeys.get(key);
  if (!object) return fail("ApiKeyNotFound", "ApiKey " + key + " does not exist", 404);
  auto parsed = apikey::parse_apikey(*object);
  if (!parsed) {
    return fail("KeyPending", "ApiKey " + key + " does not parse (" + parsed.error().message + ")",
                503);
  }
  auto key_object = secrets.get(ns + "/" + apikey::secret_name_for(name));
  if (!key_object) return fail("KeyPending", "ApiKey " + key + " has no key yet", 503);
  auto secret = apikey::read_key_secret(*key_object, redactor, sealer,
                                        apikey::KeyOwner{ns, name, parsed->metadata.uid});
  if (!secret) return fail(secret.error().reason, secret.error().message, 503);
  ValidKeys out;
  out.key_version = secret->version;
  out.active = parsed->spec.active;
  if (!out.active) return out;  // an inactive key has no valid version
  out.keys.push_back({secret->version, digest(secret->current.api_key), true, std::nullopt});
  // The previous key only until its grace ends, even before the operator has removed it (a
  // late or failed reconcile must not keep it valid), and not once revoked: the one rule of
  // key_versions().
  const auto versions = apikey::key_versions(*key_object, now);
  if (secret->previous && versions && versions->previous_valid) {
    out.keys.push_back({secret->version - 1, digest(secret->previous->api_key), false,
                        secret->previous_expires_at});
  }
  return out;
}

Result<KeyVerdict> verify_key(const kube::Store& apikeys, const kube::Store& secrets,
                              const apikey::KeySealer* sealer, Redactor& redactor,
                              const std::string& ns, const std::string& name,
                              const std::string& presented, SystemTime now) {
  const std::string key = ns + "/" + name;
  auto valid = valid_keys(apikeys, secrets, sealer, redactor, ns, name, now);
  if (!valid) return fail(valid.error());
  KeyVerdict v;
  if (!valid->active) {
    v.reason = "Inactive";
    v.message = "ApiKey " + key + " is inactive (spec.active: false): none of its keys is valid";
    return v;
  }
  const auto given = digest(presented);
  // Every valid digest is compared, matched or not, so the time taken tells nothing.
  const ValidKeyDigest* match = nullptr;
  for (const ValidKeyDigest& d : valid->keys) {
    if (same(given, d.sha256) && match == nullptr) match = &d;
  }
  if (match != nullptr) {
    v.valid = true;
    v.current = match->current;
    v.key_version = match->key_version;
    if (!match->current) v.message = "the previous key version, valid until it is revoked";
  } else {
    v.reason = "UnknownKey";
    v.message = "not a valid key of ApiKey " + key +
                " (a revoked version, another ApiKey's key, or a mistyped key)";
  }
  return v;
}

}  // namespace keyward::broker
