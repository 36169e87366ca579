#pragma once
// CustomResourceDefinition (apiextensions.k8s.io/v1) validation as the real API server
// (v1.26-v1.32) does it on create and update, so that the fake refuses what a cluster refuses,
// with the same causes (reason, message, field) and the same Status message.
//
// Checked (the section numbers are those of the research checklist the rules come from):
// - The schema path: spec.validation.openAPIV3Schema when every version has the same schema,
//   spec.versions[i].schema.openAPIV3Schema otherwise; "schemas are required" when missing.
// - Structural schema (ValidateStructural, §1a/§1c/§1d): type required, root type object,
//   arrays with items, no additionalProperties at the root, int-or-string / preserve-unknown-
//   fields / embedded-resource rules, kind and apiVersion strings, root metadata limited to
//   name and generateName, patterns that compile, value validations under allOf/anyOf/oneOf/not
//   (with the int-or-string exceptions), and that the root's junctors name only fields the
//   schema has (upstream checks completeness from the root's junctors only).
// - Per-node OpenAPI checks (§1b): type values, null, uniqueItems, additionalProperties with
//   properties, id/additionalItems/patternProperties/definitions/dependencies, items arrays,
//   preserve-unknown-fields false, embedded resources inside resource meta, $ref / $schema.
// - Defaults (§2): forbidden under the root metadata/kind/apiVersion and under additionalProperties
//   of object metadata, spec.preserveUnknownFields; then (only when the schema is structural)
//   each default must survive pruning, name apiVersion/kind in embedded resources, pass its own
//   node's value validations with no nested defaults applied, and pass the CEL rules of its node
//   and of the descendants it fills in.
// - List and map types (§3), the spec-level checks (§5: name, group, scope, names, versions,
//   storage version, printer columns, conversion) and the textual CEL checks (§6a: rule,
//   message, messageExpression, reason, fieldPath, oldSelf on uncorrelatable nodes).
//
// Where it still departs from the real server:
// - CEL is not compiled and not costed: compile errors, "undefined field", non-boolean results,
//   messageExpression results and the cost budgets are not reported. Rules on defaults are run
//   by the CEL subset of cel_subset.h; a rule outside that subset is not judged (no error).
// - Patterns are checked with std::regex (ECMAScript) after translating RE2 syntax; lookarounds,
//   backreferences, bad escapes and repeat counts over 1000 are refused with Go's messages,
//   other syntax errors get Go-like messages. RE2 and ECMAScript differ in corners.
// - Values that the real server prints as Go structs (%#v of a version list, of the root schema
//   or of an items array) are printed as a short placeholder.
// - Defaults inside resource meta ("must result in valid metadata"), embedded ObjectMeta
//   validation, the CEL type-construction error, subresources.scale paths, selectableFields,
//   webhook client configs and strict decoding of unknown schema fields are not checked.
//   String formats on defaults: only date-time, date, byte, uuid, ipv4, ipv6 and cidr.
// - Too-long defaults read "Too long: must have at most N bytes" (the wording varies by release).
// The order of the causes is deterministic here, random on the real server (Go map order).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/fake_apiserver/schema_validator.h"

namespace keyward::testing::fake {

// Checks a CustomResourceDefinition (apiextensions.k8s.io/v1, as JSON) the way the real API
// server validates one on create and update. Empty result: valid. Each cause is {reason
// (FieldValueForbidden, FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...),
// message (the error body without the field, e.g. "Forbidden: must not specify anything other
// than name and generateName, but metadata is implicitly specified"), field (e.g.
// "spec.validation.openAPIV3Schema.properties[metadata]")}.
std::vector<SchemaCause> validate_crd(const nlohmann::json& crd);

// The Status message the real server answers with:
// `CustomResourceDefinition.apiextensions.k8s.io "<name>" is invalid: <field>: <message>` for one
// distinct cause, `... is invalid: [<field>: <message>, <field>: <message>]` for several
// (duplicates by full text removed).
std::string crd_invalid_message(const std::string& name, const std::vector<SchemaCause>& causes);

}  // namespace keyward::testing::fake
