#include "operator/controller/event_recorder.h"

#include <gtest/gtest.h>

#include "tests/operator/operator_fixture.h"

namespace keyward::testing {
namespace {

using controller::EventType;

class EventRecorderTest : public OperatorTest {
 protected:
  Json involved = {{"apiVersion", "keyward.dev/v1alpha1"},
                   {"kind", "ApiKey"},
                   {"metadata", {{"name", "alpha"}, {"namespace", "bots"}, {"uid", "u1"}}}};
};

TEST_F(EventRecorderTest, CreatesACoreV1EventAboutTheObject) {
  ASSERT_TRUE(events.record(involved, EventType::Warning, "EvictionBlocked", "pod x refused"));
  auto stored = all("events");
  ASSERT_EQ(stored.size(), 1u);
  const Json& e = stored[0];
  EXPECT_EQ(e["involvedObject"]["kind"], "ApiKey");
  EXPECT_EQ(e["involvedObject"]["name"], "alpha");
  EXPECT_EQ(e["involvedObject"]["uid"], "u1");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["reason"], "EvictionBlocked");
  EXPECT_EQ(e["source"]["component"], "keyward-operator");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["metadata"]["namespace"], "bots");
}

TEST_F(EventRecorderTest, RepeatsAreAggregatedIntoOneObject) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(events.record(involved, EventType::Normal, "KeyRotated", "rotated to version 2"));
    clock.advance(std::chrono::seconds(5));
  }
  ASSERT_TRUE(events.record(involved, EventType::Normal, "KeyRotated", "rotated to version 3"));
  auto stored = all("events");
  ASSERT_EQ(stored.size(), 2u);
  int total = 0;
  for (const auto& e : stored) total += e["count"].get<int>();
  EXPECT_EQ(total, 4);
  EXPECT_EQ(requests("POST", "/events"), 2u);
}

TEST_F(EventRecorderTest, AnExpiredEventStartsANewOne) {
  ASSERT_TRUE(events.record(involved, EventType::Normal, "KeyRotated", "m"));
  const std::string name = all("events")[0]["metadata"]["name"];
  ASSERT_TRUE(api.remove(kube::ResourceType::events(), "bots", name, {}));
  ASSERT_TRUE(events.record(involved, EventType::Normal, "KeyRotated", "m"));
  EXPECT_EQ(all("events").size(), 1u);
}

TEST_F(EventRecorderTest, RegisteredSecretsAreScrubbedFromMessages) {
  redactor->add("super-secret-key-material");
  ASSERT_TRUE(
      events.record(involved, EventType::Warning, "Oops", "leaked super-secret-key-material here"));
  EXPECT_EQ(all("events")[0]["message"].get<std::string>().find("super-secret"), std::string::npos);
}

}  // namespace
}  // namespace keyward::testing
