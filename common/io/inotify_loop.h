#pragma once
// InotifyLoop: one inotify instance, an eventfd to stop it, and the thread that waits on both in
// poll(2). Owners add watches and receive each batch of events (everything readable at once) on
// the loop's thread: no CPU is used between events. The DirectoryWatcher (Secret directories)
// and the sidecar's TokenUseMonitor (opens of the token files) are built on it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/core/log.h"
#include "common/core/result.h"
#include "common/io/unique_fd.h"

namespace keyward {

struct InotifyEvent {
  int wd = -1;
  std::uint32_t mask = 0;
  std::string name;  // empty for an event on the watched directory itself
};

class InotifyLoop {
 public:
  // Handles one batch; returns false to end the loop (the watched thing went away).
  using BatchHandler = std::function<bool(const std::vector<InotifyEvent>&)>;

  InotifyLoop(std::string what, Logger logger);  // `what`: for messages ("the watcher of DIR")
  ~InotifyLoop();
  InotifyLoop(const InotifyLoop&) = delete;
  InotifyLoop& operator=(const InotifyLoop&) = delete;

  // Creates the inotify instance and the stop eventfd (once; later calls do nothing).
  Status open();
  // Watches path (inotify_add_watch: follows symlinks unless IN_DONT_FOLLOW); returns the watch
  // descriptor, or the errno error naming the path.
  Result<int> add_watch(const std::string& path, std::uint32_t mask);
  Status start(BatchHandler on_batch);
  void stop();
  // For a handler that wants to rest between batches: waits up to `limit` for stop(); returns
  // true when stopping (the handler should then return false).
  bool rest(std::chrono::milliseconds limit) const;

 private:
  void run(const std::stop_token& stop);
  std::vector<InotifyEvent> drain() const;

  std::string what_;
  Logger logger_;
  BatchHandler on_batch_;
  UniqueFd inotify_;
  UniqueFd stop_event_;
  std::jthread thread_;
};

}  // namespace keyward
