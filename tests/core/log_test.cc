#include "common/core/log.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace keyward {
namespace {

TEST(Logger, WritesOneJsonObjectPerLine) {
  auto sink = std::make_shared<MemorySink>();
  testing::FakeClock clock;
  Logger log("sidecar", sink, std::make_shared<Redactor>(), LogLevel::Info, &clock);
  log.info("token refreshed", {{"object", "bots/alpha"}, {"expiresInSeconds", 5400}});
  log.debug("hidden");
  ASSERT_EQ(sink->lines().size(), 1U);
  const auto line = nlohmann::json::parse(sink->lines()[0]);
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["component"], "sidecar");
  EXPECT_EQ(line["message"], "token refreshed");
  EXPECT_EQ(line["object"], "bots/alpha");
  EXPECT_EQ(line["time"], format_rfc3339(clock.now()));
}

TEST(Logger, RedactsRegisteredSecretsEverywhereInTheLine) {
  auto sink = std::make_shared<MemorySink>();
  Logger log("operator", sink, std::make_shared<Redactor>());
  const std::string secret = "nt_9f3aQ\"x\\secretvalue";
  log.redactor().add(secret);
  log.child("child").error("failed with " + secret, {{"detail", "key=" + secret}});
  const std::string out = sink->joined();
  EXPECT_EQ(out.find("secretvalue"), std::string::npos) << out;
  EXPECT_NE(out.find("[REDACTED]"), std::string::npos);
}

TEST(Redactor, IgnoresTooShortValues) {
  Redactor r;
  r.add("ab");
  EXPECT_EQ(r.redact("abc"), "abc");
  EXPECT_EQ(r.size(), 0U);
}

}  // namespace
}  // namespace keyward
