#pragma once
// Decoding a watch response: newline-delimited JSON objects ({"type": ..., "object": ...}) that
// arrive in arbitrary chunks. LineSplitter reassembles lines across chunk boundaries;
// parse_watch_event turns one line into a WatchEvent.

#include <functional>
#include <string>
#include <string_view>

#include "common/core/result.h"
#include "common/kube/kube_api.h"

namespace keyward::kube {

class LineSplitter {
 public:
  static constexpr std::size_t kDefaultMaxLine = 64u << 20;  // one object, generously
  explicit LineSplitter(std::size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}

  enum class Outcome { Continue, Stopped };
  // Calls on_line for each complete line (without the newline; empty lines skipped). on_line
  // returns false to stop: the rest of the chunk is dropped. Error "InvalidResponse" when a
  // line grows beyond max_line.
  Result<Outcome> feed(std::string_view chunk,
                       const std::function<bool(std::string_view line)>& on_line);

  // Bytes of an incomplete line held back.
  [[nodiscard]] std::size_t pending() const { return partial_.size(); }

 private:
  std::size_t max_line_;
  std::string partial_;
};

// One watch line -> a WatchEvent. Error "InvalidResponse" for malformed JSON or an unknown type.
Result<WatchEvent> parse_watch_event(std::string_view line);

std::string_view to_string(WatchEventType type);

}  // namespace keyward::kube
