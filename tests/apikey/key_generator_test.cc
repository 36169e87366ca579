#include "operator/apikey/key_generator.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>

namespace keyward::apikey {
namespace {

// Returns scripted bytes, then fails.
class ScriptedRandom final : public RandomBytes {
 public:
  explicit ScriptedRandom(std::vector<unsigned char> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  Status fill(std::span<unsigned char> out) override {
    ++calls;
    if (bytes_.size() < out.size()) return fail("KeyGenerationFailed", "scripted bytes ran out");
    for (auto& b : out) {
      b = bytes_.front();
      bytes_.pop_front();
    }
    return ok();
  }
  int calls = 0;

 private:
  std::deque<unsigned char> bytes_;
};

TEST(Alphabets, HaveTheDocumentedCharacters) {
  EXPECT_EQ(alphabet_chars(Alphabet::Base62).size(), 62u);
  EXPECT_EQ(alphabet_chars(Alphabet::Hex), "0123456789abcdef");
  EXPECT_EQ(alphabet_chars(Alphabet::Base32), "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
  for (Alphabet a : {Alphabet::Base62, Alphabet::Hex, Alphabet::Base32}) {
    const auto chars = alphabet_chars(a);
    EXPECT_EQ(std::set<char>(chars.begin(), chars.end()).size(), chars.size());
  }
}

TEST(OpenSslKeyGenerator, PrefixLengthAndAlphabet) {
  OpenSslKeyGenerator generator;
  for (Alphabet a : {Alphabet::Base62, Alphabet::Hex, Alphabet::Base32}) {
    auto key = generator.generate(GenerateSource{"nt_", 40, a});
    ASSERT_TRUE(key) << key.error().message;
    ASSERT_EQ(key->size(), 43u);
    EXPECT_TRUE(key->starts_with("nt_"));
    EXPECT_EQ(key->substr(3).find_first_not_of(alphabet_chars(a)), std::string::npos) << *key;
  }
  auto bare = generator.generate(GenerateSource{"", 16, Alphabet::Hex});
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->size(), 16u);
}

TEST(OpenSslKeyGenerator, KeysDiffer) {
  OpenSslKeyGenerator generator;
  std::set<std::string> keys;
  for (int i = 0; i < 200; ++i) keys.insert(*generator.generate(GenerateSource{}));
  EXPECT_EQ(keys.size(), 200u);
}

// 62 characters: 256 % 62 = 8, so bytes 248..255 must be rejected, never folded onto '0'..'7'.
TEST(OpenSslKeyGenerator, RejectionSamplingDropsBiasedBytes) {
  // The first batch (length + 16 bytes) is all rejected bytes; the second gives 0,1,2,...
  std::vector<unsigned char> script(32 + 16, 255);
  for (int i = 0; i < 32 + 16; ++i) script.push_back(static_cast<unsigned char>(i));
  ScriptedRandom random(script);
  OpenSslKeyGenerator generator(random);
  auto key = generator.generate(GenerateSource{"p_", 32, Alphabet::Base62});
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(*key, "p_0123456789ABCDEFGHIJKLMNOPQRSTUV");
  EXPECT_EQ(random.calls, 2);
}

TEST(OpenSslKeyGenerator, AcceptsTheLastUnbiasedByte) {
  // 247 = 3*62 + 61 -> 'z'; 248 is rejected.
  std::vector<unsigned char> script = {248, 247};
  script.resize(16 + 16, 247);
  ScriptedRandom random(script);
  OpenSslKeyGenerator generator(random);
  auto key = generator.generate(GenerateSource{"", 16, Alphabet::Base62});
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, std::string(16, 'z'));
}

TEST(OpenSslKeyGenerator, RandomSourceFailureIsAnErrorWithoutKeyMaterial) {
  ScriptedRandom random({});
  OpenSslKeyGenerator generator(random);
  auto key = generator.generate(GenerateSource{});
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().reason, "KeyGenerationFailed");
}

// Chi-square over 62 characters with 62 * 2000 samples: 61 degrees of freedom, mean 61,
// standard deviation ~11. A bound of 140 is more than 7 standard deviations out (p < 1e-9),
// so an honest CSPRNG never trips it, while a modulo bias (characters 0..7 about 25% more
// likely) gives a statistic in the thousands.
double chi_square(const std::string& sample, std::string_view alphabet) {
  std::map<char, int> counts;
  for (char c : sample) ++counts[c];
  const double expected = static_cast<double>(sample.size()) / static_cast<double>(alphabet.size());
  double chi = 0;
  for (char c : alphabet) {
    const double d = counts[c] - expected;
    chi += d * d / expected;
  }
  return chi;
}

TEST(OpenSslKeyGenerator, DistributionIsUniform) {
  OpenSslKeyGenerator generator;
  std::string sample;
  for (int i = 0; i < 62 * 2000 / 248; ++i) {
    auto key = generator.generate(GenerateSource{"", 248, Alphabet::Base62});
    ASSERT_TRUE(key);
    sample += *key;
  }
  EXPECT_LT(chi_square(sample, alphabet_chars(Alphabet::Base62)), 140.0);
}

TEST(ChiSquare, WouldCatchModuloBias) {
  // The statistic the test above relies on, fed a biased sample: byte % 62 over all 256 bytes.
  std::string biased;
  const auto chars = alphabet_chars(Alphabet::Base62);
  for (int round = 0; round < 500; ++round) {
    for (int b = 0; b < 256; ++b) biased.push_back(chars[static_cast<std::size_t>(b % 62)]);
  }
  EXPECT_GT(chi_square(biased, chars), 140.0);
}

TEST(ContentHash, IsSha256Hex) {
  EXPECT_EQ(*content_hash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(*content_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace keyward::apikey
