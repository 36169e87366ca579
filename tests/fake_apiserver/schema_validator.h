#pragma once
// The part of a CRD's openAPIV3Schema the real API server enforces that clients notice:
// defaulting, pruning of unknown fields, and the structural checks (type, required, enum,
// minLength/maxLength, minimum/maximum, pattern, minItems/maxItems), and the
// x-kubernetes-validations (CEL) rules within the subset cel_subset.h evaluates (a rule outside
// it is not judged).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace keyward::testing::fake {

struct SchemaCause {
  std::string reason;   // FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
  std::string message;  // "Required value", "Unsupported value: \"x\": supported values: ..."
  std::string field;    // "spec.displayName"
};

struct SchemaOutcome {
  std::vector<SchemaCause> causes;          // validation failures
  std::vector<std::string> unknown_fields;  // pruned fields, as "spec.foo"
};

// Applies defaults, prunes unknown fields and validates `object` (a whole custom resource)
// against `schema`. apiVersion, kind and metadata are left alone, as the real server does.
SchemaOutcome apply_schema(nlohmann::json& object, const nlohmann::json& schema);

}  // namespace keyward::testing::fake
