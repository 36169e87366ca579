// Checks crds/apikey.yaml, the single source of the ApiKey schema, against the contracts, the
// examples and the C++ model: every property is described, every contract field exists, every
// example validates against the schema (a small validator for the subset of OpenAPI the CRD
// uses, written here as test code), the C++ defaults equal the CRD defaults, and every CEL rule
// has a matching check in parse_apikey.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "operator/apikey/apikey.h"

namespace keyward::apikey {
namespace {

using nlohmann::json;

std::string source_path(const std::string& relative) {
  return std::string(KEYWARD_SOURCE_DIR) + "/" + relative;
}

std::string read_text(const std::string& relative) {
  std::ifstream in(source_path(relative));
  EXPECT_TRUE(in.good()) << relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// YAML to JSON: plain scalars become booleans, integers or null where they look like one;
// quoted scalars stay strings.
json to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() == "?") {
        if (text == "true") return true;
        if (text == "false") return false;
        if (text == "null" || text == "~") return nullptr;
        if (std::regex_match(text, std::regex("-?[0-9]+"))) return std::stoll(text);
      }
      return text;
    }
    default:
      return nullptr;
  }
}

YAML::Node crd() {
  static const YAML::Node node = YAML::LoadFile(source_path("crds/apikey.yaml"));
  return node;
}

YAML::Node root_schema() { return crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]; }

// ---- the validator (test code) ----

class SchemaValidator {
 public:
  std::vector<std::string> errors;

  void validate(const json& value, const YAML::Node& schema, const std::string& path) {
    const std::string type = schema["type"] ? schema["type"].as<std::string>() : "";
    if (type == "object") {
      if (!value.is_object()) return error(path, "expected an object");
      if (schema["required"]) {
        for (const auto& r : schema["required"]) {
          if (!value.contains(r.as<std::string>()))
            error(path, "missing required " + r.as<std::string>());
        }
      }
      const YAML::Node props = schema["properties"];
      if (!props) return;  // metadata: the API server's own schema applies
      // The root's metadata is ObjectMeta: its schema may only restrict name and generateName,
      // and nothing else of it is pruned.
      const bool object_meta = path == ".metadata";
      for (const auto& [key, child] : value.items()) {
        if (object_meta && !props[key]) continue;
        if (!props[key]) {
          error(path + "." + key, "unknown field (the API server would drop it)");
          continue;
        }
        validate(child, props[key], path + "." + key);
      }
    } else if (type == "array") {
      if (!value.is_array()) return error(path, "expected a list");
      if (schema["maxItems"] && value.size() > schema["maxItems"].as<std::size_t>()) {
        error(path, "too many items");
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        validate(value[i], schema["items"], path + "[" + std::to_string(i) + "]");
      }
      if (schema["x-kubernetes-list-type"] &&
          schema["x-kubernetes-list-type"].as<std::string>() == "map") {
        std::set<std::string> keys;
        for (const auto& item : value) {
          std::string key;
          for (const auto& k : schema["x-kubernetes-list-map-keys"]) {
            key += item.value(k.as<std::string>(), json()).dump();
          }
          if (!keys.insert(key).second) error(path, "duplicate map key " + key);
        }
      }
    } else if (type == "string") {
      if (!value.is_string()) return error(path, "expected a string");
      const std::string s = value.get<std::string>();
      // Lengths count characters; the examples are ASCII apart from the hint's ellipsis.
      if (schema["maxLength"] && s.size() > schema["maxLength"].as<std::size_t>()) {
        error(path, "longer than maxLength");
      }
      if (schema["minLength"] && s.size() < schema["minLength"].as<std::size_t>()) {
        error(path, "shorter than minLength");
      }
      if (schema["pattern"] &&
          !std::regex_search(s, std::regex(schema["pattern"].as<std::string>()))) {
        error(path, "does not match pattern " + schema["pattern"].as<std::string>());
      }
    } else if (type == "integer") {
      if (!value.is_number_integer()) return error(path, "expected an integer");
      const auto v = value.get<std::int64_t>();
      if (schema["minimum"] && v < schema["minimum"].as<std::int64_t>())
        error(path, "below minimum");
      if (schema["maximum"] && v > schema["maximum"].as<std::int64_t>())
        error(path, "above maximum");
    } else if (type == "boolean") {
      if (!value.is_boolean()) return error(path, "expected a boolean");
    }
    if (schema["enum"]) {
      bool found = false;
      for (const auto& e : schema["enum"]) found = found || to_json(e) == value;
      if (!found) error(path, "not one of the enum values");
    }
  }

 private:
  void error(const std::string& path, const std::string& what) {
    errors.push_back((path.empty() ? "<root>" : path) + ": " + what);
  }
};

std::vector<std::string> validate(const json& object) {
  SchemaValidator v;
  v.validate(object, root_schema(), "");
  return v.errors;
}

// What the API server's defaulting does: absent properties with a default get it, recursively.
void apply_defaults(json& value, const YAML::Node& schema) {
  const std::string type = schema["type"] ? schema["type"].as<std::string>() : "";
  if (type == "object" && value.is_object() && schema["properties"]) {
    for (const auto& kv : schema["properties"]) {
      const std::string key = kv.first.as<std::string>();
      if (!value.contains(key) && kv.second["default"]) value[key] = to_json(kv.second["default"]);
      if (value.contains(key)) apply_defaults(value[key], kv.second);
    }
  } else if (type == "array" && value.is_array()) {
    for (auto& item : value) apply_defaults(item, schema["items"]);
  }
}

json load_example(const std::string& file) {
  return to_json(YAML::LoadFile(source_path("examples/" + file)));
}

std::vector<std::string> example_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(source_path("examples"))) {
    if (entry.path().extension() == ".yaml" &&
        entry.path().filename().string().starts_with("apikey")) {
      files.push_back(entry.path().filename().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// ---- the CRD itself ----

TEST(Crd, NamesScopeAndVersion) {
  const YAML::Node c = crd();
  EXPECT_EQ(c["apiVersion"].as<std::string>(), "apiextensions.k8s.io/v1");
  EXPECT_EQ(c["metadata"]["name"].as<std::string>(), "apikeys.keyward.dev");
  EXPECT_EQ(c["spec"]["group"].as<std::string>(), kGroup);
  EXPECT_EQ(c["spec"]["scope"].as<std::string>(), "Namespaced");
  EXPECT_EQ(c["spec"]["names"]["kind"].as<std::string>(), kKind);
  EXPECT_EQ(c["spec"]["names"]["plural"].as<std::string>(), "apikeys");
  EXPECT_EQ(c["spec"]["names"]["shortNames"][0].as<std::string>(), "ak");
  EXPECT_EQ(c["spec"]["names"]["categories"][0].as<std::string>(), "keyward");
  ASSERT_EQ(c["spec"]["versions"].size(), 1u);
  const YAML::Node v = c["spec"]["versions"][0];
  EXPECT_EQ(v["name"].as<std::string>(), kVersion);
  EXPECT_TRUE(v["served"].as<bool>());
  EXPECT_TRUE(v["storage"].as<bool>());
  EXPECT_TRUE(v["subresources"]["status"].IsMap());
}

TEST(Crd, PrinterColumns) {
  std::vector<std::pair<std::string, std::string>> columns;
  for (const auto& col : crd()["spec"]["versions"][0]["additionalPrinterColumns"]) {
    columns.emplace_back(col["name"].as<std::string>(), col["jsonPath"].as<std::string>());
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"Env", ".spec.environment"},
      {"Active", ".spec.active"},
      {"Hint", ".status.keyHint"},
      {"Version", ".status.keyVersion"},
      {"Last Rotation", ".status.lastRotationTime"},
      {"Next Rotation", ".status.nextRotationTime"},
      {"Ready", ".status.conditions[?(@.type==\"Ready\")].status"},
      {"Age", ".metadata.creationTimestamp"}};
  EXPECT_EQ(columns, expected);
}

void collect_undescribed(const YAML::Node& schema, const std::string& path,
                         std::vector<std::string>& missing) {
  // The root's metadata may restrict only name and generateName: the API server refuses a
  // description there ("must not specify anything other than name and generateName").
  if (path == "apikey.metadata") return;
  if (!schema["description"] || schema["description"].as<std::string>().empty()) {
    missing.push_back(path);
  }
  if (schema["properties"]) {
    for (const auto& kv : schema["properties"]) {
      collect_undescribed(kv.second, path + "." + kv.first.as<std::string>(), missing);
    }
  }
  if (schema["items"]) collect_undescribed(schema["items"], path + "[]", missing);
}

TEST(Crd, EveryPropertyHasADescription) {
  std::vector<std::string> missing;
  collect_undescribed(root_schema(), "apikey", missing);
  EXPECT_TRUE(missing.empty()) << ::testing::PrintToString(missing);
}

TEST(Crd, StatusFollowsTheApiConventions) {
  const YAML::Node status = root_schema()["properties"]["status"]["properties"];
  EXPECT_TRUE(status["observedGeneration"]);
  EXPECT_FALSE(status["phase"]);
  const YAML::Node conditions = status["conditions"];
  EXPECT_EQ(conditions["x-kubernetes-list-type"].as<std::string>(), "map");
  EXPECT_EQ(conditions["x-kubernetes-list-map-keys"][0].as<std::string>(), "type");
  for (const char* field :
       {"type", "status", "reason", "message", "lastTransitionTime", "observedGeneration"}) {
    EXPECT_TRUE(conditions["items"]["properties"][field]) << field;
  }
}

// Every spec field the contracts document (including the commented-out alternatives) exists.
void collect_unknown(const json& value, const YAML::Node& schema, const std::string& path,
                     std::vector<std::string>& unknown) {
  if (!value.is_object()) return;
  for (const auto& [key, child] : value.items()) {
    const YAML::Node prop = schema["properties"] ? schema["properties"][key] : YAML::Node();
    if (!prop) {
      unknown.push_back(path + "." + key);
      continue;
    }
    if (child.is_array() && prop["items"]) {
      for (const auto& item : child)
        collect_unknown(item, prop["items"], path + "." + key + "[]", unknown);
    } else {
      collect_unknown(child, prop, path + "." + key, unknown);
    }
  }
}

json contract_spec() {
  const std::string contracts = read_text("docs/contracts.md");
  const auto start = contracts.find("```yaml\napiVersion: keyward.dev/v1alpha1");
  EXPECT_NE(start, std::string::npos);
  std::istringstream in(contracts.substr(start));
  std::string line;
  std::string spec_text;
  bool in_spec = false;
  while (std::getline(in, line)) {
    if (line == "spec:")
      in_spec = true;
    else if (line == "status:" || line == "```") {
      if (in_spec) break;
    }
    if (!in_spec) continue;
    // Uncomment the documented alternatives ("# secretRef: {...}", "# intervalSeconds: ...").
    const auto first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, 2, "# ") == 0) {
      line.erase(first, 2);
    }
    spec_text += line + "\n";
  }
  return to_json(YAML::Load(spec_text))["spec"];
}

TEST(Crd, EveryContractSpecFieldExists) {
  const json spec = contract_spec();
  ASSERT_TRUE(spec.contains("source"));
  ASSERT_TRUE(spec["source"].contains("http"));  // the alternatives were read
  ASSERT_TRUE(spec["rotation"].contains("intervalSeconds"));
  std::vector<std::string> unknown;
  collect_unknown(spec, root_schema()["properties"]["spec"], "spec", unknown);
  EXPECT_TRUE(unknown.empty()) << ::testing::PrintToString(unknown);
  // Types, enums, patterns and limits hold for the contract's values too.
  SchemaValidator v;
  v.validate(spec, root_schema()["properties"]["spec"], "spec");
  EXPECT_TRUE(v.errors.empty()) << ::testing::PrintToString(v.errors);
}

// ---- the examples ----

TEST(Examples, OnePerSourceKindPlusTradovateAndOAuth2) {
  std::set<std::string> sources;
  std::set<std::string> providers;
  for (const auto& file : example_files()) {
    const json e = load_example(file);
    for (const auto& [kind, _] : e["spec"]["source"].items()) sources.insert(kind);
    if (e["spec"].contains("tokenExchange")) {
      providers.insert(e["spec"]["tokenExchange"]["provider"].get<std::string>());
    }
  }
  EXPECT_EQ(sources, (std::set<std::string>{"generate", "http", "secretRef"}));
  EXPECT_TRUE(providers.count("tradovate"));
  EXPECT_TRUE(providers.count("oauth2ClientCredentials"));
}

class ExampleManifest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExampleManifest, ValidatesAgainstTheSchema) {
  const json e = load_example(GetParam());
  EXPECT_EQ(e["apiVersion"], kApiVersion);
  EXPECT_EQ(e["kind"], kKind);
  const auto errors = validate(e);
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
}

TEST_P(ExampleManifest, ParsesWithTheSameDefaultsAsTheApiServer) {
  json raw = load_example(GetParam());
  json defaulted = raw;
  apply_defaults(defaulted, root_schema());
  EXPECT_TRUE(validate(defaulted).empty());
  auto from_raw = parse_apikey(raw);
  auto from_defaulted = parse_apikey(defaulted);
  ASSERT_TRUE(from_raw) << from_raw.error().to_string();
  ASSERT_TRUE(from_defaulted) << from_defaulted.error().to_string();
  EXPECT_EQ(from_raw->spec, from_defaulted->spec);
  // And the spec written back out validates and says the same.
  json spec_json = apikey::to_json(from_raw->spec);
  SchemaValidator v;
  v.validate(spec_json, root_schema()["properties"]["spec"], "spec");
  EXPECT_TRUE(v.errors.empty()) << ::testing::PrintToString(v.errors);
  EXPECT_EQ(*parse_apikey_spec(spec_json), from_raw->spec);
}

INSTANTIATE_TEST_SUITE_P(Files, ExampleManifest, ::testing::ValuesIn(example_files()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string name = p.param.substr(0, p.param.size() - 5);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(Defaults, CrdDefaultsEqualTheCppDefaults) {
  json minimal = json::parse(R"({
    "apiVersion": "keyward.dev/v1alpha1", "kind": "ApiKey",
    "metadata": {"name": "m", "namespace": "n"},
    "spec": {"source": {"generate": {}},
             "rotation": {"schedule": "@daily",
                          "windows": [{"name": "w", "start": "@daily", "durationSeconds": 60}]}}
  })");
  json defaulted = minimal;
  apply_defaults(defaulted, root_schema());
  const json& spec = defaulted["spec"];
  // The API server fills these; spot-check the documented ones.
  EXPECT_EQ(spec["active"], true);
  EXPECT_EQ(spec["source"]["generate"],
            (json{{"prefix", "nt_"}, {"length", 40}, {"alphabet", "base62"}}));
  EXPECT_EQ(spec["rotation"]["timeZone"], "UTC");
  EXPECT_EQ(spec["rotation"]["gracePeriodSeconds"], 3600);
  EXPECT_EQ(spec["consumers"]["restartStrategy"], "RolloutRestart");
  EXPECT_EQ(spec["consumers"]["maxUnavailable"], 1);
  EXPECT_EQ(spec["consumers"]["holdTimeoutSeconds"], 1800);
  EXPECT_EQ(spec["tokenExchange"]["provider"], "none");
  EXPECT_EQ(spec["tokenExchange"]["lifetimeSeconds"], 5400);
  EXPECT_EQ(spec["tokenExchange"]["refreshLeadSeconds"], 300);
  EXPECT_EQ(spec["tokenExchange"]["tokenFile"], "token");
  EXPECT_EQ(spec["tokenExchange"]["envVarName"], "KEYWARD_ACCESS_TOKEN");
  // parse_apikey gives the same result whether or not the server defaulted the object.
  auto a = parse_apikey(minimal);
  auto b = parse_apikey(defaulted);
  ASSERT_TRUE(a) << a.error().to_string();
  ASSERT_TRUE(b) << b.error().to_string();
  EXPECT_EQ(a->spec, b->spec);
  // Same for the http source's and the secretRef source's defaults.
  for (const json& source : {json{{"http", {{"url", "https://p.example/regen"}}}},
                             json{{"secretRef", {{"name", "s"}}}}}) {
    json m = minimal;
    m["spec"]["source"] = source;
    json d = m;
    apply_defaults(d, root_schema());
    auto x = parse_apikey(m);
    auto y = parse_apikey(d);
    ASSERT_TRUE(x) << x.error().to_string();
    ASSERT_TRUE(y) << y.error().to_string();
    EXPECT_EQ(x->spec, y->spec) << source.dump();
  }
}

// ---- the validator can fail ----

TEST(SchemaValidatorSelfTest, CatchesTypesEnumsRequiredLimitsAndPatterns) {
  json e = load_example("apikey-generate.yaml");
  e["spec"]["displayName"] = std::string(256, 'x');
  e["spec"]["source"]["generate"]["alphabet"] = "base64";
  e["spec"]["source"]["generate"]["length"] = 8;
  e["spec"]["rotation"]["timeZone"] = "not a zone";
  e["spec"]["rotation"]["windows"][0]["excludedDates"] = {"2026-13-01"};
  e["spec"]["consumers"]["workloadRef"].erase("name");
  e["spec"]["active"] = "yes";
  e["spec"]["typo"] = 1;
  const auto errors = validate(e);
  const std::string all = ::testing::PrintToString(errors);
  EXPECT_EQ(errors.size(), 8u) << all;
  for (const char* expected :
       {".spec.displayName: longer than maxLength", ".spec.source.generate.alphabet: not one of",
        ".spec.source.generate.length: below minimum", ".spec.rotation.timeZone: does not match",
        ".spec.rotation.windows[0].excludedDates[0]: does not match",
        ".spec.consumers.workloadRef: missing required name", ".spec.active: expected a boolean",
        ".spec.typo: unknown field"}) {
    EXPECT_NE(all.find(expected), std::string::npos) << expected << " in " << all;
  }
}

// ---- every CEL rule has a matching check in parse_apikey ----

struct CelCase {
  json spec_patch;       // merged into a valid spec
  std::string fragment;  // expected in parse_apikey's message
};

std::map<std::string, CelCase> cel_cases() {
  return {
      {"set exactly one of generate, secretRef or http",
       {{{"source", {{"generate", {{"prefix", "x_"}}}}}},
        "set exactly one of generate, secretRef or http"}},
      {"set exactly one of schedule (5-field cron) or intervalSeconds",
       {{{"rotation", {{"schedule", "@daily"}, {"intervalSeconds", 3600}}}},
        "set exactly one of schedule"}},
      {"a bare Pod cannot be rolled out; use restartStrategy Evict or None",
       {{{"consumers",
          {{"workloadRef", {{"kind", "Pod"}, {"name", "p"}}},
           {"restartStrategy", "RolloutRestart"}}}},
        "a bare Pod can only be restarted with Evict"}},
      {"endpoint is required unless provider is none",
       {{{"tokenExchange", {{"provider", "tradovate"}, {"endpoint", nullptr}}}},
        "endpoint: is required"}},
      {"refreshLeadSeconds must be less than lifetimeSeconds",
       {{{"tokenExchange", {{"refreshLeadSeconds", 5400}}}},
        "it must be less than lifetimeSeconds"}},
      {"tradovate settings are only allowed with provider tradovate",
       {{{"tokenExchange", {{"provider", "none"}, {"tradovate", {{"appId", "x"}}}}}},
        "tradovate: is only allowed with provider tradovate"}},
      {"oauth2 settings are only allowed with provider oauth2ClientCredentials",
       {{{"tokenExchange", {{"oauth2", {{"scope", "x"}}}}}},
        "oauth2: is only allowed with provider oauth2ClientCredentials"}},
      {"tokenFile must not be token.json or token.env, which the token directory already uses",
       {{{"tokenExchange", {{"tokenFile", "token.env"}}}}, "taken by the token directory"}},
      {"envVarName must not be KEYWARD_TOKEN_EXPIRES_AT, which the sidecar writes itself",
       {{{"tokenExchange", {{"envVarName", "KEYWARD_TOKEN_EXPIRES_AT"}}}},
        "written by the sidecar"}},
  };
}

void collect_cel_messages(const YAML::Node& schema, std::vector<std::string>& out) {
  if (schema["x-kubernetes-validations"]) {
    for (const auto& rule : schema["x-kubernetes-validations"]) {
      out.push_back(rule["message"].as<std::string>());
    }
  }
  if (schema["properties"]) {
    for (const auto& kv : schema["properties"]) collect_cel_messages(kv.second, out);
  }
  if (schema["items"]) collect_cel_messages(schema["items"], out);
}

TEST(CelRules, EachHasAParserCheck) {
  std::vector<std::string> messages;
  collect_cel_messages(root_schema(), messages);
  ASSERT_FALSE(messages.empty());
  const auto cases = cel_cases();
  const json base = load_example("apikey-tradovate.yaml");
  ASSERT_TRUE(parse_apikey(base)) << "the base example must parse";
  for (const std::string& message : messages) {
    auto it = cases.find(message);
    ASSERT_NE(it, cases.end()) << "CEL rule without a parser test: " << message;
    json object = base;
    object["spec"].merge_patch(it->second.spec_patch);
    auto parsed = parse_apikey(object);
    ASSERT_FALSE(parsed) << message;
    EXPECT_EQ(parsed.error().reason, "InvalidSpec");
    EXPECT_NE(parsed.error().message.find(it->second.fragment), std::string::npos)
        << message << " -> " << parsed.error().message;
  }
  EXPECT_EQ(messages.size(), cases.size());
}

}  // namespace
}  // namespace keyward::apikey
