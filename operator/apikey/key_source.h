#pragma once
// Where new key material comes from, one implementation per spec.source kind:
//  - GeneratedKeySource: a KeyGenerator (OpenSSL CSPRNG);
//  - SecretRefKeySource: the user's own Secret, read through KubeApi (a change of its content is
//    a rotation: the controller compares content_hash of what it returns with the Secret's
//    keyward.dev/content-hash annotation);
//  - HttpKeySource: the provider's regenerate endpoint, called with the current key.
// Every key read or received is registered with the Redactor before anything else happens to it.
// Error messages never contain key material (nor response bodies that might).

#include <memory>
#include <optional>
#include <string>

#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/kube/kube_api.h"
#include "operator/apikey/apikey.h"
#include "operator/apikey/key_generator.h"
#include "operator/apikey/key_material.h"

namespace keyward::apikey {

struct KeyRequest {
  std::string ns;           // the ApiKey's namespace
  std::string apikey_name;  // for messages
  // The key in force now (the operator Secret's apiKey), if any. HttpKeySource needs it.
  std::optional<std::string> current_key;
  // Stable across retries of the same rotation, e.g. "<apikey uid>-<new key version>", so a call
  // retried after a crash gets the same key back from a provider that honours Idempotency-Key.
  std::string idempotency_key;
};

class KeySource {
 public:
  KeySource() = default;
  KeySource(const KeySource&) = delete;
  KeySource& operator=(const KeySource&) = delete;
  virtual ~KeySource() = default;

  // New key material, every field the spec names at once (for SecretRefKeySource: whatever the
  // user's Secret holds now).
  virtual Result<KeyMaterial> obtain(const KeyRequest& request) = 0;
};

class GeneratedKeySource final : public KeySource {
 public:
  GeneratedKeySource(KeyGenerator& generator, GenerateSource spec, Redactor& redactor);
  Result<KeyMaterial> obtain(const KeyRequest& request) override;

 private:
  KeyGenerator& generator_;
  GenerateSource spec_;
  Redactor& redactor_;
};

// Reads data[spec.key] (and data[spec.secret_key], data[spec.passphrase_key] when set; base64) of
// Secret spec.name in request.ns.
// Errors: SourceSecretNotFound (404), SourceSecretKeyMissing (a named key absent, empty, or not
// valid base64), or the KubeApi error unchanged (its reason, e.g. "Forbidden", "Unreachable").
class SecretRefKeySource final : public KeySource {
 public:
  SecretRefKeySource(kube::KubeApi& api, SecretRefSource spec, Redactor& redactor);
  Result<KeyMaterial> obtain(const KeyRequest& request) override;

 private:
  kube::KubeApi& api_;
  SecretRefSource spec_;
  Redactor& redactor_;
};

// Sends `method` to the path of spec.url through `transport` (which must connect to the URL's
// scheme, host and port) with headers `<authHeader>: <authScheme> <current key>`,
// `Idempotency-Key: <request.idempotency_key>` and `Accept: application/json`, and reads the
// strings at spec.response_field (and spec.secret_field, spec.passphrase_field when set; dotted
// paths) of the JSON answer.
// Errors: KeySourceUnreachable (transport failed), KeySourceRejected (non-2xx; http_status set),
// KeySourceInvalidResponse (not JSON, not an object, a field missing / not a string / empty),
// NoCurrentKey (request.current_key empty: the endpoint cannot authenticate the call),
// InvalidSpec (bad URL).
class HttpKeySource final : public KeySource {
 public:
  HttpKeySource(HttpTransport& transport, HttpSource spec, Redactor& redactor);
  Result<KeyMaterial> obtain(const KeyRequest& request) override;

 private:
  HttpTransport& transport_;
  HttpSource spec_;
  Redactor& redactor_;
};

// Everything a key source may need; the factory picks the one spec.source asks for.
struct KeySourceDeps {
  KeyGenerator& generator;
  kube::KubeApi& api;
  // The transport for an http source's URL, or null when the caller has none (then an http
  // source gives Error{"InvalidSpec"}). Not owned.
  HttpTransport* http = nullptr;
  Redactor& redactor;
};

// Revokes `key` at the provider: spec.revoke_method to spec.revoke_url through `transport` (which
// connects to its scheme, host and port) with `<authHeader>: <authScheme> <key>` and
// `Idempotency-Key`. A 2xx or 410 (already gone) is done; a 404 is an error (a wrong path). Errors:
// KeySourceUnreachable, KeySourceRejected (http_status set), InvalidSpec. Never quotes the key or
// the body.
[[nodiscard]] Status revoke_at_provider(HttpTransport& transport, const HttpSource& spec,
                                        const std::string& key, const std::string& idempotency_key,
                                        const std::string& apikey, Redactor& redactor);

[[nodiscard]] Result<std::unique_ptr<KeySource>> make_key_source(const SourceSpec& source,
                                                                 const KeySourceDeps& deps);

}  // namespace keyward::apikey
