#pragma once
// Shared vocabulary of the fake API server: what a resource is, and the Kubernetes Status
// objects every failure is answered with.
#include <cstdint>
#include <expected>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace keyward::testing::fake {

// One served group/version/resource, as discovery advertises it.
struct ResourceInfo {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string kind;      // "Pod"
  std::string plural;    // "pods"
  std::string singular;  // "pod"
  bool namespaced = true;
  bool status_subresource = false;
  bool eviction_subresource = false;  // pods only
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  nlohmann::json printer_columns = nlohmann::json::array();  // CRD additionalPrinterColumns
  nlohmann::json schema;                                     // CRD openAPIV3Schema, null if none
  bool from_crd = false;

  [[nodiscard]] std::string api_version() const {
    return group.empty() ? version : group + "/" + version;
  }
  [[nodiscard]] std::string list_kind() const { return kind + "List"; }
  // Objects of every version of one group/resource share one storage bucket.
  [[nodiscard]] std::string storage_key() const { return group + "/" + plural; }
  // "apikeys.keyward.dev" or "pods": how the real server names the resource in messages.
  [[nodiscard]] std::string qualified_name() const {
    return group.empty() ? plural : plural + "." + group;
  }
};

using ObjectPtr = std::shared_ptr<const nlohmann::json>;

// Failures carry a complete meta/v1 Status object.
template <class T>
using ApiResult = std::expected<T, nlohmann::json>;

// {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",...}
nlohmann::json make_status(int code, const std::string& reason, const std::string& message,
                           nlohmann::json details = nullptr);
nlohmann::json make_success_status(int code);
// The reason the real server uses for a bare status code (404 -> "NotFound", 422 -> "Invalid").
std::string reason_for_code(int code);
nlohmann::json details_for(const ResourceInfo& info, const std::string& name);

std::unexpected<nlohmann::json> api_error(int code, const std::string& reason,
                                          const std::string& message,
                                          nlohmann::json details = nullptr);
std::unexpected<nlohmann::json> not_found(const ResourceInfo& info, const std::string& name);
std::unexpected<nlohmann::json> already_exists(const ResourceInfo& info, const std::string& name);
std::unexpected<nlohmann::json> conflict(const ResourceInfo& info, const std::string& name,
                                         const std::string& why);
std::unexpected<nlohmann::json> bad_request(const std::string& message);
std::unexpected<nlohmann::json> namespace_not_found(const std::string& ns);

// Object helpers.
std::string meta_string(const nlohmann::json& object, const char* field);
nlohmann::json labels_of(const nlohmann::json& object);

}  // namespace keyward::testing::fake
