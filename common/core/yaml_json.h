#pragma once
// YAML <-> JSON for Kubernetes manifests (yaml-cpp). Plain scalars are typed as YAML 1.2's core
// schema types them (true/false, null/~, integers, floats); quoted scalars stay strings. On the
// way out, strings that would read back as another type are double-quoted.

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/core/result.h"

namespace keyward {

Result<nlohmann::json> yaml_to_json(const YAML::Node& node);
// Emits one document (no leading "---").
std::string json_to_yaml(const nlohmann::json& value);
// All documents of a multi-document stream; Error{"InvalidYaml"} with yaml-cpp's line/column.
Result<std::vector<YAML::Node>> load_yaml_documents(const std::string& text);

}  // namespace keyward
