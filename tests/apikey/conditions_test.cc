#include "operator/apikey/conditions.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace keyward::apikey {
namespace {

using namespace std::chrono_literals;

Condition ready(std::string_view status, std::string_view why, std::int64_t generation = 1) {
  return Condition{std::string(condition_type::kReady),
                   std::string(status),
                   std::string(why),
                   "message",
                   SystemTime{},
                   generation};
}

TEST(SetCondition, NewConditionGetsNowAsTransitionTime) {
  testing::FakeClock clock;
  std::vector<Condition> conditions;
  EXPECT_TRUE(set_condition(conditions, ready("True", "KeyAvailable"), clock.now()));
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0].last_transition_time, clock.now());
}

TEST(SetCondition, TransitionTimeChangesOnlyWhenStatusFlips) {
  testing::FakeClock clock;
  std::vector<Condition> conditions;
  set_condition(conditions, ready("True", "KeyAvailable"), clock.now());
  const SystemTime first = clock.now();
  clock.advance(10min);
  // Same status, new reason and generation: updated, transition time kept.
  EXPECT_TRUE(set_condition(conditions, ready("True", "KeyRotated", 2), clock.now()));
  EXPECT_EQ(conditions[0].reason, "KeyRotated");
  EXPECT_EQ(conditions[0].observed_generation, 2);
  EXPECT_EQ(conditions[0].last_transition_time, first);
  // Nothing new: no change reported.
  EXPECT_FALSE(set_condition(conditions, ready("True", "KeyRotated", 2), clock.now()));
  clock.advance(5min);
  EXPECT_TRUE(set_condition(conditions, ready("False", "InvalidSpec", 2), clock.now()));
  EXPECT_EQ(conditions[0].last_transition_time, clock.now());
  EXPECT_EQ(conditions.size(), 1u);
}

TEST(SetCondition, TransitionTimePassedInIsIgnored) {
  testing::FakeClock clock;
  std::vector<Condition> conditions;
  Condition c = ready("True", "KeyAvailable");
  c.last_transition_time = clock.now() - 24h;
  set_condition(conditions, c, clock.now());
  EXPECT_EQ(conditions[0].last_transition_time, clock.now());
}

TEST(Conditions, FindRemoveAndIsTrue) {
  testing::FakeClock clock;
  std::vector<Condition> conditions;
  set_condition(conditions, ready("True", "KeyAvailable"), clock.now());
  set_condition(conditions, Condition{"Degraded", "False", "AsExpected", "", SystemTime{}, 1},
                clock.now());
  EXPECT_TRUE(is_condition_true(conditions, "Ready"));
  EXPECT_FALSE(is_condition_true(conditions, "Degraded"));
  EXPECT_FALSE(is_condition_true(conditions, "Rotating"));
  ASSERT_NE(find_condition(conditions, "Degraded"), nullptr);
  EXPECT_EQ(find_condition(conditions, "Rotating"), nullptr);
  EXPECT_TRUE(remove_condition(conditions, "Degraded"));
  EXPECT_FALSE(remove_condition(conditions, "Degraded"));
  EXPECT_EQ(conditions.size(), 1u);
}

TEST(Conditions, JsonRoundTrip) {
  testing::FakeClock clock;
  Condition c{"Ready", "False", "WindowNeverOpens", "spec.rotation.windows: ...", clock.now(), 7};
  const nlohmann::json j = to_json(c);
  EXPECT_EQ(j["lastTransitionTime"], format_rfc3339(clock.now()));
  EXPECT_EQ(j["observedGeneration"], 7);
  auto back = condition_from_json(j);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
}

TEST(Conditions, MalformedJsonIsAnError) {
  EXPECT_FALSE(condition_from_json(nlohmann::json{{"status", "True"}}));
  EXPECT_FALSE(condition_from_json(
      nlohmann::json{{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", "yesterday"}}));
  auto e = condition_from_json(nlohmann::json::array());
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().reason, "InvalidStatus");
}

}  // namespace
}  // namespace keyward::apikey
