#include "common/core/yaml_json.h"

#include <gtest/gtest.h>

namespace keyward {
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

// File modes in charts and manifests ("defaultMode: 0440") are read as Kubernetes reads them
// (YAML 1.1: octal), not as YAML 1.2's decimal 440, which would be a different mode.
TEST(YamlJson, LeadingZeroIntegersAreOctalAsKubernetesReadsThem) {
  auto docs = load_yaml_documents("a: 0440\nb: 0400\nc: 0o17\nd: 0\ne: 10\nf: '0440'\n");
  ASSERT_TRUE(docs);
  auto j = yaml_to_json((*docs)[0]);
  ASSERT_TRUE(j);
  EXPECT_EQ(*j, json({{"a", 288}, {"b", 256}, {"c", 15}, {"d", 0}, {"e", 10}, {"f", "0440"}}));
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
}  // namespace keyward
