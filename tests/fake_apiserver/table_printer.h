#pragma once
// meta.k8s.io/v1 Table responses, which `kubectl get` asks for with
// Accept: application/json;as=Table;v=v1;g=meta.k8s.io. Custom resources get a Name column plus
// their additionalPrinterColumns (Name and Age when they declare none); built-ins get Name and Age.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "tests/fake_apiserver/api_types.h"

namespace keyward::testing::fake {

// "None" | "Metadata" (default) | "Object": what each row carries in row.object.
nlohmann::json make_table(const ResourceInfo& info, const std::vector<ObjectPtr>& objects,
                          const std::string& include_object, SystemTime now);

// The apimachinery HumanDuration format used in the Age column: "45s", "3m20s", "5h", "12d".
std::string human_duration(std::chrono::seconds age);

// The JSONPath subset CRD printer columns use: ".spec.x", ".status.conditions[0].type",
// ".metadata.creationTimestamp", ".status.conditions[?(@.type==\"Ready\")].status".
// Returns null when the path does not resolve.
nlohmann::json evaluate_column_path(const nlohmann::json& object, const std::string& path);

}  // namespace keyward::testing::fake
