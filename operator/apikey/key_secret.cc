#include "operator/apikey/key_secret.h"

#include <charconv>
#include <vector>

#include "common/kube/object_meta.h"

namespace keyward::apikey {

bool KeySecret::owned_by(const std::string& uid) const {
  const auto& md = object.at("metadata");
  if (!md.contains("ownerReferences")) return false;
  for (const auto& ref : md["ownerReferences"]) {
    if (ref.value("uid", "") == uid) return true;
  }
  return false;
}

namespace {

SealBinding binding_for(const KeyOwner& owner, std::string_view field, std::int64_t version) {
  return SealBinding{owner.ns, owner.name, owner.uid, std::string(field), version};
}

std::optional<std::int64_t> parse_version(const std::string& text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 0) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<KeyVersions> key_versions(const kube::Object& secret, SystemTime now) {
  auto version = parse_version(kube::annotation(secret, annotation::kKeyVersion));
  if (!version) return std::nullopt;
  KeyVersions out;
  out.current = *version;
  if (kube::annotation(secret, kPreviousRevoked) == std::to_string(out.current - 1)) return out;
  if (!secret.contains("data") || !secret.at("data").is_object()) return out;
  const auto& data = secret.at("data");
  const std::string expires_key(secret_field::kPreviousExpiresAt);
  if (!data.contains(std::string(secret_field::kPreviousApiKey)) || !data.contains(expires_key) ||
      !data.at(expires_key).is_string()) {
    return out;
  }
  if (auto text = base64_decode(data.at(expires_key).get<std::string>())) {
    if (auto t = parse_rfc3339(*text)) out.previous_valid = now < *t;
  }
  return out;
}

Result<std::map<std::string, std::string>> read_secret_fields(const kube::Object& secret,
                                                              Redactor& redactor) {
  std::map<std::string, std::string> out;
  auto data = secret.find("data");
  if (data == secret.end() || !data->is_object()) return out;
  for (const auto& [k, v] : data->items()) {
    if (!v.is_string()) continue;
    auto decoded = base64_decode(v.get<std::string>());
    if (!decoded) {
      return fail("InvalidSecret", "field " + k + " is not valid base64; fix the Secret");
    }
    while (!decoded->empty() && (decoded->back() == '\n' || decoded->back() == '\r'))
      decoded->pop_back();
    redactor.add(*decoded);
    out[k] = std::move(*decoded);
  }
  return out;
}

Result<std::string> stored_key_value(const std::string& value, std::string_view field,
                                     std::int64_t version, const KeySealer* sealer,
                                     const KeyOwner& owner) {
  if (sealer == nullptr) return value;
  return sealer->seal(value, binding_for(owner, field, version));
}

Result<KeySecret> read_key_secret(const kube::Object& secret, Redactor& redactor,
                                  const KeySealer* sealer, const KeyOwner& owner) {
  KeySecret out;
  out.object = secret;
  const std::string name = kube::metadata_string(secret, "name");
  const kube::Object data = secret.value("data", kube::Object::object());
  out.version = parse_version(kube::annotation(secret, annotation::kKeyVersion)).value_or(0);
  auto text_field = [&](std::string_view key) -> Result<std::optional<std::string>> {
    auto it = data.find(std::string(key));
    if (it == data.end() || !it->is_string()) return std::optional<std::string>{};
    auto decoded = base64_decode(it->get<std::string>());
    if (!decoded) {
      return fail("SecretKeyMissing", "Secret " + name + " data." + std::string(key) +
                                          " is not valid base64; delete the Secret so the "
                                          "operator recreates it");
    }
    return std::optional<std::string>(std::move(*decoded));
  };
  // A key field, opened when sealed (bound to its field name and the key version it holds).
  auto key_field = [&](std::string_view key, std::string_view field,
                       std::int64_t key_version) -> Result<std::optional<std::string>> {
    auto stored = text_field(key);
    if (!stored || !*stored) return stored;
    if (!KeySealer::is_envelope(**stored)) {
      out.plaintext_fields = true;
      redactor.add(**stored);
      return stored;
    }
    if (sealer == nullptr) {
      return fail(std::string(reason::kKekMissing),
                  "Secret " + name + " data." + std::string(key) +
                      " is sealed, and the operator runs without KEKs; start it with --kek-dir "
                      "(the chart mounts the KEK Secret). Nothing is rotated or overwritten "
                      "until then");
    }
    auto opened = sealer->open(**stored, binding_for(owner, field, key_version));
    if (!opened) return fail(opened.error());
    redactor.add(opened->plaintext);
    out.sealed_with.insert(opened->kek_id);
    return std::optional<std::string>(std::move(opened->plaintext));
  };
  // Every field of the current version, then of the previous one (the version before).
  KeyMaterial previous;
  bool has_previous = false;
  for (const KeyField& f : key_fields()) {
    auto current = key_field(f.name, f.name, out.version);
    if (!current) return fail(current.error());
    if (*current) out.current.*f.member = std::move(**current);
    auto before = key_field(f.previous_name, f.name, out.version - 1);
    if (!before) return fail(before.error());
    if (*before) {
      previous.*f.member = std::move(**before);
      has_previous = has_previous || f.name == secret_field::kApiKey;
    }
  }
  if (out.current.api_key.empty()) {
    return fail("SecretKeyMissing",
                "Secret " + name +
                    " has no data.apiKey; put the current key there or delete the "
                    "Secret so the operator creates a new one");
  }
  if (has_previous) out.previous = std::move(previous);
  auto expires = text_field(secret_field::kPreviousExpiresAt);
  if (expires && *expires) {
    if (auto t = parse_rfc3339(**expires)) out.previous_expires_at = *t;
  }
  auto version_field = text_field(secret_field::kKeyVersion);
  out.version_field_current =
      version_field && *version_field && **version_field == std::to_string(out.version);
  auto active_field = text_field(secret_field::kActive);
  out.active = !(active_field && *active_field && **active_field == "false");
  out.content_hash = kube::annotation(secret, annotation::kContentHash);
  const std::string rotated = kube::annotation(secret, annotation::kRotatedAt);
  if (auto t = parse_rfc3339(rotated); !rotated.empty() && t) out.rotated_at = *t;
  out.rotation_nonce = kube::annotation(secret, annotation::kRotationNonce);
  out.rotate_request = kube::annotation(secret, apikey::kRotateRequestHandled);
  out.previous_revoked = out.previous.has_value() && kube::annotation(secret, kPreviousRevoked) ==
                                                         std::to_string(out.version - 1);
  if (auto ends = parse_rfc3339(kube::annotation(secret, apikey::kGraceEndsAt))) {
    out.grace_ends_at = *ends;
  }
  return out;
}

}  // namespace keyward::apikey
