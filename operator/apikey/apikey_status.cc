// The ApiKey's status: read from the object (parse_apikey_status) and written back (to_json).

#include "operator/apikey/apikey.h"
#include "operator/apikey/field_reader.h"

namespace keyward::apikey {

using namespace detail;  // NOLINT(google-build-using-namespace): this library's own reader
using nlohmann::json;

Result<ApiKeyStatus> parse_apikey_status(const json& status_json) {
  constexpr std::string_view kInvalidStatus = "InvalidStatus";
  ApiKeyStatus status;
  if (status_json.is_null()) return status;
  if (!status_json.is_object())
    return fail(std::string(kInvalidStatus), "status: expected an object");
  FieldReader r(status_json, "status");
  KW_TRY(with_reason(r.integer("observedGeneration", status.observed_generation, 0, INT64_MAX),
                     kInvalidStatus));
  KW_TRY(with_reason(r.integer("keyVersion", status.key_version, 0, INT64_MAX), kInvalidStatus));
  KW_TRY(with_reason(r.string("keyHint", status.key_hint, {}), kInvalidStatus));
  KW_TRY(with_reason(r.string("secretName", status.secret_name, {}), kInvalidStatus));
  auto last = read_time(r, "lastRotationTime", kInvalidStatus);
  if (!last) return fail(last.error());
  status.last_rotation_time = *last;
  auto next = read_time(r, "nextRotationTime", kInvalidStatus);
  if (!next) return fail(next.error());
  status.next_rotation_time = *next;
  auto used = read_time(r, "lastUsedTime", kInvalidStatus);
  if (!used) return fail(used.error());
  status.last_used_time = *used;
  auto consumers = with_reason(r.object("consumers"), kInvalidStatus);
  if (!consumers) return fail(consumers.error());
  if (*consumers != nullptr) {
    FieldReader c(**consumers, "status.consumers");
    KW_TRY(with_reason(c.integer("upToDate", status.consumers.up_to_date, 0, INT32_MAX),
                       kInvalidStatus));
    KW_TRY(with_reason(c.integer("stale", status.consumers.stale, 0, INT32_MAX), kInvalidStatus));
    KW_TRY(with_reason(c.integer("held", status.consumers.held, 0, INT32_MAX), kInvalidStatus));
    KW_TRY(
        with_reason(c.integer("pending", status.consumers.pending, 0, INT32_MAX), kInvalidStatus));
  }
  auto previous = with_reason(r.object("previousKey"), kInvalidStatus);
  if (!previous) return fail(previous.error());
  if (*previous != nullptr) {
    FieldReader p(**previous, "status.previousKey");
    PreviousKeyStatus prev;
    KW_TRY(with_reason(p.integer("version", prev.version, 0, INT64_MAX), kInvalidStatus));
    auto revoked_by = read_time(p, "revokedBy", kInvalidStatus);
    if (!revoked_by) return fail(revoked_by.error());
    prev.revoked_by = *revoked_by;
    if (const json* pods = p.find("pods"); pods != nullptr && pods->is_array()) {
      for (const json& pod : *pods) {
        if (pod.is_string()) prev.pods.push_back(pod.get<std::string>());
      }
    }
    status.previous_key = std::move(prev);
  }
  if (const json* holds = r.find("holds"); holds != nullptr) {
    if (!holds->is_array())
      return fail(std::string(kInvalidStatus), "status.holds: expected a list");
    for (const json& h : *holds) {
      if (!h.is_object()) {
        return fail(std::string(kInvalidStatus), "status.holds[]: expected an object");
      }
      FieldReader hr(h, "status.holds[]");
      Hold hold;
      KW_TRY(with_reason(hr.string("pod", hold.pod, {true, 1, 253, nullptr, nullptr}),
                         kInvalidStatus));
      KW_TRY(with_reason(hr.string("reason", hold.reason, {}), kInvalidStatus));
      auto since = read_time(hr, "since", kInvalidStatus);
      if (!since) return fail(since.error());
      hold.since = since->value_or(SystemTime{});
      status.holds.push_back(std::move(hold));
    }
  }
  if (const json* conditions = r.find("conditions"); conditions != nullptr) {
    if (!conditions->is_array()) {
      return fail(std::string(kInvalidStatus), "status.conditions: expected a list");
    }
    for (const json& c : *conditions) {
      auto condition = condition_from_json(c);
      if (!condition) return fail(condition.error());
      status.conditions.push_back(std::move(*condition));
    }
  }
  return status;
}

json to_json(const ApiKeyStatus& status) {
  json out = json::object();
  out["observedGeneration"] = status.observed_generation;
  out["keyVersion"] = status.key_version;
  if (!status.key_hint.empty()) out["keyHint"] = status.key_hint;
  if (!status.secret_name.empty()) out["secretName"] = status.secret_name;
  if (status.last_rotation_time)
    out["lastRotationTime"] = format_rfc3339(*status.last_rotation_time);
  if (status.next_rotation_time)
    out["nextRotationTime"] = format_rfc3339(*status.next_rotation_time);
  if (status.last_used_time) out["lastUsedTime"] = format_rfc3339(*status.last_used_time);
  out["consumers"] = {{"upToDate", status.consumers.up_to_date},
                      {"stale", status.consumers.stale},
                      {"held", status.consumers.held},
                      {"pending", status.consumers.pending}};
  if (const auto& prev = status.previous_key) {
    json previous{{"version", prev->version}, {"pods", prev->pods}};
    if (prev->revoked_by) previous["revokedBy"] = format_rfc3339(*prev->revoked_by);
    out["previousKey"] = std::move(previous);
  }
  json holds = json::array();
  for (const Hold& h : status.holds) {
    holds.push_back({{"pod", h.pod}, {"reason", h.reason}, {"since", format_rfc3339(h.since)}});
  }
  out["holds"] = std::move(holds);
  json conditions = json::array();
  for (const Condition& c : status.conditions) conditions.push_back(to_json(c));
  out["conditions"] = std::move(conditions);
  return out;
}

}  // namespace keyward::apikey
