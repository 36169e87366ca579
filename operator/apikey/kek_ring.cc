#include "operator/apikey/kek_ring.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "common/core/base64.h"
#include "common/core/hex.h"

namespace keyward::apikey {
namespace {

constexpr std::string_view kCheckLabel = "keyward.dev kek check v1";

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string check_value(const unsigned char* key) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key, static_cast<int>(Kek::kSize),
       reinterpret_cast<const unsigned char*>(kCheckLabel.data()), kCheckLabel.size(), mac, &len);
  return lower_hex(mac, std::min(8U, len));
}

}  // namespace

Kek::Kek(std::string id, const std::array<unsigned char, kSize>& bytes)
    : id_(std::move(id)), bytes_(bytes), check_(check_value(bytes_.data())) {}

Kek::~Kek() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

bool valid_kek_id(std::string_view s) {
  if (s.empty() || s.size() > 63 || s == "primary") return false;  // "primary" names the primary
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<std::shared_ptr<const KekRing>> KekRing::from_files(
    const std::map<std::string, std::string>& keks, const std::string& primary,
    const std::string& where) {
  std::shared_ptr<KekRing> ring(new KekRing());
  for (const auto& [id, content] : keks) {
    if (!valid_kek_id(id)) {
      return fail("KekInvalid", where + ": '" + id +
                                    "' is not a KEK id ([A-Za-z0-9_-], at most 63 characters); "
                                    "rename the key in the KEK Secret");
    }
    auto decoded = base64_decode(trim(content));
    if (!decoded || decoded->size() != Kek::kSize) {
      const std::size_t size = decoded ? decoded->size() : 0;
      if (decoded) OPENSSL_cleanse(decoded->data(), decoded->size());
      return fail("KekInvalid",
                  where + ": KEK " + id + " is not base64 of 32 bytes" +
                      (decoded ? " (it decodes to " + std::to_string(size) + " bytes)" : "") +
                      "; make one with: openssl rand -base64 32");
    }
    std::array<unsigned char, Kek::kSize> bytes{};
    for (std::size_t i = 0; i < Kek::kSize; ++i)
      bytes[i] = static_cast<unsigned char>((*decoded)[i]);
    OPENSSL_cleanse(decoded->data(), decoded->size());
    ring->keks_.emplace(id, std::make_unique<Kek>(id, bytes));
    OPENSSL_cleanse(bytes.data(), bytes.size());
  }
  if (ring->keks_.empty()) {
    return fail("KekMissing", where +
                                  " holds no KEK; create the KEK Secret (the chart's "
                                  "kek.create, or kek.existingSecret naming yours)");
  }
  std::string chosen = trim(primary);
  if (chosen.empty()) {
    if (ring->keks_.size() != 1) {
      return fail("KekInvalid", where + " holds " + std::to_string(ring->keks_.size()) +
                                    " KEKs and no file 'primary' naming the one to seal with; "
                                    "add primary: <id> to the KEK Secret");
    }
    chosen = ring->keks_.begin()->first;
  }
  if (!ring->keks_.contains(chosen)) {
    return fail("KekInvalid", where + ": primary names KEK '" + chosen +
                                  "', which is not in the directory; add it or fix primary");
  }
  ring->primary_ = chosen;
  return std::shared_ptr<const KekRing>(std::move(ring));
}

const Kek* KekRing::find(std::string_view id) const {
  auto it = keks_.find(id);
  return it == keks_.end() ? nullptr : it->second.get();
}

std::vector<std::string> KekRing::ids() const {
  std::vector<std::string> out;
  out.reserve(keks_.size());
  for (const auto& [id, _] : keks_) out.push_back(id);
  return out;
}

KekDirectory::KekDirectory(const Filesystem& fs, Clock& clock, std::string dir,
                           std::chrono::seconds max_age)
    : fs_(fs), clock_(clock), dir_(std::move(dir)), max_age_(max_age) {}

Result<std::shared_ptr<const KekRing>> KekDirectory::load() const {
  auto names = fs_.list_dir(dir_);
  if (!names) {
    return fail("KekMissing", "cannot read the KEK directory " + dir_ + " (" +
                                  names.error().message +
                                  "); mount the KEK Secret there (--kek-dir)");
  }
  std::map<std::string, std::string> keks;
  std::string primary;
  for (const std::string& name : *names) {
    if (name.empty() || name.front() == '.') continue;
    auto content = fs_.read_file(dir_ + "/" + name);
    if (!content) {
      return fail("KekMissing",
                  "cannot read " + dir_ + "/" + name + ": " + content.error().message);
    }
    if (name == "primary") {
      primary = *content;
    } else {
      keks.emplace(name, std::move(*content));
    }
  }
  auto ring = KekRing::from_files(keks, primary, "KEK directory " + dir_);
  for (auto& [_, content] : keks) OPENSSL_cleanse(content.data(), content.size());
  return ring;
}

Result<std::shared_ptr<const KekRing>> KekDirectory::ring() const {
  std::lock_guard lock(mu_);
  const SystemTime now = clock_.now();
  if (!loaded_at_ || now - *loaded_at_ >= max_age_ || now < *loaded_at_) {
    auto loaded = load();
    loaded_at_ = now;
    if (loaded) {
      ring_ = std::move(*loaded);
      error_.reset();
    } else {
      error_ = loaded.error();
    }
  }
  if (ring_) return ring_;  // the last good ring outlives a directory that went bad
  return fail(error_.value_or(Error{"KekMissing", "no KEK loaded from " + dir_, 0}));
}

}  // namespace keyward::apikey
