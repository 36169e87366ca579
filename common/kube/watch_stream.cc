#include "common/kube/watch_stream.h"

namespace keyward::kube {

Result<LineSplitter::Outcome> LineSplitter::feed(
    std::string_view chunk, const std::function<bool(std::string_view line)>& on_line) {
  while (!chunk.empty()) {
    const auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + chunk.size() > max_line_) {
        partial_.clear();
        return fail("InvalidResponse", "a watch event is longer than " + std::to_string(max_line_) +
                                           " bytes; the server sent something that is not a "
                                           "Kubernetes watch stream");
      }
      partial_.append(chunk);
      return Outcome::Continue;
    }
    std::string_view line;
    if (partial_.empty()) {
      line = chunk.substr(0, nl);
    } else {
      partial_.append(chunk.substr(0, nl));
      line = partial_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool go_on = line.empty() || on_line(line);
    partial_.clear();
    chunk.remove_prefix(nl + 1);
    if (!go_on) return Outcome::Stopped;
  }
  return Outcome::Continue;
}

std::string_view to_string(WatchEventType type) {
  switch (type) {
    case WatchEventType::Added:
      return "ADDED";
    case WatchEventType::Modified:
      return "MODIFIED";
    case WatchEventType::Deleted:
      return "DELETED";
    case WatchEventType::Bookmark:
      return "BOOKMARK";
    case WatchEventType::Error:
      return "ERROR";
  }
  return "UNKNOWN";
}

Result<WatchEvent> parse_watch_event(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail("InvalidResponse",
                "a watch event is not a JSON object (" + std::to_string(line.size()) + " bytes)");
  }
  const auto type = j.find("type");
  const auto object = j.find("object");
  if (type == j.end() || !type->is_string() || object == j.end() || !object->is_object()) {
    return fail("InvalidResponse", "a watch event lacks \"type\" or \"object\"");
  }
  WatchEvent event;
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "ADDED") {
    event.type = WatchEventType::Added;
  } else if (t == "MODIFIED") {
    event.type = WatchEventType::Modified;
  } else if (t == "DELETED") {
    event.type = WatchEventType::Deleted;
  } else if (t == "BOOKMARK") {
    event.type = WatchEventType::Bookmark;
  } else if (t == "ERROR") {
    event.type = WatchEventType::Error;
  } else {
    return fail("InvalidResponse", "a watch event has the unknown type \"" + t + "\"");
  }
  event.object = std::move(*object);
  return event;
}

}  // namespace keyward::kube
