#pragma once
// TokenUseMonitor: when did an app last open the token files? ("last use" in /v1/status.)
//
// The token directory is written kubelet-style: the files live in a versioned directory reached
// through the `..data` symlink, swapped by rename at every refresh. inotify reports an open to
// the watch on the file's own directory, so the monitor watches two things with one inotify fd:
//   * the token directory, for IN_MOVED_TO "..data" (a new version): it then watches the new
//     version directory (the old one's watch ends by itself, IN_IGNORED, when it is removed);
//   * the current version directory, for IN_OPEN of a file in it: that is a use.
// The sidecar's own writes happen before a version is watched, so they never count. An open of
// a version that was just replaced (an app that raced a refresh) still counts.
//
// No polling: an InotifyLoop (common/io) blocks in poll(2) on the inotify fd and a stop eventfd. A
// bot that opens its token in a tight loop would wake it on every open, so after each batch the
// monitor rests for `resolution` (the last-use time is then at most that much late) and reads the
// accumulated events in one go: at most one wake-up per resolution, whatever the apps do.

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/result.h"
#include "common/io/inotify_loop.h"

namespace keyward::sidecar {

class TokenUseMonitor {
 public:
  TokenUseMonitor(std::string token_dir, const Clock& clock, MetricsRegistry& metrics,
                  Logger logger, Millis resolution = Millis{1000});
  ~TokenUseMonitor();
  TokenUseMonitor(const TokenUseMonitor&) = delete;
  TokenUseMonitor& operator=(const TokenUseMonitor&) = delete;

  // Starts watching; the token directory must exist (the version directory need not yet).
  Status start();
  void stop();

  // When an app last opened a token file; none since start if empty.
  [[nodiscard]] std::optional<SystemTime> last_use() const;

 private:
  void watch_current_version();
  // Handles a batch of events; returns whether any was a use.
  bool uses_in(const std::vector<InotifyEvent>& events);

  std::string dir_;
  const Clock& clock_;
  Logger logger_;
  Millis resolution_;
  Gauge& last_use_gauge_;
  Counter& versions_watched_;
  int dir_watch_ = -1;
  std::atomic<std::int64_t> last_use_ns_{0};  // 0 = never; since the epoch of clock_
  InotifyLoop loop_;                          // last: its thread uses the members above
};

}  // namespace keyward::sidecar
