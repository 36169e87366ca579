#include "tests/fake_apiserver/cel_subset.h"

#include <gtest/gtest.h>

namespace keyward::testing::fake {
namespace {

using nlohmann::json;

// The outcome as "true", "false", "error: <message>" or "unsupported: <message>", so that a
// failing expectation shows the whole outcome.
std::string run(const std::string& rule, const json& self = json::object()) {
  CelOutcome outcome = evaluate_cel(rule, self);
  switch (outcome.kind) {
    case CelOutcome::Kind::True:
      return "true";
    case CelOutcome::Kind::False:
      return "false";
    case CelOutcome::Kind::Error:
      return "error: " + outcome.message;
    case CelOutcome::Kind::Unsupported:
      return "unsupported: " + outcome.message;
  }
  return "?";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CelSubsetTest, UnguardedOptionalFieldIsNoSuchKey) {
  const std::string rule = "self.provider == 'none' || has(self.endpoint)";
  EXPECT_EQ(run(rule, json::object()), "error: no such key: provider");
  EXPECT_EQ(run(rule, {{"provider", "none"}}), "true");
  EXPECT_EQ(run(rule, {{"provider", "tradovate"}}), "false");
  EXPECT_EQ(run(rule, {{"provider", "tradovate"}, {"endpoint", "https://x"}}), "true");
}

TEST(CelSubsetTest, GuardedOptionalField) {
  const std::string rule = "!has(self.provider) || self.provider == 'none' || has(self.endpoint)";
  EXPECT_EQ(run(rule, json::object()), "true");
  EXPECT_EQ(run(rule, {{"provider", "tradovate"}}), "false");
  EXPECT_EQ(run("self.refreshLeadSeconds < self.lifetimeSeconds", json::object()),
            "error: no such key: refreshLeadSeconds");
  EXPECT_EQ(run("self.refreshLeadSeconds < self.lifetimeSeconds",
                {{"refreshLeadSeconds", 300}, {"lifetimeSeconds", 5400}}),
            "true");
}

TEST(CelSubsetTest, ExactlyOneOf) {
  const std::string rule =
      "(has(self.generate) ? 1 : 0) + (has(self.secretRef) ? 1 : 0) + (has(self.http) ? 1 : 0) "
      "== 1";
  EXPECT_EQ(run(rule, json::object()), "false");
  EXPECT_EQ(run(rule, {{"generate", json::object()}}), "true");
  EXPECT_EQ(run(rule, {{"secretRef", {{"name", "s"}}}}), "true");
  EXPECT_EQ(run(rule, {{"generate", json::object()}, {"http", json::object()}}), "false");

  const std::string either = "has(self.schedule) != has(self.intervalSeconds)";
  EXPECT_EQ(run(either, json::object()), "false");
  EXPECT_EQ(run(either, {{"schedule", "0 * * * *"}}), "true");
  EXPECT_EQ(run(either, {{"intervalSeconds", 60}}), "true");
  EXPECT_EQ(run(either, {{"schedule", "0 * * * *"}, {"intervalSeconds", 60}}), "false");
}

TEST(CelSubsetTest, LogicalOperatorsAbsorbErrorsBothWays) {
  EXPECT_EQ(run("self.x == 1 || true"), "true");
  EXPECT_EQ(run("true || self.x == 1"), "true");
  EXPECT_EQ(run("self.x == 1 && false"), "false");
  EXPECT_EQ(run("false && self.x == 1"), "false");
  EXPECT_EQ(run("self.x == 1 || false"), "error: no such key: x");
  EXPECT_EQ(run("true && self.x == 1"), "error: no such key: x");
  EXPECT_EQ(run("self.x == 1 || self.y == 1"), "error: no such key: x") << "the first error";
  EXPECT_EQ(run("1 || false"), "error: no such overload");
  EXPECT_EQ(run("1 || true"), "true") << "a non-bool operand is absorbed like an error";
}

TEST(CelSubsetTest, NestedGuards) {
  const std::string rule =
      "!has(self.workloadRef) || self.workloadRef.kind != 'Pod' || "
      "(has(self.restartStrategy) && self.restartStrategy != 'RolloutRestart')";
  EXPECT_EQ(run(rule, json::object()), "true");
  EXPECT_EQ(run(rule, {{"workloadRef", {{"kind", "Deployment"}, {"name", "a"}}}}), "true");
  EXPECT_EQ(run(rule, {{"workloadRef", {{"kind", "Pod"}, {"name", "a"}}}}), "false");
  EXPECT_EQ(run(rule, {{"workloadRef", {{"kind", "Pod"}}}, {"restartStrategy", "Evict"}}), "true");
  EXPECT_EQ(run(rule, {{"workloadRef", {{"kind", "Pod"}}}, {"restartStrategy", "RolloutRestart"}}),
            "false");
  EXPECT_EQ(run("has(self.a.b)", json::object()), "error: no such key: a")
      << "has() evaluates its operand";
  EXPECT_EQ(run("has(self.a.b)", {{"a", json::object()}}), "false");
  EXPECT_EQ(run("has(self.a.b)", {{"a", "text"}}), "error: no such overload");
}

TEST(CelSubsetTest, Literals) {
  EXPECT_EQ(run("'it\\'s' == \"it's\""), "true");
  EXPECT_EQ(run("\"say \\\"hi\\\"\" == 'say \"hi\"'"), "true");
  EXPECT_EQ(run("'a\\\\b'.size() == 3"), "true");
  EXPECT_EQ(run("'a\\nb' != 'a\\\\nb'"), "true");
  EXPECT_EQ(run("null == null && self.n == null", {{"n", nullptr}}), "true");
  EXPECT_EQ(run("-5 < 0 && --5 == 5 && -(2 + 3) == -5"), "true");
  EXPECT_EQ(run("-9223372036854775808 < 9223372036854775807"), "true");
  EXPECT_TRUE(run("9223372036854775808 > 0").starts_with("unsupported: syntax error"));
  EXPECT_EQ(run("[1, 2,] == [1, 2]"), "true");
  EXPECT_EQ(run("1"), "error: cel expression must evaluate to a bool");
}

TEST(CelSubsetTest, SelectionAndIndexing) {
  json self = {{"m", {{"k", "v"}}}, {"l", {10, 20}}, {"s", "text"}};
  EXPECT_EQ(run("self['m']['k'] == 'v' && self.m.k == 'v'", self), "true");
  EXPECT_EQ(run("self.m['x'] == 'v'", self), "error: no such key: x");
  EXPECT_EQ(run("self.l[1] == 20", self), "true");
  EXPECT_EQ(run("self.l[2] == 20", self), "error: index out of bounds: 2");
  EXPECT_EQ(run("self.l[-1] == 20", self), "error: index out of bounds: -1");
  EXPECT_EQ(run("self.s.x == 1", self), "error: no such overload");
  EXPECT_EQ(run("self.l['a'] == 1", self), "error: no such overload");
  EXPECT_EQ(run("self.a__dash__b == 1", {{"a-b", 1}}), "true") << "Kubernetes escaping";
  EXPECT_EQ(run("self.__namespace__ == 'n'", {{"namespace", "n"}}), "true");
}

TEST(CelSubsetTest, SizeAndIn) {
  json self = {{"name", "h\xC3\xA9llo"}, {"tags", {"a", "b"}}, {"labels", {{"app", "x"}}}};
  EXPECT_EQ(run("size(self.name) == 5 && self.name.size() == 5", self), "true")
      << "code points, not bytes";
  EXPECT_EQ(run("size(self.tags) == 2 && self.labels.size() == 1", self), "true");
  EXPECT_EQ(run("size(1) == 1", self), "error: no such overload");
  EXPECT_EQ(run("'a' in self.tags && !('c' in self.tags)", self), "true");
  EXPECT_EQ(run("'app' in self.labels && !('x' in self.labels)", self), "true");
  EXPECT_EQ(run("self.name in ['x', 'h\xC3\xA9llo']", self), "true");
  EXPECT_EQ(run("'a' in 'abc'", self), "error: no such overload");
}

TEST(CelSubsetTest, ArithmeticAndComparison) {
  EXPECT_EQ(run("2 + 3 * 4 == 14 && (2 + 3) * 4 == 20 && 7 / 2 == 3 && -7 / 2 == -3"), "true");
  EXPECT_EQ(run("7 % 3 == 1 && -7 % 3 == -1 && 10 - 4 - 3 == 3"), "true");
  EXPECT_EQ(run("'ab' + 'c' == 'abc' && [1] + [2] == [1, 2]"), "true");
  EXPECT_EQ(run("'a' < 'b' && 'b' >= 'b' && 2 > 1 && 1 <= 1 && false < true"), "true");
  EXPECT_EQ(run("1 / 0 == 1"), "error: division by zero");
  EXPECT_EQ(run("1 % 0 == 1"), "error: modulus by zero");
  EXPECT_EQ(run("9223372036854775807 + 1 > 0"), "error: integer overflow");
  EXPECT_EQ(run("-9223372036854775808 / -1 > 0"), "error: integer overflow");
  EXPECT_EQ(run("-(-9223372036854775808) > 0"), "error: integer overflow");
  EXPECT_EQ(run("1 + 'a' == 1"), "error: no such overload");
  EXPECT_EQ(run("1 < 'a'"), "error: no such overload");
  EXPECT_EQ(run("1 == 'a' || self.i == 1", {{"i", 1}}), "true") << "mixed types are unequal";
  EXPECT_EQ(run("self.o == {'a': 1}", {{"o", {{"a", 1}}}}),
            "unsupported: a map literal is outside the supported subset");
  EXPECT_TRUE(run("self.d < 2", {{"d", 1.5}}).starts_with("unsupported: a double value"));
}

TEST(CelSubsetTest, Conditional) {
  EXPECT_EQ(run("has(self.a) ? self.a == 1 : true"), "true") << "only the chosen branch runs";
  EXPECT_EQ(run("has(self.a) ? self.a == 1 : true", {{"a", 2}}), "false");
  EXPECT_EQ(run("1 ? true : false"), "error: no such overload");
  EXPECT_EQ(run("false ? false : true ? true : false"), "true") << "right-associative";
}

TEST(CelSubsetTest, OutsideTheSubsetIsUnsupported) {
  EXPECT_EQ(run("self.name.matches('^a')"),
            "unsupported: function 'matches' is outside the supported subset");
  EXPECT_EQ(run("self.l.all(x, x > 0)"),
            "unsupported: function 'all' is outside the supported subset");
  EXPECT_EQ(run("true || self.name.startsWith('a')"),
            "unsupported: function 'startsWith' is outside the supported subset")
      << "decided when parsing, even in a branch that would not run";
  EXPECT_EQ(run("self == oldSelf"),
            "unsupported: 'oldSelf' (transition rules) is outside the supported subset");
  EXPECT_EQ(run("self.x == 1.5"), "unsupported: a double literal is outside the supported subset");
  EXPECT_EQ(run("self.?x == 1"),
            "unsupported: optional field selection '.?' is outside the supported subset");
  EXPECT_EQ(run("timestamp(self.t) > 0"),
            "unsupported: function 'timestamp' is outside the supported subset");
  EXPECT_TRUE(run("self.a ==").starts_with("unsupported: syntax error at column 10"));
  EXPECT_TRUE(run("has(self['a'])").starts_with("unsupported: syntax error"));
  EXPECT_TRUE(run("'unterminated").starts_with("unsupported: syntax error"));
  EXPECT_TRUE(run("'ends in a backslash\\").starts_with("unsupported: syntax error"));
  EXPECT_EQ(run("self.a 5"), "unsupported: syntax error at column 8: unexpected integer literal");
  EXPECT_EQ(run("self.a \xC3\xA9"),
            "unsupported: syntax error at column 8: unexpected character byte 0xC3");
  EXPECT_EQ(run("'\\x41' == 'A'"),
            "unsupported: the escape sequence \\x is outside the supported subset");
  EXPECT_EQ(run("r'raw' == 'raw'"), "unsupported: a raw string is outside the supported subset");
  EXPECT_EQ(run("self.m[1] == 1", {{"m", {{"1", 1}}}}), "error: no such key: 1");
  EXPECT_TRUE(run(std::string(5000, '(') + "true" + std::string(5000, ')'))
                  .starts_with("unsupported: the rule nests too deeply"));
}

// A schema node like the ApiKey CRD's spec.tokenExchange, with one rule.
json token_exchange(const std::string& rule) {
  return {{"type", "object"},
          {"properties",
           {{"provider", {{"type", "string"}, {"enum", {"a", "none"}}}},
            {"endpoint", {{"type", "string"}}}}},
          {"x-kubernetes-validations", {{{"rule", rule}, {"message", "m"}}}}};
}

TEST(CelGuardTest, UnguardedOptionalFieldIsReported) {
  auto findings = check_cel_guards(token_exchange("self.provider == 'none' || has(self.endpoint)"),
                                   "spec.tokenExchange");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].path, "spec.tokenExchange");
  EXPECT_EQ(findings[0].rule, "self.provider == 'none' || has(self.endpoint)");
  EXPECT_EQ(findings[0].message,
            "reads spec.tokenExchange.provider without has(self.provider): the field is optional, "
            "so the rule fails with 'no such key: provider' on an object (or default) without it");
}

TEST(CelGuardTest, GuardedRuleIsClean) {
  EXPECT_TRUE(check_cel_guards(token_exchange("!has(self.provider) || self.provider == 'none' || "
                                              "has(self.endpoint)"))
                  .empty());
  EXPECT_TRUE(
      check_cel_guards(token_exchange("has(self.provider) ? self.provider != 'x' : true")).empty());
}

TEST(CelGuardTest, OnlySomeEnumValuesReachTheUnguardedRead) {
  // endpoint is read only when provider is "a", which the check finds by trying each value.
  auto findings = check_cel_guards(
      token_exchange("!has(self.provider) || self.provider == 'none' || self.endpoint.size() > 0"));
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(contains(findings[0].message, "reads endpoint without has(self.endpoint)"))
      << findings[0].message;
}

TEST(CelGuardTest, RequiredFieldNeedsNoGuard) {
  json schema = token_exchange("self.provider == 'none' || has(self.endpoint)");
  schema["required"] = {"provider"};
  EXPECT_TRUE(check_cel_guards(schema).empty());
}

json consumers(const std::string& rule) {
  return {
      {"type", "object"},
      {"properties",
       {{"spec",
         {{"type", "object"},
          {"properties",
           {{"consumers",
             {{"type", "object"},
              {"x-kubernetes-validations", {{{"rule", rule}}}},
              {"properties",
               {{"workloadRef",
                 {{"type", "object"},
                  {"required", {"kind", "name"}},
                  {"properties",
                   {{"kind", {{"type", "string"}, {"enum", {"Deployment", "Pod"}}}},
                    {"name", {{"type", "string"}}}}}}},
                {"restartStrategy",
                 {{"type", "string"}, {"enum", {"RolloutRestart", "Evict", "None"}}}}}}}}}}}}}}};
}

TEST(CelGuardTest, NestedRequiredFieldBehindHasIsClean) {
  EXPECT_TRUE(check_cel_guards(consumers("!has(self.workloadRef) || self.workloadRef.kind != "
                                         "'Pod' || (has(self.restartStrategy) && "
                                         "self.restartStrategy != 'RolloutRestart')"))
                  .empty());
}

TEST(CelGuardTest, NestedReadWithoutGuardIsReported) {
  auto findings = check_cel_guards(consumers("self.workloadRef.kind != 'Pod'"));
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].path, "spec.consumers");
  EXPECT_TRUE(contains(findings[0].message,
                       "reads spec.consumers.workloadRef without has(self.workloadRef)"))
      << findings[0].message;

  // The restartStrategy read is reached only with kind Pod.
  findings =
      check_cel_guards(consumers("!has(self.workloadRef) || self.workloadRef.kind != 'Pod' || "
                                 "self.restartStrategy != 'RolloutRestart'"));
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(contains(findings[0].message, "reads spec.consumers.restartStrategy"))
      << findings[0].message;

  // An optional field inside an optional field.
  json schema = consumers("!has(self.workloadRef) || self.workloadRef.name != ''");
  schema["properties"]["spec"]["properties"]["consumers"]["properties"]["workloadRef"]["required"] =
      {"kind"};
  findings = check_cel_guards(schema);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(contains(findings[0].message,
                       "reads spec.consumers.workloadRef.name without has(self.workloadRef.name)"))
      << findings[0].message;
}

TEST(CelGuardTest, RuleLiteralsAreTriedForFreeFormStrings) {
  // mode has no enum: the check tries "x" and the rule's own literals, so the branch that
  // reads url is reached.
  json schema = {
      {"type", "object"},
      {"required", {"mode"}},
      {"properties", {{"mode", {{"type", "string"}}}, {"url", {{"type", "string"}}}}},
      {"x-kubernetes-validations", {{{"rule", "self.mode != 'External' || self.url != ''"}}}}};
  auto findings = check_cel_guards(schema);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(contains(findings[0].message, "reads url")) << findings[0].message;
}

TEST(CelGuardTest, OtherErrorsAndFalseResultsAreNotFindings) {
  // false on {} and "no such overload" (a string placeholder compared with an int) are the
  // rule's business, not a missing guard.
  EXPECT_TRUE(check_cel_guards(token_exchange("has(self.endpoint)")).empty());
  EXPECT_TRUE(check_cel_guards(token_exchange("!has(self.endpoint) || self.endpoint > 1")).empty());
}

TEST(CelGuardTest, ArrayItemsAndUnsupportedRules) {
  json schema = {
      {"type", "object"},
      {"properties",
       {{"windows",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties", {{"start", {{"type", "string"}}}}},
            {"x-kubernetes-validations",
             {{{"rule", "self.start != ''"}}, {{"rule", "self.start.matches('^[0-9]')"}}}}}}}}}}};
  auto findings = check_cel_guards(schema, "spec.rotation");
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].path, "spec.rotation.windows[]");
  EXPECT_TRUE(contains(findings[0].message, "reads spec.rotation.windows[].start"))
      << findings[0].message;
  EXPECT_EQ(findings[1].rule, "self.start.matches('^[0-9]')");
  EXPECT_TRUE(contains(findings[1].message, "function 'matches' is outside the supported subset"))
      << findings[1].message;
}

TEST(CelGuardTest, TooManyOptionalFields) {
  json schema = {{"type", "object"}, {"properties", json::object()}};
  std::string rule;
  for (int i = 0; i < 11; ++i) {
    std::string name = "f" + std::to_string(i);
    schema["properties"][name] = {{"type", "boolean"}};
    rule += (rule.empty() ? "" : " || ") + std::string("has(self.") + name + ")";
  }
  schema["x-kubernetes-validations"] = {{{"rule", rule}}};
  auto findings = check_cel_guards(schema);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(contains(findings[0].message, "too many optional fields (11")) << findings[0].message;
}

}  // namespace
}  // namespace keyward::testing::fake
