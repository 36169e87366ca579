#pragma once
// admission.k8s.io/v1 AdmissionReview in and out. The request's uid is echoed; a Patched result
// becomes patchType JSONPatch with the operations base64-encoded; Denied/Errored results carry
// status {code, reason, message}.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/core/result.h"
#include "operator/webhook/admission_result.h"

namespace keyward::webhook {

struct AdmissionRequest {
  std::string uid;
  std::string group;      // request.kind.group ("" for core)
  std::string kind;       // request.kind.kind ("Pod", "ApiKey")
  std::string operation;  // CREATE | UPDATE | DELETE | CONNECT
  std::string ns;         // request.namespace
  std::string name;       // request.name (often empty on CREATE of generated names)
  bool dry_run = false;
  nlohmann::json object;      // request.object (null on DELETE)
  nlohmann::json old_object;  // request.oldObject (null on CREATE)
};

// Parses an AdmissionReview body; Error{"InvalidAdmissionReview"} names what is missing.
Result<AdmissionRequest> parse_admission_review(std::string_view body);

// The AdmissionReview response for a request uid.
nlohmann::json make_admission_response(const std::string& uid, const AdmissionResult& result);

}  // namespace keyward::webhook
