#include "common/io/directory_watcher.h"

#include <sys/inotify.h>

#include <cstdint>

namespace keyward {

InotifyDirectoryWatcher::InotifyDirectoryWatcher(Logger logger) : logger_(std::move(logger)) {}

InotifyDirectoryWatcher::~InotifyDirectoryWatcher() { stop(); }

Status InotifyDirectoryWatcher::start(const std::string& dir, std::function<void()> on_change) {
  if (loop_) return fail("AlreadyStarted", "the watcher of " + dir + " already runs");
  auto loop = std::make_unique<InotifyLoop>("the watcher of " + dir, logger_);
  const std::uint32_t mask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE |
                             IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  if (auto wd = loop->add_watch(dir, mask); !wd) {
    Error e = wd.error();
    e.message += ": the directory must exist and be readable";
    return fail(std::move(e));
  }
  auto on_batch = [this, dir,
                   on_change = std::move(on_change)](const std::vector<InotifyEvent>& events) {
    bool gone = false;
    for (const InotifyEvent& ev : events) {
      if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) gone = true;
    }
    if (on_change) on_change();
    if (gone) {
      logger_.warn("the watched directory went away; changes will not be noticed", {{"path", dir}});
    }
    return !gone;
  };
  if (auto s = loop->start(std::move(on_batch)); !s) return s;
  loop_ = std::move(loop);
  return ok();
}

void InotifyDirectoryWatcher::stop() {
  if (!loop_) return;
  loop_->stop();
  loop_.reset();
}

}  // namespace keyward
