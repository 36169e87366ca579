// Sealing key material with AES-256-GCM under a KEK ring (operator/apikey/key_sealer.h):
// round trip, tampering, envelopes moved to another place, wrong and missing KEKs, and a KEK
// rotation with a reader during it.

#include "operator/apikey/key_sealer.h"

#include <gtest/gtest.h>

#include "common/core/base64.h"
#include "tests/support/fake_clock.h"
#include "tests/support/memory_filesystem.h"

namespace keyward::apikey {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDir = "/etc/keyward/kek";
constexpr const char* kKey = "nt_SuperSecretKeyMaterial0123456789abcdef";

std::string kek_text(char fill) { return base64_encode(std::string(32, fill)); }

class KeySealerTest : public ::testing::Test {
 protected:
  KeySealerTest() { fs.set(std::string(kDir) + "/k1", kek_text('a') + "\n"); }

  SealBinding binding(std::string field = "apiKey", std::int64_t version = 3) const {
    return SealBinding{"bots", "alpha", "uid-1", std::move(field), version};
  }
  void reload() { clock.advance(10s); }

  testing::MemoryFilesystem fs;
  testing::FakeClock clock;
  KekDirectory keks{fs, clock, kDir};
  OpenSslRandomBytes random;
  KeySealer sealer{keks, random};
};

TEST_F(KeySealerTest, RoundTripWithAFreshNonceEachTime) {
  auto a = sealer.seal(kKey, binding());
  auto b = sealer.seal(kKey, binding());
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b);
  EXPECT_NE(*a, *b) << "two seals of one key must differ (random nonce)";
  EXPECT_TRUE(KeySealer::is_envelope(*a));
  EXPECT_FALSE(KeySealer::is_envelope(kKey));
  EXPECT_EQ(a->rfind("kw1.k1.", 0), 0u) << *a;
  EXPECT_EQ(a->find("SuperSecret"), std::string::npos);
  auto opened = sealer.open(*a, binding());
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->plaintext, kKey);
  EXPECT_EQ(opened->kek_id, "k1");
  EXPECT_EQ(*sealer.primary_id(), "k1");
}

TEST_F(KeySealerTest, ATamperedEnvelopeDoesNotOpen) {
  const std::string envelope = *sealer.seal(kKey, binding());
  const std::string head = envelope.substr(0, envelope.rfind('.') + 1);
  std::string payload = *base64_decode(envelope.substr(head.size()));
  for (std::size_t at :
       {std::size_t{0}, std::size_t{14}, payload.size() - 1}) {  // nonce, body, tag
    std::string bad = payload;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    auto opened = sealer.open(head + base64_encode(bad), binding());
    ASSERT_FALSE(opened) << "byte " << at;
    EXPECT_EQ(opened.error().reason, "SealedDataTampered") << at;
    EXPECT_NE(opened.error().message.find("ApiKey bots/alpha"), std::string::npos);
    EXPECT_EQ(opened.error().message.find(kKey), std::string::npos);
  }
  for (const std::string& garbage : {std::string("kw1.k1.zz"), envelope.substr(0, 20),
                                     std::string("kw1.k1.0123456789abcdef.!!!")}) {
    auto opened = sealer.open(garbage, binding());
    ASSERT_FALSE(opened) << garbage;
    EXPECT_EQ(opened.error().reason, "SealedDataTampered") << garbage;
    EXPECT_NE(opened.error().message.find("not a valid sealed envelope"), std::string::npos);
  }
}

TEST_F(KeySealerTest, AnEnvelopeMovedToAnotherApiKeyFieldOrVersionDoesNotOpen) {
  const std::string envelope = *sealer.seal(kKey, binding());
  std::vector<SealBinding> elsewhere(5, binding());
  elsewhere[0].ns = "other";
  elsewhere[1].apikey = "beta";
  elsewhere[2].uid = "uid-2";  // the same name, re-created
  elsewhere[3].field = "apiSecret";
  elsewhere[4].version = 2;
  for (const SealBinding& b : elsewhere) {
    auto opened = sealer.open(envelope, b);
    ASSERT_FALSE(opened) << b.describe();
    EXPECT_EQ(opened.error().reason, "SealedDataTampered") << b.describe();
    EXPECT_NE(opened.error().message.find("copied from another ApiKey"), std::string::npos);
  }
  EXPECT_TRUE(sealer.open(envelope, binding()));
}

TEST_F(KeySealerTest, AWrongKekWithTheSameIdIsToldApartFromTampering) {
  const std::string envelope = *sealer.seal(kKey, binding());
  fs.set(std::string(kDir) + "/k1", kek_text('b'));
  reload();
  auto opened = sealer.open(envelope, binding());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().reason, "KekWrong");
  EXPECT_NE(opened.error().message.find("restore the original KEK k1"), std::string::npos)
      << opened.error().message;
  const std::string kek_b64 = kek_text('b');
  EXPECT_EQ(opened.error().message.find(kek_b64), std::string::npos);
  EXPECT_EQ(opened.error().message.find(std::string(32, 'b')), std::string::npos);
}

TEST_F(KeySealerTest, AMissingKekNamesTheIdAndWhatTheOperatorHas) {
  const std::string envelope = *sealer.seal(kKey, binding());
  fs.remove(std::string(kDir) + "/k1");
  fs.set(std::string(kDir) + "/k2", kek_text('c'));
  reload();
  auto opened = sealer.open(envelope, binding());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().reason, "KekMissing");
  EXPECT_NE(opened.error().message.find("sealed with KEK k1, which is not in /etc/keyward/kek "
                                        "(it has k2)"),
            std::string::npos)
      << opened.error().message;

  // No KEK directory at all.
  testing::MemoryFilesystem empty;
  KekDirectory none(empty, clock, "/nowhere");
  KeySealer without(none, random);
  auto no_ring = without.open(envelope, binding());
  ASSERT_FALSE(no_ring);
  EXPECT_EQ(no_ring.error().reason, "KekMissing");
  EXPECT_NE(no_ring.error().message.find("mount the KEK Secret"), std::string::npos)
      << no_ring.error().message;
  EXPECT_EQ(without.seal(kKey, binding()).error().reason, "KekMissing");
}

// A KEK rotation as the docs describe it: add k2 beside k1 and make it primary (readers open
// both meanwhile), re-seal everything under k2, then remove k1.
TEST_F(KeySealerTest, KekRotationKeepsEveryReaderWorking) {
  const std::string old_envelope = *sealer.seal(kKey, binding());
  KeySealer reader(keks, random);  // another user of the same ring, e.g. the broker

  fs.set(std::string(kDir) + "/k2", kek_text('d'));
  reload();
  // Two KEKs and no primary: refused, and the last good ring stays in use.
  auto refused = keks.ring();
  ASSERT_TRUE(refused);
  EXPECT_EQ(*sealer.primary_id(), "k1");

  fs.set(std::string(kDir) + "/primary", "k2\n");
  reload();
  EXPECT_EQ(*sealer.primary_id(), "k2");
  auto during = reader.open(old_envelope, binding());
  ASSERT_TRUE(during) << during.error().message;
  EXPECT_EQ(during->kek_id, "k1");  // the re-seal is due
  const std::string resealed = *sealer.seal(during->plaintext, binding());
  EXPECT_EQ(resealed.rfind("kw1.k2.", 0), 0u);

  fs.remove(std::string(kDir) + "/k1");
  fs.set(std::string(kDir) + "/primary", "k2");
  reload();
  auto after = reader.open(resealed, binding());
  ASSERT_TRUE(after);
  EXPECT_EQ(after->plaintext, kKey);
  EXPECT_EQ(reader.open(old_envelope, binding()).error().reason, "KekMissing");
}

TEST(KekRing, BadKeksAreNamedWithWhatToDo) {
  auto short_kek = KekRing::from_files({{"k1", base64_encode("short")}}, "", "KEK directory d");
  ASSERT_FALSE(short_kek);
  EXPECT_EQ(short_kek.error().reason, "KekInvalid");
  EXPECT_NE(short_kek.error().message.find("KEK k1 is not base64 of 32 bytes (it decodes to 5 "
                                           "bytes); make one with: openssl rand -base64 32"),
            std::string::npos)
      << short_kek.error().message;
  EXPECT_EQ(short_kek.error().message.find("short"), std::string::npos);
  auto bad_id = KekRing::from_files({{"k 1", kek_text('a')}}, "", "d");
  EXPECT_EQ(bad_id.error().reason, "KekInvalid");
  EXPECT_FALSE(valid_kek_id("primary"));
  auto unknown_primary = KekRing::from_files({{"k1", kek_text('a')}}, "k9", "d");
  EXPECT_NE(unknown_primary.error().message.find("primary names KEK 'k9'"), std::string::npos);
  auto none = KekRing::from_files({}, "", "d");
  EXPECT_EQ(none.error().reason, "KekMissing");
}

}  // namespace
}  // namespace keyward::apikey
