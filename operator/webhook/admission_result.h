#pragma once
// What an admission handler decides, controller-runtime style: Allowed, Denied (with a message
// that says what to fix), Patched (RFC 6902 operations), or Errored (the webhook could not
// judge; the API server rejects the request with this code and message).

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace keyward::webhook {

struct AdmissionResult {
  enum class Kind { Allowed, Denied, Patched, Errored };

  Kind kind = Kind::Allowed;
  std::string reason;   // CamelCase, for Denied/Errored (goes into status.reason)
  std::string message;  // for people: what is wrong and what to do
  int code = 200;       // HTTP-style code reported in the AdmissionReview status
  nlohmann::json patch = nlohmann::json::array();  // JSON patch operations, for Patched
  std::vector<std::string> warnings;  // shown to the client (kubectl prints "Warning: ...")

  static AdmissionResult allowed(std::string message = {}) {
    AdmissionResult r;
    r.message = std::move(message);
    return r;
  }
  static AdmissionResult denied(std::string reason, std::string message) {
    AdmissionResult r;
    r.kind = Kind::Denied;
    r.reason = std::move(reason);
    r.message = std::move(message);
    r.code = 403;
    return r;
  }
  static AdmissionResult patched(nlohmann::json operations) {
    AdmissionResult r;
    r.kind = Kind::Patched;
    r.patch = std::move(operations);
    return r;
  }
  static AdmissionResult errored(int code, std::string reason, std::string message) {
    AdmissionResult r;
    r.kind = Kind::Errored;
    r.code = code;
    r.reason = std::move(reason);
    r.message = std::move(message);
    return r;
  }

  [[nodiscard]] bool is_allowed() const { return kind == Kind::Allowed || kind == Kind::Patched; }
};

}  // namespace keyward::webhook
