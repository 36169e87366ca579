#pragma once
// Watcher: a list-then-watch loop written as an explicit state machine, after kube-rs
// kube-runtime/src/watcher.rs:
//
//   Empty ──► InitListing (one page per step, continue tokens) ──► InitialWatch ──► Watching
//     ▲              │ 410 (continue token expired)                     │  │
//     └──────────────┴──────────── 410 Gone / ERROR event code 410 ◄────┘  │ stream ended:
//                                                                          └ re-watch from the
//                                                                            last resourceVersion
//
// step() performs one transition (one list page, or one watch connection) and emits events:
//   Restarted{all objects}  after a complete (re)list: the full current state;
//   Applied{object}         an ADDED or MODIFIED object;
//   Deleted{object}         a DELETED object.
// The resume point is the resourceVersion of the last event or BOOKMARK. Every error is
// returned to the caller and is retryable: the state is kept (so the next step resumes where it
// stopped) except for 410, which goes back to Empty and relists. Backoff is the caller's
// policy (see Backoff and Informer).

#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "common/core/log.h"
#include "common/core/result.h"
#include "common/kube/kube_api.h"
#include "common/kube/object_meta.h"

namespace keyward::kube {

struct WatcherOptions {
  std::string label_selector;
  std::string field_selector;
  int page_size = 500;        // list page size (limit); 0 = no paging
  int timeout_seconds = 290;  // server-side watch timeout; the watch then resumes
};

struct WatcherEvent {
  enum class Type { Restarted, Applied, Deleted };
  Type type = Type::Applied;
  std::vector<Object> objects;  // Restarted only
  Object object;                // Applied and Deleted
};

class Watcher {
 public:
  enum class State { Empty, InitListing, InitialWatch, Watching };

  Watcher(KubeApi& api, ResourceType type, std::string ns, WatcherOptions options, Logger logger);

  // One transition; see the header comment. emit runs on the caller's thread.
  Status step(const std::function<void(const WatcherEvent&)>& emit, std::stop_token stop);

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] const std::string& resource_version() const { return resource_version_; }
  // Forget everything and relist on the next step.
  void restart() { state_ = State::Empty; }

 private:
  Status list_page(const std::function<void(const WatcherEvent&)>& emit);
  Status watch_once(const std::function<void(const WatcherEvent&)>& emit, std::stop_token stop);

  KubeApi& api_;
  const ResourceType type_;
  const std::string ns_;
  const WatcherOptions options_;
  Logger logger_;

  State state_ = State::Empty;
  std::string continue_token_;    // InitListing
  std::vector<Object> listed_;    // InitListing: pages so far
  std::string resource_version_;  // InitialWatch / Watching: where to resume
};

std::string_view to_string(Watcher::State state);

}  // namespace keyward::kube
