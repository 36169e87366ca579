#pragma once
// What `kubectl keyward status` shows and `kubectl keyward explain` reasons about: one ApiKey as
// the operator last reported it (its status and conditions), its consumer pods as the API has
// them now, and its rotation windows read through the same planner the operator uses.
//
// Pure: the caller reads the objects (the API) and the time; nothing here talks to a cluster.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/result.h"
#include "common/kube/kube_api.h"
#include "operator/apikey/apikey.h"

namespace keyward::cli {

struct ConsumerPod {
  std::string name;
  std::optional<std::int64_t> key_version;  // keyward.dev/key-version; none: not delivered yet
  std::string state;                        // current | stale | held | pending
  bool held = false;                        // keyward.dev/hold is set (an empty value too)
  std::string hold_reason;                  // its value
  std::optional<SystemTime> held_since;     // keyward.dev/hold-since (set by the operator)
  // When the hold stops protecting it: hold-since + holdTimeoutSeconds, or the previous key's
  // end when sooner (the restarter's rule, from what the status shows).
  std::optional<SystemTime> hold_deadline;
  bool terminating = false;
};

struct WindowState {
  bool any = false;       // the spec names windows
  bool open_now = false;  // a window is open at `now`
  std::optional<SystemTime> next_open;
  std::string error;  // the planner's error (WindowNeverOpens, InvalidSpec), else ""
};

struct ApiKeyReport {
  std::string ns;
  std::string name;
  apikey::ApiKeySpec spec;
  apikey::ApiKeyStatus status;
  std::int64_t generation = 0;
  std::string rotate_request;       // keyward.dev/rotate ("" for none)
  std::string rotate_requested_by;  // keyward.dev/rotate-requested-by
  WindowState windows;
  std::vector<ConsumerPod> pods;
  SystemTime now{};
};

// pods: the pods of the ApiKey's namespace; those that consume it (apikey/pod_assignment.h, the
// restarter's rule) are reported. Error{"InvalidApiKey"} when the object is not a readable
// ApiKey (its spec fails the operator's checks): the message names the field.
Result<ApiKeyReport> make_report(const kube::Object& apikey_object,
                                 const std::vector<kube::Object>& pods, SystemTime now);

// The report for -o json / -o yaml (times in RFC 3339, no secret: the status holds a hint only).
nlohmann::json to_json(const ApiKeyReport& report);
// The report for people.
std::string render_status(const ApiKeyReport& report);

// Why the key is not rotated or its pods not restarted right now: one sentence per cause, each
// saying what would change it. Never empty: a key with nothing holding it back says so.
std::vector<std::string> explain(const ApiKeyReport& report);

}  // namespace keyward::cli
