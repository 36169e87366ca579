#include "tests/fake_apiserver/crd_validator.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/fake_apiserver/cel_subset.h"

namespace keyward::testing::fake {
namespace {

using nlohmann::json;

// YAML -> JSON for CRD files: quoted scalars stay strings (yaml-cpp tags them "!"), plain
// scalars become null, booleans and numbers where they read as such.
json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() != "?") return text;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  json number = json::parse(text, nullptr, false);
  return number.is_number() ? number : json(text);
}

json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& item : node) out[item.first.Scalar()] = yaml_to_json(item.second);
      return out;
    }
    default:
      return nullptr;
  }
}

json apikey_crd() {
  return yaml_to_json(YAML::LoadFile(std::string(KEYWARD_SOURCE_DIR) + "/crds/apikey.yaml"));
}

json& schema_of(json& crd, std::size_t version = 0) {
  return crd["spec"]["versions"][version]["schema"]["openAPIV3Schema"];
}

// A minimal valid CRD (one version, no subresources) around `schema`.
json crd_with(const json& schema) {
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", "widgets.example.com"}}},
          {"spec",
           {{"group", "example.com"},
            {"scope", "Namespaced"},
            {"names",
             {{"plural", "widgets"},
              {"singular", "widget"},
              {"kind", "Widget"},
              {"listKind", "WidgetList"}}},
            {"versions", json::array({{{"name", "v1"},
                                       {"served", true},
                                       {"storage", true},
                                       {"schema", {{"openAPIV3Schema", schema}}}}})}}}};
}

// {type: object, properties: {spec: <spec>}}
json crd_with_spec(const json& spec) {
  return crd_with({{"type", "object"}, {"properties", {{"spec", spec}}}});
}

const std::string kRoot = "spec.validation.openAPIV3Schema";
const std::string kSpec = kRoot + ".properties[spec]";

std::vector<std::string> texts(const std::vector<SchemaCause>& causes) {
  std::vector<std::string> out;
  for (const auto& c : causes) out.push_back(c.field + ": " + c.message);
  return out;
}

std::string dump(const std::vector<SchemaCause>& causes) {
  std::string out;
  for (const auto& t : texts(causes)) out += "\n  " + t;
  return out.empty() ? " (none)" : out;
}

bool has(const std::vector<SchemaCause>& causes, const std::string& field,
         const std::string& message) {
  for (const auto& c : causes) {
    if (c.field == field && c.message == message) return true;
  }
  return false;
}

#define EXPECT_CAUSE(causes, field, message) \
  EXPECT_TRUE(has(causes, field, message))   \
      << "want " << (field) << ": " << (message) << dump(causes)

#define EXPECT_ONLY_CAUSE(causes, field, message)   \
  do {                                              \
    EXPECT_EQ((causes).size(), 1U) << dump(causes); \
    EXPECT_CAUSE(causes, field, message);           \
  } while (false)

// ---- the project's CRD ---------------------------------------------------------------------

TEST(CrdValidatorTest, ApiKeyCrdIsAccepted) {
  auto causes = validate_crd(apikey_crd());
  EXPECT_TRUE(causes.empty()) << dump(causes);
}

// The lint stricter than the server (cel_subset.h): every rule of the CRD reads an optional
// field only behind has(), so it holds on defaults and on partial objects alike.
TEST(CrdValidatorTest, ApiKeyCrdRulesGuardEveryOptionalField) {
  json crd = apikey_crd();
  auto findings = check_cel_guards(schema_of(crd));
  for (const auto& f : findings) ADD_FAILURE() << f.path << ": " << f.rule << ": " << f.message;
  // And the lint can fail: the rule the real server refused.
  json& rules = schema_of(
      crd)["properties"]["spec"]["properties"]["tokenExchange"]["x-kubernetes-validations"];
  rules[0]["rule"] = "self.provider == 'none' || has(self.endpoint)";
  findings = check_cel_guards(schema_of(crd));
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].path, "spec.tokenExchange");
  EXPECT_NE(findings[0].message.find("provider"), std::string::npos) << findings[0].message;
}

TEST(CrdValidatorTest, DescriptionOnRootMetadataIsRefused) {
  json crd = apikey_crd();
  schema_of(crd)["properties"]["metadata"]["description"] = "Standard object metadata.";
  auto causes = validate_crd(crd);
  ASSERT_EQ(causes.size(), 1U) << dump(causes);
  EXPECT_EQ(causes[0].reason, "FieldValueForbidden");
  EXPECT_EQ(causes[0].field, "spec.validation.openAPIV3Schema.properties[metadata]");
  EXPECT_EQ(causes[0].message,
            "Forbidden: must not specify anything other than name and generateName, but metadata "
            "is implicitly specified");
}

TEST(CrdValidatorTest, UnguardedRuleFailsOnTheEmptyDefault) {
  json crd = apikey_crd();
  json& rules = schema_of(
      crd)["properties"]["spec"]["properties"]["tokenExchange"]["x-kubernetes-validations"];
  ASSERT_EQ(rules[0]["rule"],
            "!has(self.provider) || self.provider == 'none' || has(self.endpoint)");
  rules[0]["rule"] = "self.provider == 'none' || has(self.endpoint)";
  auto causes = validate_crd(crd);
  ASSERT_EQ(causes.size(), 1U) << dump(causes);
  EXPECT_EQ(causes[0].reason, "FieldValueInvalid");
  EXPECT_EQ(causes[0].field,
            "spec.validation.openAPIV3Schema.properties[spec].properties[tokenExchange].default");
  EXPECT_EQ(causes[0].message,
            "Invalid value: \"object\": no such key: provider evaluating rule: endpoint is "
            "required unless provider is none");
}

// ---- structural schema ---------------------------------------------------------------------

TEST(CrdValidatorTest, MissingTypeIsRequired) {
  auto causes =
      validate_crd(crd_with_spec({{"type", "object"}, {"properties", {{"name", json::object()}}}}));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".properties[name].type",
                    "Required value: must not be empty for specified object fields");
  causes = validate_crd(crd_with_spec({{"type", "array"}, {"items", {{"description", "x"}}}}));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".items.type",
                    "Required value: must not be empty for specified array items");
}

TEST(CrdValidatorTest, RootMustBeAnObject) {
  auto causes = validate_crd(crd_with({{"type", "array"}, {"items", {{"type", "string"}}}}));
  EXPECT_ONLY_CAUSE(causes, kRoot + ".type",
                    "Invalid value: \"array\": must be object at the root");
  causes = validate_crd(crd_with({{"properties", {{"spec", {{"type", "object"}}}}}}));
  EXPECT_ONLY_CAUSE(causes, kRoot + ".type", "Required value: must not be empty at the root");
}

TEST(CrdValidatorTest, ArraysNeedItems) {
  auto causes = validate_crd(crd_with_spec({{"type", "array"}}));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".items", "Required value: must be specified");
}

TEST(CrdValidatorTest, RootMetadataMayOnlyRestrictNames) {
  json with_names = {{"type", "object"},
                     {"properties",
                      {{"metadata",
                        {{"type", "object"},
                         {"properties", {{"name", {{"type", "string"}, {"maxLength", 20}}}}}}}}}};
  EXPECT_TRUE(validate_crd(crd_with(with_names)).empty());
  json with_labels = with_names;
  with_labels["properties"]["metadata"]["properties"]["labels"] = {{"type", "object"}};
  auto causes = validate_crd(crd_with(with_labels));
  EXPECT_CAUSE(causes, kRoot + ".properties[metadata]",
               "Forbidden: must not specify anything other than name and generateName, but "
               "metadata is implicitly specified");
  json kind_number = {{"type", "object"}, {"properties", {{"kind", {{"type", "integer"}}}}}};
  EXPECT_ONLY_CAUSE(validate_crd(crd_with(kind_number)), kRoot + ".properties[kind].type",
                    "Invalid value: \"integer\": must be string");
}

TEST(CrdValidatorTest, PatternsMustCompileAsRe2) {
  auto causes = validate_crd(crd_with_spec({{"type", "string"}, {"pattern", "+"}}));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".pattern",
                    "Invalid value: \"+\": must be a valid regular expression, but isn't: error "
                    "parsing regexp: missing argument to repetition operator: `+`");
  causes = validate_crd(crd_with_spec({{"type", "string"}, {"pattern", "^(?=a)b$"}}));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".pattern",
                    "Invalid value: \"^(?=a)b$\": must be a valid regular expression, but isn't: "
                    "error parsing regexp: invalid or unsupported Perl syntax: `(?=`");
  causes = validate_crd(crd_with_spec({{"type", "string"}, {"pattern", "(a)\\1"}}));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".pattern",
                    "Invalid value: \"(a)\\\\1\": must be a valid regular expression, but isn't: "
                    "error parsing regexp: invalid escape sequence: `\\1`");
  // RE2-only syntax compiles.
  EXPECT_TRUE(
      validate_crd(crd_with_spec({{"type", "string"}, {"pattern", "(?i)^\\Qa.b\\E\\z"}})).empty());
}

TEST(CrdValidatorTest, JunctorsOnlyValidate) {
  json spec = {{"type", "object"},
               {"properties", {{"a", {{"type", "string"}}}}},
               {"anyOf", json::array({{{"type", "object"}, {"required", {"a"}}}})}};
  auto causes = validate_crd(crd_with_spec(spec));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".anyOf[0].type", "Forbidden: must be empty to be structural");
  json int_or_string = {{"x-kubernetes-int-or-string", true},
                        {"anyOf", json::array({{{"type", "integer"}}, {{"type", "string"}}})}};
  EXPECT_TRUE(validate_crd(crd_with_spec(int_or_string)).empty());
  int_or_string["anyOf"] = json::array({{{"type", "string"}}, {{"type", "integer"}}});
  causes = validate_crd(crd_with_spec(int_or_string));
  EXPECT_EQ(causes.size(), 2U) << dump(causes);
  EXPECT_CAUSE(causes, kSpec + ".anyOf[0].type", "Forbidden: must be empty to be structural");
}

TEST(CrdValidatorTest, JunctorsMayNameOnlyDeclaredFields) {
  json schema = {{"type", "object"},
                 {"properties", {{"spec", {{"type", "object"}}}}},
                 {"allOf", json::array({{{"properties", {{"e", {{"maxLength", 3}}}}}}})}};
  auto causes = validate_crd(crd_with(schema));
  EXPECT_ONLY_CAUSE(
      causes, kRoot + ".properties[e]",
      "Required value: because it is defined in " + kRoot + ".allOf[0].properties[e]");
}

// ---- per-node checks -----------------------------------------------------------------------

TEST(CrdValidatorTest, UniqueItemsIsForbidden) {
  auto causes = validate_crd(
      crd_with_spec({{"type", "array"}, {"uniqueItems", true}, {"items", {{"type", "string"}}}}));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".uniqueItems",
                    "Forbidden: uniqueItems cannot be set to true since the runtime complexity "
                    "becomes quadratic");
}

TEST(CrdValidatorTest, AdditionalPropertiesAndPropertiesAreExclusive) {
  auto causes = validate_crd(crd_with_spec({{"type", "object"},
                                            {"properties", {{"a", {{"type", "string"}}}}},
                                            {"additionalProperties", {{"type", "string"}}}}));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".additionalProperties",
                    "Forbidden: additionalProperties and properties are mutual exclusive");
}

TEST(CrdValidatorTest, UnknownTypeIsNotSupported) {
  auto causes = validate_crd(crd_with_spec({{"type", "map"}}));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".type",
                    "Unsupported value: \"map\": supported values: \"array\", \"boolean\", "
                    "\"integer\", \"number\", \"object\", \"string\"");
}

TEST(CrdValidatorTest, RefIsReportedOnlyWhenNothingElseIs) {
  json spec = {{"type", "object"}, {"$ref", "#/definitions/x"}};
  auto causes = validate_crd(crd_with_spec(spec));
  EXPECT_ONLY_CAUSE(causes, kRoot, "Invalid value: \"\": OpenAPIV3Schema '$ref' is not supported");
  spec["uniqueItems"] = true;
  causes = validate_crd(crd_with_spec(spec));
  EXPECT_EQ(causes.size(), 1U) << dump(causes);
  EXPECT_EQ(causes[0].field, kSpec + ".uniqueItems");
}

// ---- list and map types --------------------------------------------------------------------

json map_list(const json& keys, const json& item_properties, const json& required) {
  json items = {{"type", "object"}, {"properties", item_properties}};
  if (!required.empty()) items["required"] = required;
  json list = {{"type", "array"}, {"x-kubernetes-list-type", "map"}, {"items", items}};
  if (!keys.is_null()) list["x-kubernetes-list-map-keys"] = keys;
  return list;
}

TEST(CrdValidatorTest, MapListNeedsKeys) {
  auto causes =
      validate_crd(crd_with_spec(map_list(nullptr, {{"name", {{"type", "string"}}}}, {"name"})));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".x-kubernetes-list-map-keys",
                    "Required value: must not be empty if x-kubernetes-list-type is map");
}

TEST(CrdValidatorTest, MapListKeysMustBeRequiredOrDefaulted) {
  auto causes = validate_crd(
      crd_with_spec(map_list({"name"}, {{"name", {{"type", "string"}}}}, json::array())));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".items.properties[name].default",
                    "Required value: this property is in x-kubernetes-list-map-keys, so it must "
                    "have a default or be a required property");
  causes = validate_crd(
      crd_with_spec(map_list({"name", "port"}, {{"name", {{"type", "string"}}}}, {"name"})));
  EXPECT_ONLY_CAUSE(
      causes, kSpec + ".x-kubernetes-list-map-keys",
      "Invalid value: []string{\"name\", \"port\"}: entries must all be names of item "
      "properties");
}

TEST(CrdValidatorTest, SetItemsMustBeAtomic) {
  json set = {{"type", "array"},
              {"x-kubernetes-list-type", "set"},
              {"items", {{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}}}};
  auto causes = validate_crd(crd_with_spec(set));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".items.x-kubernetes-map-type",
                    "Invalid value: \"null\": must be atomic as item of a list with "
                    "x-kubernetes-list-type=set");
  set["items"]["x-kubernetes-map-type"] = "atomic";
  EXPECT_TRUE(validate_crd(crd_with_spec(set)).empty()) << dump(validate_crd(crd_with_spec(set)));
}

// ---- defaults ------------------------------------------------------------------------------

TEST(CrdValidatorTest, DefaultMustNotHaveUnknownFields) {
  auto causes = validate_crd(crd_with_spec({{"type", "object"},
                                            {"properties", {{"a", {{"type", "string"}}}}},
                                            {"default", {{"foo", "bar"}}}}));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".default",
                    "Invalid value: map[string]interface {}{\"foo\":\"bar\"}: must not have "
                    "unknown fields");
}

TEST(CrdValidatorTest, DefaultMustBeInTheEnum) {
  auto causes =
      validate_crd(crd_with_spec({{"type", "string"}, {"enum", {"a", "b"}}, {"default", "c"}}));
  ASSERT_EQ(causes.size(), 1U) << dump(causes);
  EXPECT_EQ(causes[0].reason, "FieldValueNotSupported");
  EXPECT_CAUSE(causes, kSpec + ".default",
               "Unsupported value: \"c\": supported values: \"a\", \"b\"");
}

TEST(CrdValidatorTest, DefaultValidatesWithoutNestedDefaults) {
  json spec = {{"type", "object"},
               {"required", {"mode"}},
               {"properties", {{"mode", {{"type", "string"}, {"default", "fast"}}}}},
               {"default", json::object()}};
  auto causes = validate_crd(crd_with_spec(spec));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".default.mode", "Required value");
  json bounded = {{"type", "integer"}, {"maximum", 10}, {"default", 11}};
  EXPECT_ONLY_CAUSE(validate_crd(crd_with_spec(bounded)), kSpec + ".default",
                    "Invalid value: 11:  in body should be less than or equal to 10");
  json typed = {{"type", "object"},
                {"properties", {{"n", {{"type", "integer"}}}}},
                {"default", {{"n", "x"}}}};
  causes = validate_crd(crd_with_spec(typed));
  ASSERT_EQ(causes.size(), 1U) << dump(causes);
  EXPECT_EQ(causes[0].reason, "FieldValueTypeInvalid");
  EXPECT_CAUSE(causes, kSpec + ".default.n",
               "Invalid value: \"string\": n in body must be of type integer: \"string\"");
}

TEST(CrdValidatorTest, DefaultsAreForbiddenInResourceMeta) {
  json schema = {{"type", "object"},
                 {"properties",
                  {{"metadata",
                    {{"type", "object"},
                     {"properties", {{"name", {{"type", "string"}, {"default", "x"}}}}}}}}}};
  auto causes = validate_crd(crd_with(schema));
  EXPECT_ONLY_CAUSE(causes, kRoot + ".properties[metadata].properties[name].default",
                    "Forbidden: must not be set in top-level metadata");
}

TEST(CrdValidatorTest, DefaultsNeedPruningEnabled) {
  json crd = crd_with_spec({{"type", "string"}, {"default", "a"}});
  crd["spec"]["preserveUnknownFields"] = true;
  auto causes = validate_crd(crd);
  EXPECT_CAUSE(causes, "spec.preserveUnknownFields",
               "Invalid value: true: must be false in order to use defaults in the schema");
  EXPECT_CAUSE(causes, "spec.preserveUnknownFields",
               "Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields "
               "to true in spec.versions[*].schema instead");
}

TEST(CrdValidatorTest, FalseRuleOnDefaultUsesTheReason) {
  json spec = {{"type", "object"},
               {"properties", {{"a", {{"type", "string"}}}}},
               {"default", json::object()},
               {"x-kubernetes-validations", json::array({{{"rule", "has(self.a)"},
                                                          {"message", "a is required"},
                                                          {"reason", "FieldValueForbidden"}}})}};
  auto causes = validate_crd(crd_with_spec(spec));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".default", "Forbidden: a is required");
  spec["x-kubernetes-validations"][0].erase("reason");
  spec["x-kubernetes-validations"][0].erase("message");
  EXPECT_ONLY_CAUSE(validate_crd(crd_with_spec(spec)), kSpec + ".default",
                    "Invalid value: \"object\": failed rule: has(self.a)");
}

// ---- CEL rule texts ------------------------------------------------------------------------

TEST(CrdValidatorTest, RuleReasonMustBeKnown) {
  json spec = {{"type", "object"},
               {"x-kubernetes-validations",
                json::array({{{"rule", "true"}, {"reason", "FieldValueBogus"}}})}};
  auto causes = validate_crd(crd_with_spec(spec));
  ASSERT_EQ(causes.size(), 1U) << dump(causes);
  EXPECT_EQ(causes[0].reason, "FieldValueNotSupported");
  EXPECT_CAUSE(causes, kSpec + ".x-kubernetes-validations[0].reason",
               "Unsupported value: \"FieldValueBogus\": supported values: \"FieldValueDuplicate\", "
               "\"FieldValueForbidden\", \"FieldValueInvalid\", \"FieldValueRequired\"");
}

TEST(CrdValidatorTest, RuleTextChecks) {
  json spec = {
      {"type", "object"},
      {"properties", {{"a", {{"type", "string"}}}}},
      {"x-kubernetes-validations", json::array({{{"rule", "  "}},
                                                {{"rule", "has(self.a) ||\nhas(self.b)"}},
                                                {{"rule", "true"}, {"fieldPath", ".b"}},
                                                {{"rule", "true"}, {"fieldPath", ".a"}}})}};
  auto causes = validate_crd(crd_with_spec(spec));
  EXPECT_EQ(causes.size(), 3U) << dump(causes);
  const std::string r = kSpec + ".x-kubernetes-validations";
  EXPECT_CAUSE(causes, r + "[0].rule", "Required value: rule is not specified");
  EXPECT_CAUSE(causes, r + "[1].message",
               "Required value: message must be specified if rule contains line breaks");
  EXPECT_CAUSE(causes, r + "[2].fieldPath",
               "Invalid value: \".b\": fieldPath must be a valid path");
}

TEST(CrdValidatorTest, OldSelfNeedsCorrelatableNodes) {
  json spec = {{"type", "array"},
               {"items",
                {{"type", "string"},
                 {"x-kubernetes-validations", json::array({{{"rule", "self == oldSelf"}}})}}}};
  auto causes = validate_crd(crd_with_spec(spec));
  EXPECT_ONLY_CAUSE(causes, kSpec + ".items.x-kubernetes-validations[0].rule",
                    "Invalid value: \"self == oldSelf\": oldSelf cannot be used on the "
                    "uncorrelatable portion of the schema within " +
                        kSpec);
}

// ---- spec-level checks ---------------------------------------------------------------------

TEST(CrdValidatorTest, SpecChecks) {
  json crd = crd_with_spec({{"type", "string"}});
  crd["metadata"]["name"] = "gadgets.example.com";
  crd["spec"]["group"] = "example";
  crd["spec"]["versions"].push_back(crd["spec"]["versions"][0]);
  crd["spec"]["versions"][0]["additionalPrinterColumns"] =
      json::array({{{"name", "Size"}, {"type", "bigint"}, {"jsonPath", "spec.size"}}});
  auto causes = validate_crd(crd);
  EXPECT_CAUSE(
      causes, "metadata.name",
      "Invalid value: \"gadgets.example.com\": must be spec.names.plural+\".\"+spec.group");
  EXPECT_CAUSE(causes, "spec.group",
               "Invalid value: \"example\": should be a domain with at least one dot");
  EXPECT_CAUSE(causes, "spec.versions[0].additionalPrinterColumns[0].type",
               "Invalid value: \"bigint\": must be one of boolean,date,integer,number,string");
  EXPECT_CAUSE(causes, "spec.versions[0].additionalPrinterColumns[0].JSONPath",
               "Invalid value: \"spec.size\": must be a simple json path starting with .");
  std::vector<std::string> fields;
  for (const auto& c : causes)
    fields.push_back(c.field + " " + c.message.substr(c.message.rfind(": ") + 2));
  EXPECT_NE(
      std::find(fields.begin(), fields.end(), "spec.versions must contain unique version names"),
      fields.end())
      << dump(causes);
  EXPECT_NE(std::find(fields.begin(), fields.end(),
                      "spec.versions must have exactly one version marked as storage version"),
            fields.end())
      << dump(causes);
}

TEST(CrdValidatorTest, DifferentSchemasArePathedPerVersion) {
  json crd = crd_with_spec({{"type", "string"}});
  json v2 = crd["spec"]["versions"][0];
  v2["name"] = "v2";
  v2["storage"] = false;
  v2["schema"]["openAPIV3Schema"]["properties"]["spec"] = {
      {"type", "array"}, {"items", {{"type", "string"}}}, {"uniqueItems", true}};
  crd["spec"]["versions"].push_back(v2);
  auto causes = validate_crd(crd);
  EXPECT_ONLY_CAUSE(causes, "spec.versions[1].schema.openAPIV3Schema.properties[spec].uniqueItems",
                    "Forbidden: uniqueItems cannot be set to true since the runtime complexity "
                    "becomes quadratic");
  crd["spec"]["versions"][1]["schema"] = crd["spec"]["versions"][0]["schema"];
  EXPECT_TRUE(validate_crd(crd).empty()) << dump(validate_crd(crd));
  crd["spec"]["versions"][0].erase("schema");
  crd["spec"]["versions"][1].erase("schema");
  causes = validate_crd(crd);
  EXPECT_EQ(causes.size(), 2U) << dump(causes);
  EXPECT_CAUSE(causes, "spec.versions[1].schema.openAPIV3Schema",
               "Required value: schemas are required");
}

TEST(CrdValidatorTest, StatusSubresourceLimitsTheRoot) {
  json crd = crd_with({{"type", "object"},
                       {"x-kubernetes-embedded-resource", true},
                       {"x-kubernetes-preserve-unknown-fields", true}});
  crd["spec"]["versions"][0]["subresources"] = {{"status", json::object()}};
  auto causes = validate_crd(crd);
  ASSERT_EQ(causes.size(), 1U) << dump(causes);
  EXPECT_EQ(causes[0].field, kRoot);
  EXPECT_NE(causes[0].message.find("fields are allowed at the root of the schema if the status "
                                   "subresource is enabled"),
            std::string::npos);
}

// ---- the Status message --------------------------------------------------------------------

TEST(CrdValidatorTest, InvalidMessage) {
  std::vector<SchemaCause> one = {{"FieldValueForbidden", "Forbidden: no", "spec.a"}};
  EXPECT_EQ(crd_invalid_message("apikeys.keyward.dev", one),
            "CustomResourceDefinition.apiextensions.k8s.io \"apikeys.keyward.dev\" is invalid: "
            "spec.a: Forbidden: no");
  std::vector<SchemaCause> same_twice = {one[0], one[0]};
  EXPECT_EQ(
      crd_invalid_message("x.y.z", same_twice),
      "CustomResourceDefinition.apiextensions.k8s.io \"x.y.z\" is invalid: spec.a: Forbidden: no");
  std::vector<SchemaCause> several = {
      one[0], {"FieldValueRequired", "Required value", "spec.b"}, one[0]};
  EXPECT_EQ(crd_invalid_message("x.y.z", several),
            "CustomResourceDefinition.apiextensions.k8s.io \"x.y.z\" is invalid: [spec.a: "
            "Forbidden: no, spec.b: Required value]");
}

}  // namespace
}  // namespace keyward::testing::fake
