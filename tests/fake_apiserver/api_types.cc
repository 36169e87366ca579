#include "tests/fake_apiserver/api_types.h"

#include "common/kube/status_reason.h"

namespace keyward::testing::fake {

using nlohmann::json;

json make_status(int code, const std::string& reason, const std::string& message, json details) {
  json status = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
                 {"status", "Failure"}, {"message", message}, {"reason", reason},
                 {"code", code}};
  if (!details.is_null()) status["details"] = std::move(details);
  return status;
}

json make_success_status(int code) {
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", json::object()},
          {"status", "Success"},
          {"code", code}};
}

std::string reason_for_code(int code) {
  const std::string_view reason = kube::status_reason_for_code(code);
  if (!reason.empty()) return std::string(reason);
  return code >= 500 ? "InternalError" : "Unknown";
}

json details_for(const ResourceInfo& info, const std::string& name) {
  json details = {{"name", name}, {"kind", info.plural}};
  if (!info.group.empty()) details["group"] = info.group;
  return details;
}

std::unexpected<json> api_error(int code, const std::string& reason, const std::string& message,
                                json details) {
  return std::unexpected<json>(make_status(code, reason, message, std::move(details)));
}

std::unexpected<json> not_found(const ResourceInfo& info, const std::string& name) {
  return api_error(404, "NotFound", info.qualified_name() + " \"" + name + "\" not found",
                   details_for(info, name));
}

std::unexpected<json> already_exists(const ResourceInfo& info, const std::string& name) {
  return api_error(409, "AlreadyExists", info.qualified_name() + " \"" + name + "\" already exists",
                   details_for(info, name));
}

std::unexpected<json> conflict(const ResourceInfo& info, const std::string& name,
                               const std::string& why) {
  return api_error(
      409, "Conflict",
      "Operation cannot be fulfilled on " + info.qualified_name() + " \"" + name + "\": " + why,
      details_for(info, name));
}

std::unexpected<json> bad_request(const std::string& message) {
  return api_error(400, "BadRequest", message);
}

std::unexpected<json> namespace_not_found(const std::string& ns) {
  return api_error(404, "NotFound", "namespaces \"" + ns + "\" not found",
                   json{{"name", ns}, {"kind", "namespaces"}});
}

std::string meta_string(const json& object, const char* field) {
  if (!object.is_object() || !object.contains("metadata")) return {};
  const json& meta = object["metadata"];
  if (!meta.is_object() || !meta.contains(field)) return {};
  const json& value = meta[field];
  return value.is_string() ? value.get<std::string>() : std::string();
}

json labels_of(const json& object) {
  if (!object.is_object() || !object.contains("metadata")) return json::object();
  const json& meta = object["metadata"];
  if (!meta.is_object() || !meta.contains("labels") || !meta["labels"].is_object())
    return json::object();
  return meta["labels"];
}

}  // namespace keyward::testing::fake
