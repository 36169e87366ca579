#pragma once
// The few facts about an ApiKey that injection needs, read from the ApiKey object as the API
// server returns it. Kept deliberately narrow: the full typed model lives in operator/apikey;
// the webhook only needs activity, the workload assignment and the token exchange settings it
// renders into the sidecar's command line in direct mode. (No key version: the operator records
// the version a pod really runs when its sidecar first delivers one; docs/contracts.md.)

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/core/result.h"

namespace keyward::webhook {

// spec.consumers.workloadRef: the one workload a key is assigned to.
struct WorkloadRef {
  std::string kind;  // Deployment | StatefulSet | DaemonSet | Pod
  std::string name;
  bool operator==(const WorkloadRef&) const = default;
};

struct KeyFacts {
  std::string name;
  std::string ns;
  bool active = true;                   // spec.active, default true
  bool live = false;                    // spec.environment: live (default demo)
  std::optional<WorkloadRef> workload;  // spec.consumers.workloadRef
  std::string source_kind;              // "generate" | "secretRef" | "http" | "" when absent
  nlohmann::json source = nlohmann::json::object();  // spec.source as written
  std::string provider = "none";                     // spec.tokenExchange.provider
  std::string endpoint;                              // spec.tokenExchange.endpoint
  std::string ca_bundle;                             // spec.tokenExchange.caBundle (PEM)
  std::optional<std::int64_t> lifetime_seconds;
  std::optional<std::int64_t> refresh_lead_seconds;
  std::string credentials_secret;  // spec.tokenExchange.credentialsSecretRef.name
  std::string token_file;          // spec.tokenExchange.tokenFile ("" = sidecar default)
  std::string env_var_name;        // spec.tokenExchange.envVarName ("" = sidecar default)
};

// Reads the facts from an ApiKey object; a field of the wrong type is an Error
// {"InvalidApiKey", ...} naming the field.
Result<KeyFacts> key_facts_from_apikey(const nlohmann::json& apikey);

}  // namespace keyward::webhook
