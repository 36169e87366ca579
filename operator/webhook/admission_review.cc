#include "operator/webhook/admission_review.h"

#include <vector>

#include "common/core/base64.h"

namespace keyward::webhook {

using nlohmann::json;

Result<AdmissionRequest> parse_admission_review(std::string_view body) {
  json review;
  try {
    review = json::parse(body);
  } catch (const json::exception& e) {
    return fail("InvalidAdmissionReview",
                std::string("admission review body is not JSON: ") + e.what());
  }
  if (!review.is_object() || review.value("kind", "") != "AdmissionReview") {
    return fail("InvalidAdmissionReview",
                "body is not an AdmissionReview (kind must be AdmissionReview)");
  }
  if (review.value("apiVersion", "") != "admission.k8s.io/v1") {
    return fail("InvalidAdmissionReview",
                "AdmissionReview apiVersion must be admission.k8s.io/v1; set "
                "admissionReviewVersions: [v1] in the "
                "webhook configuration");
  }
  auto it = review.find("request");
  if (it == review.end() || !it->is_object())
    return fail("InvalidAdmissionReview", "AdmissionReview has no request");
  const json& r = *it;
  AdmissionRequest req;
  req.uid = r.value("uid", "");
  if (req.uid.empty()) return fail("InvalidAdmissionReview", "AdmissionReview request has no uid");
  if (auto k = r.find("kind"); k != r.end() && k->is_object()) {
    req.group = k->value("group", "");
    req.kind = k->value("kind", "");
  }
  req.operation = r.value("operation", "");
  req.ns = r.value("namespace", "");
  req.name = r.value("name", "");
  req.dry_run = r.value("dryRun", false);
  if (auto o = r.find("object"); o != r.end()) req.object = *o;
  if (auto o = r.find("oldObject"); o != r.end()) req.old_object = *o;
  return req;
}

json make_admission_response(const std::string& uid, const AdmissionResult& result) {
  json response = {{"uid", uid}, {"allowed", result.is_allowed()}};
  if (result.kind == AdmissionResult::Kind::Patched && !result.patch.empty()) {
    response["patchType"] = "JSONPatch";
    response["patch"] = base64_encode(result.patch.dump());
  }
  if (!result.warnings.empty()) response["warnings"] = result.warnings;
  if (!result.is_allowed()) {
    json status = {{"code", result.code}, {"message", result.message}};
    if (!result.reason.empty()) status["reason"] = result.reason;
    response["status"] = status;
  }
  return {
      {"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"response", response}};
}

}  // namespace keyward::webhook
