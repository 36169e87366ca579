#include "operator/controller/event_recorder.h"

#include <chrono>
#include <cstdio>
#include <utility>

namespace keyward::controller {
namespace {

std::string hex_nanos(SystemTime t, unsigned long sequence) {
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(nanos) + sequence);
  return buf;
}

}  // namespace

EventRecorder::EventRecorder(kube::KubeApi& api, const Clock& clock, Logger logger,
                             std::string component)
    : api_(api), clock_(clock), logger_(std::move(logger)), component_(std::move(component)) {}

Status EventRecorder::record(const kube::Object& involved, EventType type,
                             const std::string& reason, const std::string& raw_message) {
  const std::string message = logger_.redactor().redact(raw_message);
  const std::string type_name = type == EventType::Warning ? "Warning" : "Normal";
  const auto& md = involved.at("metadata");
  const std::string ns = md.value("namespace", "default");
  const std::string id = md.value("uid", md.value("name", ""));
  const Key key{ns, id, type_name, reason, message};

  std::lock_guard lock(mu_);
  auto it = seen_.find(key);
  if (it != seen_.end()) {
    const int count = it->second.count + 1;
    const kube::Object patch = {{"count", count}, {"lastTimestamp", format_rfc3339(clock_.now())}};
    auto patched = api_.patch(kube::ResourceType::events(), ns, it->second.event_name,
                              kube::PatchType::Merge, patch);
    if (patched) {
      it->second.count = count;
      return ok();
    }
    if (patched.error().http_status != 404) {
      logger_.warn("cannot update event",
                   {{"reason", reason}, {"error", patched.error().to_string()}});
      return fail(patched.error());
    }
    seen_.erase(it);  // the event expired on the server: start a new one
  }
  return create_event(involved, key, type_name, reason, message);
}

Status EventRecorder::create_event(const kube::Object& involved, const Key& key,
                                   const std::string& type, const std::string& reason,
                                   const std::string& message) {
  const auto& md = involved.at("metadata");
  const std::string ns = std::get<0>(key);
  const std::string now = format_rfc3339(clock_.now());
  kube::Object involved_ref = {{"apiVersion", involved.value("apiVersion", "")},
                               {"kind", involved.value("kind", "")},
                               {"name", md.value("name", "")},
                               {"namespace", ns}};
  if (md.contains("uid")) involved_ref["uid"] = md["uid"];
  if (md.contains("resourceVersion")) involved_ref["resourceVersion"] = md["resourceVersion"];

  Error last_error;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string name =
        md.value("name", "object") + "." + hex_nanos(clock_.now(), sequence_++);
    const kube::Object event = {
        {"apiVersion", "v1"},
        {"kind", "Event"},
        {"metadata", {{"name", name}, {"namespace", ns}}},
        {"involvedObject", involved_ref},
        {"reason", reason},
        {"message", message},
        {"type", type},
        {"source", {{"component", component_}}},
        {"reportingComponent", component_},
        {"firstTimestamp", now},
        {"lastTimestamp", now},
        {"count", 1},
    };
    auto created = api_.create(kube::ResourceType::events(), ns, event);
    if (created) {
      seen_[key] = Seen{name, 1};
      logger_.info("event", {{"object", ns + "/" + md.value("name", "")},
                             {"type", type},
                             {"reason", reason},
                             {"message", message}});
      return ok();
    }
    last_error = created.error();
    if (last_error.reason != "AlreadyExists") break;
  }
  logger_.warn("cannot record event", {{"reason", reason}, {"error", last_error.to_string()}});
  return fail(last_error);
}

}  // namespace keyward::controller
