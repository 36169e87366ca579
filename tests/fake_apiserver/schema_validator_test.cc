#include "tests/fake_apiserver/schema_validator.h"

#include <gtest/gtest.h>

#include "tests/fake_apiserver/table_printer.h"

namespace keyward::testing::fake {
namespace {

using nlohmann::json;

// A function-local static: parsed on first use, not during static initialisation.
const json& schema() {
  static const json kSchema = json::parse(R"({
  "type": "object",
  "properties": {
    "spec": {
      "type": "object",
      "required": ["name"],
      "properties": {
        "name": {"type": "string", "maxLength": 5, "pattern": "^[a-z]+$"},
        "count": {"type": "integer", "minimum": 1, "maximum": 3, "default": 2},
        "mode": {"type": "string", "enum": ["a", "b"]},
        "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        "port": {"x-kubernetes-int-or-string": true}
      }
    }
  }
})");
  return kSchema;
}

std::set<std::string> fields(const SchemaOutcome& outcome) {
  std::set<std::string> out;
  for (const auto& c : outcome.causes) out.insert(c.field);
  return out;
}

TEST(SchemaTest, DefaultsAndAcceptsValidObjects) {
  json obj = {{"apiVersion", "x/v1"},
              {"kind", "X"},
              {"metadata", {{"name", "n"}, {"anything", 1}}},
              {"spec", {{"name", "abc"}, {"free", {{"k", 1}}}, {"port", "http"}}}};
  auto outcome = apply_schema(obj, schema());
  EXPECT_TRUE(outcome.causes.empty());
  EXPECT_TRUE(outcome.unknown_fields.empty());
  EXPECT_EQ(obj["spec"]["count"], 2);
  EXPECT_EQ(obj["metadata"]["anything"], 1) << "metadata is not pruned";
  EXPECT_EQ(obj["spec"]["free"]["k"], 1);
}

TEST(SchemaTest, ReportsEachViolationWithItsField) {
  json obj = {{"spec", {{"count", 9}, {"mode", "c"}, {"tags", {"a", "b", "c"}}, {"port", true}}}};
  auto outcome = apply_schema(obj, schema());
  EXPECT_EQ(fields(outcome), (std::set<std::string>{"spec.name", "spec.count", "spec.mode",
                                                    "spec.tags", "spec.port"}));
  json obj2 = {{"spec", {{"name", "ABCDEFG"}}}};
  auto outcome2 = apply_schema(obj2, schema());
  EXPECT_EQ(outcome2.causes.size(), 2u) << "too long and pattern mismatch";
  json obj3 = {{"spec", {{"name", 5}}}};
  auto outcome3 = apply_schema(obj3, schema());
  ASSERT_EQ(outcome3.causes.size(), 1u);
  EXPECT_EQ(outcome3.causes[0].reason, "FieldValueTypeInvalid");
}

TEST(SchemaTest, PrunesUnknownFields) {
  json obj = {{"spec", {{"name", "abc"}, {"extra", 1}}}, {"other", 2}};
  auto outcome = apply_schema(obj, schema());
  EXPECT_EQ(outcome.unknown_fields, (std::vector<std::string>{"spec.extra", "other"}));
  EXPECT_FALSE(obj["spec"].contains("extra"));
  EXPECT_FALSE(obj.contains("other"));
}

TEST(TablePrinterTest, HumanDurations) {
  using std::chrono::seconds;
  EXPECT_EQ(human_duration(seconds(5)), "5s");
  EXPECT_EQ(human_duration(seconds(119)), "119s");
  EXPECT_EQ(human_duration(seconds(200)), "3m20s");
  EXPECT_EQ(human_duration(seconds(3600)), "60m");
  EXPECT_EQ(human_duration(seconds(5 * 3600 + 60)), "5h1m");
  EXPECT_EQ(human_duration(seconds(30 * 3600)), "30h");
  EXPECT_EQ(human_duration(seconds(3 * 86400)), "3d");
  EXPECT_EQ(human_duration(seconds(30 * 86400)), "30d");
}

TEST(TablePrinterTest, ColumnPaths) {
  json obj = {{"status",
               {{"conditions", json::array({{{"type", "Rotating"}, {"status", "False"}},
                                            {{"type", "Ready"}, {"status", "True"}}})}}}};
  EXPECT_EQ(evaluate_column_path(obj, ".status.conditions[?(@.type==\"Ready\")].status"), "True");
  EXPECT_EQ(evaluate_column_path(obj, ".status.conditions[0].type"), "Rotating");
  EXPECT_TRUE(evaluate_column_path(obj, ".status.missing").is_null());
  EXPECT_TRUE(evaluate_column_path(obj, ".status.conditions[5].type").is_null());
}

}  // namespace
}  // namespace keyward::testing::fake
