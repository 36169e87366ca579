#pragma once
// The subset of CEL that CRD x-kubernetes-validations rules commonly use, evaluated with CEL's
// own semantics for that subset, and a lint over a CRD schema built on it.
//
// The real API server evaluates every rule against the schema's own `default` values when the
// CRD is created, and a rule that reads an absent field fails there with "no such key: <field>"
// (the CRD is refused). The fake cannot run real CEL; this evaluator covers literals, `self`,
// field selection and indexing, has(), size(), `in`, the arithmetic, comparison and logical
// operators and `c ? a : b`. Everything else is reported as Unsupported, decided when the rule
// is parsed, so a rule is either evaluated in full or not at all.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace keyward::testing::fake {

struct CelOutcome {
  enum class Kind { True, False, Error, Unsupported };
  Kind kind = Kind::Unsupported;
  // Error: the CEL runtime error text, such as "no such key: provider".
  // Unsupported: why, such as "function 'matches' is outside the supported subset".
  std::string message;
};

// Evaluates `rule` with `self` bound to the JSON value.
CelOutcome evaluate_cel(const std::string& rule, const nlohmann::json& self);

struct CelGuardFinding {
  // The schema node holding the rule: property names from the root joined by '.', array items
  // as "[]" and additionalProperties values as "[*]", such as "spec.rotation.windows[]".
  std::string path;
  std::string rule;     // the rule text
  std::string message;  // "reads spec.tokenExchange.provider without has(self.provider): ..."
};

// Walks an openAPIV3Schema node (type, properties, required, items, additionalProperties,
// x-kubernetes-validations) recursively and checks every rule: a rule must not fail with
// "no such key" on any object that has the fields its schema requires, whatever optional
// fields are present (stricter than the real server, which only tries the defaults). Rules
// outside the supported subset are reported too, since they cannot be checked.
std::vector<CelGuardFinding> check_cel_guards(const nlohmann::json& schema,
                                              const std::string& path = "");

}  // namespace keyward::testing::fake
