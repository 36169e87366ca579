#include "operator/broker/session_store.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "common/core/base64.h"
#include "common/core/clock.h"
#include "common/kube/object_meta.h"
#include "operator/apikey/apikey.h"
#include "operator/apikey/names.h"

namespace keyward::broker {
namespace {

constexpr const char* kField = "session";

apikey::SealBinding binding(const SessionOwner& owner, std::int64_t key_version) {
  return apikey::SealBinding{owner.ns, owner.name, owner.uid, kField, key_version};
}

std::string time_text(SystemTime t) { return t == SystemTime::max() ? "" : format_rfc3339(t); }

}  // namespace

SecretSessionStore::SecretSessionStore(kube::KubeApi& api, const apikey::KeySealer& sealer,
                                       Logger logger)
    : api_(api), sealer_(sealer), logger_(std::move(logger)) {}

std::string SecretSessionStore::secret_name(const std::string& apikey) {
  return "keyward.session." + apikey;
}

void SecretSessionStore::save(const SessionOwner& owner, const Delivery& delivery) {
  const AccessToken& t = delivery.token;
  nlohmann::json record{{"accessToken", t.token},
                        {"mdAccessToken", t.md_token},
                        {"expirationTime", time_text(t.expires_at)},
                        {"issuedAt", format_rfc3339(t.issued_at)},
                        {"userId", t.user_id},
                        {"keyVersion", t.key_version},
                        {"provider", t.provider},
                        {"credentialsFingerprint", delivery.credentials_fingerprint}};
  std::string plain = record.dump();
  auto sealed = sealer_.seal(plain, binding(owner, t.key_version));
  OPENSSL_cleanse(plain.data(), plain.size());
  const std::string object = owner.ns + "/" + owner.name;
  if (!sealed) {
    logger_.warn("the upstream session is not stored for failover (cannot seal it)",
                 {{"object", object}, {"reason", sealed.error().reason}});
    return;
  }
  const std::string name = secret_name(owner.name);
  kube::Object body{
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"type", "Opaque"},
      {"metadata",
       {{"name", name},
        {"namespace", owner.ns},
        {"labels", {{std::string(apikey::kApiKeyLabel), owner.name}}},
        {"annotations",
         {{std::string(apikey::kKeyVersionAnnotation), std::to_string(t.key_version)}}},
        {"ownerReferences", kube::Object::array({{{"apiVersion", std::string(apikey::kApiVersion)},
                                                  {"kind", std::string(apikey::kKind)},
                                                  {"name", owner.name},
                                                  {"uid", owner.uid},
                                                  {"controller", false},
                                                  {"blockOwnerDeletion", false}}})}}},
      {"data", {{kField, base64_encode(*sealed)}}}};
  Status written = kube::retry_on_conflict([&]() -> Status {
    auto current = api_.get(kube::ResourceType::secrets(), owner.ns, name);
    if (!current) {
      if (current.error().http_status != 404) return fail(current.error());
      auto created = api_.create(kube::ResourceType::secrets(), owner.ns, body);
      return created ? ok() : Status(fail(created.error()));
    }
    kube::Object update = body;
    update["metadata"]["resourceVersion"] = kube::resource_version_of(*current);
    auto updated = api_.update(kube::ResourceType::secrets(), update);
    return updated ? ok() : Status(fail(updated.error()));
  });
  if (!written) {
    logger_.warn("the upstream session is not stored for failover; a new leader would log in",
                 {{"object", object}, {"error", written.error().message}});
    return;
  }
  logger_.debug("upstream session stored for failover",
                {{"object", object}, {"keyVersion", t.key_version}});
}

std::optional<Delivery> SecretSessionStore::load(const SessionOwner& owner) {
  const std::string object = owner.ns + "/" + owner.name;
  auto secret = api_.get(kube::ResourceType::secrets(), owner.ns, secret_name(owner.name));
  if (!secret) {
    if (secret.error().http_status != 404) {
      logger_.warn("cannot read the stored upstream session; logging in instead",
                   {{"object", object}, {"error", secret.error().message}});
    }
    return std::nullopt;
  }
  std::int64_t version = 0;
  try {
    version = std::stoll(kube::annotation(*secret, apikey::kKeyVersionAnnotation));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string stored = kube::string_at(*secret, std::string("/data/") + kField);
  auto envelope = base64_decode(stored);
  if (!envelope) return std::nullopt;
  auto opened = sealer_.open(*envelope, binding(owner, version));
  if (!opened) {
    logger_.warn("the stored upstream session does not open; logging in instead",
                 {{"object", object}, {"reason", opened.error().reason}});
    return std::nullopt;
  }
  nlohmann::json record = nlohmann::json::parse(opened->plaintext, nullptr, false);
  OPENSSL_cleanse(opened->plaintext.data(), opened->plaintext.size());
  if (!record.is_object()) return std::nullopt;
  Delivery d;
  d.state = DeliveryState::Valid;
  d.token.token = record.value("accessToken", "");
  d.token.md_token = record.value("mdAccessToken", "");
  const std::string expires = record.value("expirationTime", "");
  if (!expires.empty()) {
    auto t = parse_rfc3339(expires);
    if (!t) return std::nullopt;
    d.token.expires_at = *t;
  }
  if (auto issued = parse_rfc3339(record.value("issuedAt", ""))) d.token.issued_at = *issued;
  d.token.user_id = record.value("userId", "");
  d.token.key_version = record.value("keyVersion", std::int64_t{0});
  d.token.provider = record.value("provider", "");
  d.credentials_fingerprint = record.value("credentialsFingerprint", "");
  logger_.redactor().add(d.token.token);
  logger_.redactor().add(d.token.md_token);
  for (auto& [_, v] : record.items()) {
    if (v.is_string()) {
      auto& s = v.get_ref<std::string&>();
      OPENSSL_cleanse(s.data(), s.size());
    }
  }
  return d;
}

}  // namespace keyward::broker
