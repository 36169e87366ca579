// Key material sealed at rest, through the reconciler against the fake API server: the Secret
// holds only envelopes, the previous key is sealed with its own version, plaintext written before
// sealing is sealed, a KEK rotation re-seals with readers working throughout, and a wrong or
// missing KEK or a tampered envelope is reported (Degraded, an Event) with nothing rotated or
// overwritten.

#include <gtest/gtest.h>

#include "common/core/base64.h"
#include "operator/apikey/kek_ring.h"
#include "operator/apikey/key_sealer.h"
#include "tests/operator/operator_fixture.h"
#include "tests/support/memory_filesystem.h"

namespace keyward::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kKekDir = "/etc/keyward/kek";

std::string kek_text(char fill) { return base64_encode(std::string(32, fill)); }

class SealedSecretTest : public OperatorTest {
 protected:
  SealedSecretTest() {
    kek_files.set(std::string(kKekDir) + "/k1", kek_text('1'));
    sealer = &key_sealer;
  }
  void change_keks() { clock.advance(seconds(10)); }  // past the KEK directory's re-read age

  // What a reader such as the broker gets from the stored Secret.
  Result<apikey::KeySecret> read_back(const apikey::KeySealer* with) {
    const Json obj = apikey();
    Redactor scratch;
    return apikey::read_key_secret(
        *secret(), scratch, with,
        apikey::KeyOwner{"bots", "alpha", obj["metadata"]["uid"].get<std::string>()});
  }
  std::string stored(const std::string& field) { return secret_field(field); }
  std::string resource_version() { return kube::resource_version_of(*secret()); }

  MemoryFilesystem kek_files;
  apikey::KekDirectory keks{kek_files, clock, kKekDir};
  apikey::OpenSslRandomBytes nonce_random;
  apikey::KeySealer key_sealer{keks, nonce_random};
};

TEST_F(SealedSecretTest, TheSecretHoldsEnvelopesOnlyAndTheRotatedPairStaysSealed) {
  put(make_apikey("alpha",
                  {{"rotation", {{"intervalSeconds", 7200}, {"gracePeriodSeconds", 600}}}}));
  auto r = make_reconciler();
  settle(*r);
  const std::string first = generator.issued().at(0);
  EXPECT_EQ(stored("apiKey").rfind("kw1.k1.", 0), 0u) << stored("apiKey");
  EXPECT_EQ(secret()->dump().find(first), std::string::npos) << "plaintext in the Secret";
  EXPECT_EQ(apikey()["status"]["keyHint"], "nt_…b001") << "the hint still comes from the key";
  auto back = read_back(sealer);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->current.api_key, first);

  clock.advance(seconds(7200));
  settle(*r);
  const std::string second = generator.issued().at(1);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(stored("previousApiKey").rfind("kw1.k1.", 0), 0u);
  const std::string text = secret()->dump();
  EXPECT_EQ(text.find(first), std::string::npos);
  EXPECT_EQ(text.find(second), std::string::npos);
  back = read_back(sealer);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->current.api_key, second);
  ASSERT_TRUE(back->previous.has_value());
  EXPECT_EQ(back->previous->api_key, first);
  // The envelopes are bound to their version: swapping current and previous does not open.
  Json swapped = *secret();
  std::swap(swapped["data"]["apiKey"], swapped["data"]["previousApiKey"]);
  put(swapped);
  EXPECT_EQ(read_back(sealer).error().reason, "SealedDataTampered");
  // Without the KEK nothing opens.
  EXPECT_EQ(read_back(nullptr).error().reason, "KekMissing");
  // The plaintext is in no Secret (the key Secret holds envelopes only), log, event, status or
  // metric.
  std::string secrets_text;
  for (const auto& secret_object : all("secrets", "")) secrets_text += secret_object.dump();
  for (const std::string& key : {first, second}) {
    EXPECT_EQ(observable_text().find(key), std::string::npos);
    EXPECT_EQ(secrets_text.find(key), std::string::npos) << "a Secret holds the plaintext";
  }
}

// Each field of a key pair is sealed and bound to its field name: a secret's envelope moved into
// the key's place does not open.
TEST_F(SealedSecretTest, EveryFieldOfAKeyPairIsSealedAndBoundToItsName) {
  put(make_apikey("alpha", {{"source", {{"generate", {{"secretLength", 32}}}}}}));
  auto r = make_reconciler();
  settle(*r);
  const std::string key = generator.issued().at(0);
  const std::string api_secret = generator.issued().at(1);
  EXPECT_EQ(stored("apiSecret").rfind("kw1.k1.", 0), 0u) << stored("apiSecret");
  EXPECT_EQ(secret()->dump().find(api_secret), std::string::npos);
  auto back = read_back(sealer);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->current.api_key, key);
  EXPECT_EQ(back->current.api_secret, api_secret);
  Json moved = *secret();
  std::swap(moved["data"]["apiKey"], moved["data"]["apiSecret"]);
  put(moved);
  EXPECT_EQ(read_back(sealer).error().reason, "SealedDataTampered");
}

TEST_F(SealedSecretTest, PlaintextWrittenBeforeSealingIsSealedWithoutARotation) {
  put(make_apikey("alpha"));
  sealer = nullptr;
  auto plain = make_reconciler();
  settle(*plain);
  const std::string key = stored("apiKey");
  ASSERT_EQ(key, generator.issued().at(0)) << "unsealed operator: plaintext";

  sealer = &key_sealer;
  auto r = make_reconciler();
  settle(*r);
  EXPECT_EQ(stored("apiKey").rfind("kw1.k1.", 0), 0u);
  EXPECT_EQ(key_version(), 1) << "sealing is not a rotation";
  EXPECT_EQ(generator.count(), 1);
  EXPECT_EQ(read_back(sealer)->current.api_key, key);
  EXPECT_EQ(events_with("KeySealed").size(), 1u);
}

// The documented KEK rotation: add k2 as primary beside k1, the operator re-seals every key
// under k2 (a reader opens throughout), then k1 is removed.
TEST_F(SealedSecretTest, KekRotationReSealsEveryKeyWithReadersWorkingThroughout) {
  for (const char* name : {"alpha", "beta"}) put(make_apikey(name));
  auto r = make_reconciler();
  settle(*r, "alpha");
  settle(*r, "beta");
  const std::string alpha_key = read_back(sealer)->current.api_key;

  kek_files.set(std::string(kKekDir) + "/k2", kek_text('2'));
  kek_files.set(std::string(kKekDir) + "/primary", "k2");
  change_keks();
  // The reader (another sealer on the same directory, as the broker is) opens the old envelopes.
  apikey::KeySealer reader(keks, nonce_random);
  ASSERT_TRUE(read_back(&reader)) << "before the re-seal";
  settle(*r, "alpha");
  settle(*r, "beta");
  EXPECT_EQ(stored("apiKey").rfind("kw1.k2.", 0), 0u);
  EXPECT_EQ(secret_field("apiKey", "beta").rfind("kw1.k2.", 0), 0u);
  EXPECT_EQ(key_version(), 1);
  EXPECT_EQ(read_back(&reader)->current.api_key, alpha_key);

  kek_files.remove(std::string(kKekDir) + "/k1");
  change_keks();
  const auto writes_before = writes();
  settle(*r, "alpha");
  EXPECT_EQ(writes(), writes_before) << "nothing left to re-seal";
  EXPECT_EQ(read_back(&reader)->current.api_key, alpha_key);
  EXPECT_EQ(condition("Degraded")["status"], "False");
}

struct KekFault {
  const char* name;
  const char* reason;
};

class SealedSecretFaultTest : public SealedSecretTest,
                              public ::testing::WithParamInterface<KekFault> {};

// A wrong KEK, a missing KEK, a tampered envelope: Degraded naming which, a Warning event, and
// the Secret stays exactly as it is (no rotation even when one is due, no overwrite).
TEST_P(SealedSecretFaultTest, IsReportedAndNothingIsRotatedOrOverwritten) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 3600}}}}));
  auto r = make_reconciler();
  settle(*r);
  const std::string fault = GetParam().name;
  if (fault == "wrong") {
    kek_files.set(std::string(kKekDir) + "/k1", kek_text('9'));
  } else if (fault == "missing") {
    kek_files.remove(std::string(kKekDir) + "/k1");
    kek_files.set(std::string(kKekDir) + "/k3", kek_text('3'));
  } else {
    Json s = *secret();
    std::string envelope = stored("apiKey");
    envelope[envelope.size() - 3] = envelope[envelope.size() - 3] == 'A' ? 'B' : 'A';
    s["data"]["apiKey"] = base64_encode(envelope);
    put(s);
  }
  change_keks();
  clock.advance(seconds(3600));  // a rotation is due
  const std::string before = resource_version();
  const std::string data_before = secret()->at("data").dump();
  auto action = reconcile(*r);
  ASSERT_TRUE(action) << action.error().to_string();
  EXPECT_EQ(resource_version(), before) << "the sealed data was overwritten";
  EXPECT_EQ(secret()->at("data").dump(), data_before);
  EXPECT_EQ(generator.count(), 1) << "rotated although the key could not be opened";
  EXPECT_EQ(condition("Degraded")["status"], "True");
  EXPECT_EQ(condition("Degraded")["reason"], GetParam().reason);
  EXPECT_NE(condition("Degraded")["message"].get<std::string>().find("Nothing is rotated"),
            std::string::npos)
      << condition("Degraded").dump();
  EXPECT_FALSE(events_with(GetParam().reason).empty());
  EXPECT_EQ(observable_text().find(generator.issued().at(0)), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Faults, SealedSecretFaultTest,
                         ::testing::Values(KekFault{"wrong", "KekWrong"},
                                           KekFault{"missing", "KekMissing"},
                                           KekFault{"tampered", "SealedDataTampered"}),
                         [](const ::testing::TestParamInfo<KekFault>& param) {
                           return std::string(param.param.name);
                         });

}  // namespace
}  // namespace keyward::testing
