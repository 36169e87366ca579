// KeyDigestPublisher: the digests of the valid key versions on the tmpfs, in one swap; the
// previous version's digest leaves at its validUntil even when the broker cannot be asked; what
// was published stays through a broker outage; an inactive key lists none.

#include "sidecar/key_digest_publisher.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"
#include "tests/support/faulty_filesystem.h"
#include "tests/support/scripted_transport.h"

namespace keyward::sidecar {
namespace {

using std::chrono::seconds;

const std::string kCurrent(64, 'c');
const std::string kPrevious(64, 'p');

class KeyDigestPublisherTest : public ::testing::Test {
 protected:
  std::string answer(bool with_previous, bool active = true) const {
    nlohmann::json digests = nlohmann::json::array();
    if (active) {
      digests.push_back({{"keyVersion", 2}, {"sha256", kCurrent}, {"current", true}});
      if (with_previous) {
        digests.push_back({{"keyVersion", 1},
                           {"sha256", kPrevious},
                           {"current", false},
                           {"validUntil", format_rfc3339(clock.now() + seconds(10))}});
      }
    }
    return nlohmann::json{{"keyVersion", 2}, {"active", active}, {"digests", digests}}.dump();
  }
  std::string file(const std::string& name) {
    auto text = fs.read_file(tmp / name);
    return text ? *text : "<none>";
  }

  keyward::testing::TempDir tmp;
  keyward::testing::FakeClock clock;
  keyward::testing::FaultyFilesystem fs;
  keyward::testing::ScriptedTransport broker;
  std::shared_ptr<MemorySink> sink = std::make_shared<MemorySink>();
  Logger logger{"digests", sink, std::make_shared<Redactor>()};
  AtomicWriter writer{fs, clock, tmp / "accepted", logger};
  KeyDigestPublisher publisher{
      broker, "",    "bots", {"gamma"}, [] { return Result<std::string>("sa-token-0123\n"); },
      writer, logger};
};

TEST_F(KeyDigestPublisherTest, ThePreviousDigestLeavesAtItsGraceEndEvenWithoutTheBroker) {
  EXPECT_FALSE(publisher.ready());
  broker.push(200, answer(true));
  broker.push(503, R"({"reason":"NotLeader","message":"standby"})");
  const SystemTime t0 = clock.now();
  // The next publish is due when the previous version's grace ends, before the recheck.
  EXPECT_EQ(publisher.publish(t0, seconds(30)), t0 + seconds(10));
  EXPECT_TRUE(publisher.ready());
  EXPECT_EQ(file("accepted/gamma.sha256"), kCurrent + "\n" + kPrevious + "\n");
  const auto listed = nlohmann::json::parse(file("accepted/gamma.json"));
  EXPECT_EQ(listed["digests"].size(), 2u);
  EXPECT_EQ(broker.requests().at(0).path, "/v1/namespaces/bots/apikeys/gamma/digests");
  EXPECT_EQ(broker.requests().at(0).headers.find("Authorization")->second, "Bearer sa-token-0123");

  clock.advance(seconds(10));
  publisher.publish(clock.now(), seconds(30));  // the broker answers 503
  EXPECT_EQ(file("accepted/gamma.sha256"), kCurrent + "\n") << "the revoked digest stayed";
  EXPECT_TRUE(publisher.ready()) << "the current digest stays through an outage";
  EXPECT_NE(sink->joined().find("keeping the last digests"), std::string::npos);
  EXPECT_EQ(sink->joined().find("sa-token-0123"), std::string::npos);
}

TEST_F(KeyDigestPublisherTest, AnInactiveKeyListsNoDigestAndGarbageIsRefused) {
  broker.push(200, answer(false, false));
  broker.push(200, R"({"keyVersion":2,"active":true,"digests":[{"sha256":"short"}]})");
  publisher.publish(clock.now(), seconds(30));
  EXPECT_EQ(file("accepted/gamma.sha256"), "");
  EXPECT_EQ(nlohmann::json::parse(file("accepted/gamma.json"))["active"], false);
  publisher.publish(clock.now(), seconds(30));
  EXPECT_EQ(file("accepted/gamma.sha256"), "") << "a garbled answer replaced the files";
  EXPECT_NE(sink->joined().find("InvalidBrokerAnswer"), std::string::npos);
}

TEST_F(KeyDigestPublisherTest, NotReadyUntilTheBrokerAnswersNamingWhy) {
  broker.push(503, R"({"reason":"NotLeader","message":"a standby replica"})");
  broker.push(403,
              R"({"reason":"PodNotAccepting","message":"pod bots/gateway-0 does not accept"})");
  publisher.publish(clock.now(), seconds(30));
  auto ready = publisher.ready();
  ASSERT_FALSE(ready);
  EXPECT_NE(ready.error().message.find("NotLeader"), std::string::npos) << ready.error().message;
  EXPECT_EQ(file("accepted/gamma.sha256"), "<none>");
  // A pod that may not accept the key: told what to annotate, and nothing is accepted.
  publisher.publish(clock.now(), seconds(30));
  EXPECT_EQ(file("accepted/gamma.sha256"), "");
  EXPECT_NE(sink->joined().find("keyward.dev/accepts: gamma"), std::string::npos);
}

// A definite refusal (the ApiKey deleted, 404) empties that ApiKey's digests instead of keeping
// the last ones for good: a deleted key is no longer accepted.
TEST_F(KeyDigestPublisherTest, ARefusalEmptiesTheDigestsAndFailsClosed) {
  broker.push(200, answer(false));
  broker.push(404, R"({"reason":"ApiKeyNotFound","message":"ApiKey bots/gamma does not exist"})");
  publisher.publish(clock.now(), seconds(30));
  EXPECT_EQ(file("accepted/gamma.sha256"), kCurrent + "\n");
  publisher.publish(clock.now(), seconds(30));
  EXPECT_EQ(file("accepted/gamma.sha256"), "");
  EXPECT_EQ(nlohmann::json::parse(file("accepted/gamma.json"))["refused"], "ApiKeyNotFound");
  EXPECT_TRUE(publisher.ready());
}

}  // namespace
}  // namespace keyward::sidecar
