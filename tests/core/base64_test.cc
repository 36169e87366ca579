#include "common/core/base64.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

TEST(Base64, RoundTripsEveryByteAndPaddingLength) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 255u, 256u}) {
    const std::string in = all.substr(0, n);
    auto out = base64_decode(base64_encode(in));
    ASSERT_TRUE(out) << n;
    EXPECT_EQ(*out, in) << n;
  }
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64_encode(""), "");
}

TEST(Base64, IgnoresWhitespaceAndRejectsEverythingElse) {
  auto wrapped = base64_decode("aGVs\nbG8=\r\n");
  ASSERT_TRUE(wrapped);
  EXPECT_EQ(*wrapped, "hello");
  EXPECT_EQ(*base64_decode(""), "");
  for (const char* bad : {"aGVsbG8", "aGV$bG8=", "aG=sbG8=", "====", "aGVsbG8=aGVs"}) {
    auto r = base64_decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().reason, "InvalidBase64") << bad;
    EXPECT_EQ(r.error().message.find(bad), std::string::npos) << "never quotes the input";
  }
}

}  // namespace
}  // namespace keyward
