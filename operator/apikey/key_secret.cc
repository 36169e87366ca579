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

Result<KeySecret> read_key_secret(const kube::Object& secret, Redactor& redactor) {
  KeySecret out;
  out.object = secret;
  const std::string name = secret.at("metadata").value("name", "");
  const kube::Object data = secret.value("data", kube::Object::object());
  auto field = [&](std::string_view key, bool is_secret) -> Result<std::optional<std::string>> {
    auto it = data.find(std::string(key));
    if (it == data.end() || !it->is_string()) return std::optional<std::string>{};
    auto decoded = base64_decode(it->get<std::string>());
    if (!decoded) {
      return fail("SecretKeyMissing", "Secret " + name + " data." + std::string(key) +
                                          " is not valid base64; delete the Secret so the "
                                          "operator recreates it");
    }
    if (is_secret) redactor.add(*decoded);
    return std::optional<std::string>(*decoded);
  };
  auto current = field(secret_field::kApiKey, true);
  if (!current) return fail(current.error());
  if (!*current || (*current)->empty()) {
    return fail("SecretKeyMissing",
                "Secret " + name +
                    " has no data.apiKey; put the current key there or delete the "
                    "Secret so the operator creates a new one");
  }
  out.current_key = **current;
  auto previous = field(secret_field::kPreviousApiKey, true);
  if (!previous) return fail(previous.error());
  out.previous_key = *previous;
  auto expires = field(secret_field::kPreviousExpiresAt, false);
  if (expires && *expires) {
    if (auto t = parse_rfc3339(**expires)) out.previous_expires_at = *t;
  }
  const std::string version = kube::annotation(secret, annotation::kKeyVersion);
  if (!version.empty()) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
    if (ec == std::errc() && p == version.data() + version.size() && v >= 0) out.version = v;
  }
  auto version_field = field(secret_field::kKeyVersion, false);
  out.version_field_current =
      version_field && *version_field && **version_field == std::to_string(out.version);
  auto active_field = field(secret_field::kActive, false);
  out.active = !(active_field && *active_field && **active_field == "false");
  out.content_hash = kube::annotation(secret, annotation::kContentHash);
  const std::string rotated = kube::annotation(secret, annotation::kRotatedAt);
  if (auto t = parse_rfc3339(rotated); !rotated.empty() && t) out.rotated_at = *t;
  out.rotation_nonce = kube::annotation(secret, annotation::kRotationNonce);
  out.rotate_request = kube::annotation(secret, apikey::kRotateRequestHandled);
  if (auto ends = parse_rfc3339(kube::annotation(secret, apikey::kGraceEndsAt))) {
    out.grace_ends_at = *ends;
  }
  return out;
}

}  // namespace keyward::apikey
