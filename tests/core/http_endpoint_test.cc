#include <gtest/gtest.h>

#include "common/core/http_transport.h"

namespace keyward {
namespace {

TEST(HttpEndpoint, ParsesSchemeHostPortAndPath) {
  std::string base;
  auto ep = HttpEndpoint::parse("https://demo.tradovateapi.com/v1/", &base);
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->host, "demo.tradovateapi.com");
  EXPECT_EQ(ep->port, 443);
  EXPECT_EQ(base, "/v1");
  ep = HttpEndpoint::parse("http://127.0.0.1:8080");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->port, 8080);
  ep = HttpEndpoint::parse("https://[::1]:6443");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->to_string(), "https://[::1]:6443");
}

TEST(HttpEndpoint, RejectsBadUrlsWithAReason) {
  EXPECT_EQ(HttpEndpoint::parse("localhost:6443").error().reason, "InvalidURL");
  EXPECT_EQ(HttpEndpoint::parse("ftp://x").error().reason, "InvalidURL");
  EXPECT_EQ(HttpEndpoint::parse("https://x:99999").error().reason, "InvalidURL");
}

}  // namespace
}  // namespace keyward
