#include "operator/apikey/key_hint.h"

#include <gtest/gtest.h>

namespace keyward::apikey {
namespace {

TEST(MaskKey, PrefixEllipsisAndLastFour) {
  EXPECT_EQ(mask_key("nt_AbCdEfGhIjKlMnOp9f3a", "nt_"),
            "nt_\u2026"
            "9f3a");
}

TEST(MaskKey, NoPrefixWhenTheKeyDoesNotStartWithIt) {
  EXPECT_EQ(mask_key("sk-live-0123456789abcdef", "nt_"),
            "\u2026"
            "cdef");
  EXPECT_EQ(mask_key("0123456789abcdef", ""),
            "\u2026"
            "cdef");
}

TEST(MaskKey, ShortKeysShowOnlyThePrefix) {
  EXPECT_EQ(mask_key("nt_abc", "nt_"), "nt_\u2026");
  EXPECT_EQ(mask_key("nt_abcdefgh", "nt_"), "nt_\u2026");  // 11 characters
  EXPECT_EQ(mask_key("abcdefghijk", ""), "\u2026");
  EXPECT_EQ(mask_key("", ""), "\u2026");
  // 12 characters in all but only 9 after the prefix: still no tail.
  EXPECT_EQ(mask_key("nt_abcdefghi", "nt_"), "nt_\u2026");
}

// Whatever the key, the hint never contains more than 4 characters of the secret part.
TEST(MaskKey, NeverRevealsMoreThanFourTrailingCharacters) {
  const std::string secret = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  for (std::size_t len = 0; len <= secret.size(); ++len) {
    const std::string key = "nt_" + secret.substr(0, len);
    const std::string hint = mask_key(key, "nt_");
    ASSERT_TRUE(hint.starts_with("nt_\u2026")) << hint;
    const std::string tail = hint.substr(std::string("nt_\u2026").size());
    EXPECT_LE(tail.size(), 4u) << key;
    if (!tail.empty()) {
      EXPECT_TRUE(key.ends_with(tail));
      // No run of 5 secret characters from anywhere in the key appears in the hint.
      for (std::size_t i = 0; i + 5 <= len; ++i) {
        EXPECT_EQ(hint.find(secret.substr(i, 5)), std::string::npos) << hint;
      }
    }
  }
}

}  // namespace
}  // namespace keyward::apikey
