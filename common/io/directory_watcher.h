#pragma once
// Tells a callback when the contents of a directory change. A mounted Secret changes by the
// kubelet's "..data" symlink swap (a rename into the directory); a plain directory changes by
// files being written, moved in or removed. Either way the callback runs (on the watcher's own
// thread) and the owner re-reads what it needs.
//
// InotifyDirectoryWatcher runs on an InotifyLoop (poll(2) on the inotify fd and an eventfd used
// to stop it): no CPU is used between changes.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/core/log.h"
#include "common/core/result.h"
#include "common/io/inotify_loop.h"

namespace keyward {

class DirectoryWatcher {
 public:
  DirectoryWatcher() = default;
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;
  virtual ~DirectoryWatcher() = default;

  // Watches dir until stop(); on_change runs on the watcher's thread after each batch of events.
  virtual Status start(const std::string& dir, std::function<void()> on_change) = 0;
  virtual void stop() = 0;
};

class InotifyDirectoryWatcher final : public DirectoryWatcher {
 public:
  explicit InotifyDirectoryWatcher(Logger logger);
  ~InotifyDirectoryWatcher() override;

  Status start(const std::string& dir, std::function<void()> on_change) override;
  void stop() override;

 private:
  Logger logger_;
  std::unique_ptr<InotifyLoop> loop_;
};

}  // namespace keyward
