#include "operator/apikey/message_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace keyward::apikey {
namespace {

TEST(Utf8Length, CountsCodePoints) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("\u00e9t\u00e9"), 3u);             // été
  EXPECT_EQ(utf8_length("\u2026"), 1u);                    // …
  EXPECT_EQ(utf8_length("\U0001F4C8"), 1u);                // chart emoji, 4 bytes
  EXPECT_EQ(utf8_length(std::string("\xff\xfe", 2)), 2u);  // invalid bytes count one each
}

TEST(MessageSafe, CutsOnCodePointBoundariesAndStaysValidUtf8) {
  const std::string text = std::string(3, 'a') + "\u00e9\u00e9\u00e9";
  EXPECT_EQ(message_safe(text, 4), "aaa\u00e9...");
  EXPECT_EQ(message_safe(text, 6), text);
  for (std::size_t n = 0; n < 8; ++n) {
    EXPECT_NO_THROW((void)nlohmann::json(message_safe(text, n)).dump()) << n;
  }
}

TEST(MessageSafe, ReplacesInvalidBytesAndControlCharacters) {
  const std::string hostile = std::string("ok\xc3", 3) + "\n\t" + std::string("\xed\xa0\x80", 3) +
                              std::string("\xc0\xaf", 2) + "end";
  const std::string safe = message_safe(hostile, 100);
  EXPECT_EQ(safe, "ok?  ?????end");
  EXPECT_NO_THROW((void)nlohmann::json(safe).dump());
}

}  // namespace
}  // namespace keyward::apikey
