#include "operator/controller/key_secret.h"

#include <openssl/evp.h>

#include <charconv>
#include <vector>

namespace keyward::controller {

bool KeySecret::owned_by(const std::string& uid) const {
  const auto& md = object.at("metadata");
  if (!md.contains("ownerReferences")) return false;
  for (const auto& ref : md["ownerReferences"]) {
    if (ref.value("uid", "") == uid) return true;
  }
  return false;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ') clean.push_back(c);
  }
  if (clean.size() % 4 != 0) {
    return fail("InvalidBase64", "the value is not base64: its length is not a multiple of 4");
  }
  std::vector<unsigned char> out(clean.size() / 4 * 3 + 1);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return fail("InvalidBase64", "the value is not valid base64");
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  if (!clean.empty() && clean.back() == '=') --len;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') --len;
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string get_annotation(const kube::Object& object, std::string_view name) {
  if (!object.contains("metadata")) return "";
  const auto& md = object["metadata"];
  if (!md.contains("annotations") || !md["annotations"].is_object()) return "";
  const auto& a = md["annotations"];
  auto it = a.find(std::string(name));
  if (it == a.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

bool has_annotation(const kube::Object& object, std::string_view name) {
  if (!object.contains("metadata")) return false;
  const auto& md = object["metadata"];
  return md.contains("annotations") && md["annotations"].is_object() &&
         md["annotations"].contains(std::string(name));
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
    SystemTime t;
    if (parse_rfc3339(**expires, t)) out.previous_expires_at = t;
  }
  const std::string version = get_annotation(secret, annotation::kKeyVersion);
  if (!version.empty()) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
    if (ec == std::errc() && p == version.data() + version.size() && v >= 0) out.version = v;
  }
  out.content_hash = get_annotation(secret, annotation::kContentHash);
  const std::string rotated = get_annotation(secret, annotation::kRotatedAt);
  SystemTime t;
  if (!rotated.empty() && parse_rfc3339(rotated, t)) out.rotated_at = t;
  out.rotation_nonce = get_annotation(secret, annotation::kRotationNonce);
  return out;
}

}  // namespace keyward::controller
