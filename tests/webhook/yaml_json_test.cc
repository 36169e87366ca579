#include "operator/webhook/yaml_json.h"

#include <gtest/gtest.h>

namespace keyward::webhook {
namespace {

using nlohmann::json;

TEST(YamlJson, TypesPlainScalarsAndKeepsQuotedOnesAsStrings) {
  auto docs =
      load_yaml_documents("a: true\nb: '1'\nc: 3\nd: 1.5\ne: ~\nf: \"true\"\ng: text\nh: [x, 2]\n");
  ASSERT_TRUE(docs);
  auto j = yaml_to_json((*docs)[0]);
  ASSERT_TRUE(j);
  EXPECT_EQ(*j, json({{"a", true},
                      {"b", "1"},
                      {"c", 3},
                      {"d", 1.5},
                      {"e", nullptr},
                      {"f", "true"},
                      {"g", "text"},
                      {"h", json::array({"x", 2})}}));
}

TEST(YamlJson, RoundTripKeepsStringsThatLookLikeOtherTypes) {
  json value = {{"s1", "true"},      {"s2", "123"},     {"s3", ""},
                {"s4", "yes"},       {"s5", "0.5"},     {"s6", "null"},
                {"n", 42},           {"b", false},      {"multi", "line1\nline2"},
                {"block", "a\nb\n"}, {"colon", "a: b"}, {"list", json::array({"1", 1})}};
  auto docs = load_yaml_documents(json_to_yaml(value));
  ASSERT_TRUE(docs);
  auto back = yaml_to_json((*docs)[0]);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, value) << json_to_yaml(value);
}

TEST(YamlJson, InvalidYamlIsAnError) {
  auto docs = load_yaml_documents("a: [1, 2\n");
  ASSERT_FALSE(docs);
  EXPECT_EQ(docs.error().reason, "InvalidYaml");
}

}  // namespace
}  // namespace keyward::webhook
