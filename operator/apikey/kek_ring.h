#pragma once
// The key-encryption keys (KEKs) that seal key material at rest (docs/sealing.md). A KEK ring is
// read from a directory, as a Secret volume projects the chart's KEK Secret:
//
//   /etc/keyward/kek/2026-12   base64 of 32 random bytes (KEK id "2026-12")
//   /etc/keyward/kek/2027-06   another KEK, during a KEK rotation
//   /etc/keyward/kek/primary   "2027-06": the KEK new seals use (optional with a single KEK)
//
// Names starting with '.' (the kubelet's ..data machinery) are ignored. Every KEK in the ring can
// open; only the primary seals. KekDirectory re-reads the directory at most every few seconds, so
// a KEK added to the Secret is used without a restart.

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/clock.h"
#include "common/core/result.h"
#include "common/io/filesystem.h"

namespace keyward::apikey {

// A 256-bit KEK; its bytes are wiped (OPENSSL_cleanse) when it is destroyed.
class Kek {
 public:
  static constexpr std::size_t kSize = 32;
  Kek(std::string id, const std::array<unsigned char, kSize>& bytes);
  ~Kek();
  Kek(const Kek&) = delete;
  Kek& operator=(const Kek&) = delete;

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] const unsigned char* bytes() const { return bytes_.data(); }
  // A public check value of this KEK (16 hex digits of HMAC-SHA256(kek, fixed label)): an
  // envelope carries it, so a KEK that has the right id but the wrong bytes is told apart from a
  // tampered envelope. It reveals nothing usable about the KEK.
  [[nodiscard]] const std::string& check() const { return check_; }

 private:
  std::string id_;
  std::array<unsigned char, kSize> bytes_{};
  std::string check_;
};

class KekRing {
 public:
  // KEK id -> file content (base64 of 32 bytes, surrounding white space ignored). `primary` names
  // the sealing KEK; empty is allowed only with exactly one KEK. Errors (reason KekInvalid) name
  // the id and what to fix, never a byte of a KEK.
  static Result<std::shared_ptr<const KekRing>> from_files(
      const std::map<std::string, std::string>& keks, const std::string& primary,
      const std::string& where);

  [[nodiscard]] const Kek* find(std::string_view id) const;
  [[nodiscard]] const Kek& primary() const { return *keks_.at(primary_); }
  [[nodiscard]] std::vector<std::string> ids() const;

 private:
  KekRing() = default;
  std::map<std::string, std::unique_ptr<Kek>, std::less<>> keks_;
  std::string primary_;
};

// Whether s can be a KEK id: [A-Za-z0-9_-]{1,63}, and not "primary" (the file naming the primary).
[[nodiscard]] bool valid_kek_id(std::string_view s);

// The ring of a directory, re-read when older than `max_age`. ring() is safe from any thread; a
// directory that cannot be read keeps the last good ring (and says why in last_error()).
class KekDirectory {
 public:
  KekDirectory(const Filesystem& fs, Clock& clock, std::string dir,
               std::chrono::seconds max_age = std::chrono::seconds(5));

  // The current ring, or the error of a directory that never loaded (KekMissing/KekInvalid).
  [[nodiscard]] Result<std::shared_ptr<const KekRing>> ring() const;
  [[nodiscard]] const std::string& dir() const { return dir_; }

 private:
  Result<std::shared_ptr<const KekRing>> load() const;

  const Filesystem& fs_;
  Clock& clock_;
  const std::string dir_;
  const std::chrono::seconds max_age_;
  mutable std::mutex mu_;  // guards ring_, error_, loaded_at_
  mutable std::shared_ptr<const KekRing> ring_;
  mutable std::optional<Error> error_;
  mutable std::optional<SystemTime> loaded_at_;
};

}  // namespace keyward::apikey
