#include "tests/fake_apiserver/selectors.h"

#include <gtest/gtest.h>

namespace keyward::testing::fake {
namespace {

using nlohmann::json;

bool label_match(const std::string& selector, const json& labels) {
  auto parsed = LabelSelector::parse(selector);
  EXPECT_TRUE(parsed) << selector;
  return parsed && parsed->matches(labels);
}

TEST(LabelSelectorTest, Operators) {
  json labels = {{"app", "bot"}, {"tier", "web"}, {"n", "7"}};
  EXPECT_TRUE(label_match("", labels));
  EXPECT_TRUE(label_match("app=bot", labels));
  EXPECT_TRUE(label_match("app==bot", labels));
  EXPECT_FALSE(label_match("app!=bot", labels));
  EXPECT_TRUE(label_match("missing!=x", labels));
  EXPECT_TRUE(label_match("app in (bot, other)", labels));
  EXPECT_FALSE(label_match("app notin (bot)", labels));
  EXPECT_TRUE(label_match("missing notin (bot)", labels));
  EXPECT_TRUE(label_match("tier", labels));
  EXPECT_FALSE(label_match("!tier", labels));
  EXPECT_TRUE(label_match("app=bot,tier=web", labels));
  EXPECT_FALSE(label_match("app=bot,tier=db", labels));
  EXPECT_TRUE(label_match("n>5", labels));
  EXPECT_FALSE(label_match("n<5", labels));
  EXPECT_FALSE(LabelSelector::parse("app in bot"));
  EXPECT_FALSE(LabelSelector::parse("a,,b"));
}

TEST(LabelSelectorTest, FromJson) {
  auto sel = LabelSelector::from_json(
      {{"matchLabels", {{"app", "bot"}}},
       {"matchExpressions",
        json::array({{{"key", "tier"}, {"operator", "In"}, {"values", {"web", "db"}}}})}});
  ASSERT_TRUE(sel);
  EXPECT_TRUE(sel->matches({{"app", "bot"}, {"tier", "db"}}));
  EXPECT_FALSE(sel->matches({{"app", "bot"}}));
  EXPECT_FALSE(LabelSelector::from_json(
      {{"matchExpressions", json::array({{{"key", "a"}, {"operator", "Near"}}})}}));
}

TEST(FieldSelectorTest, PathsAndNegation) {
  json pod = {{"metadata", {{"name", "p"}, {"namespace", "ns"}}},
              {"status", {{"phase", "Running"}}},
              {"spec", {{"nodeName", "n1"}}}};
  auto sel = FieldSelector::parse("metadata.name=p,status.phase!=Pending,spec.nodeName==n1");
  ASSERT_TRUE(sel);
  EXPECT_TRUE(sel->matches(pod));
  auto other = FieldSelector::parse("status.phase=Pending");
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->matches(pod));
  auto missing = FieldSelector::parse("spec.missing=");
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->matches(pod));
  EXPECT_FALSE(FieldSelector::parse("metadata.name"));
}

}  // namespace
}  // namespace keyward::testing::fake
