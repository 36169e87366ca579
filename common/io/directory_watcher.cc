#include "common/io/directory_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>

#include "common/io/filesystem.h"

namespace keyward {

InotifyDirectoryWatcher::InotifyDirectoryWatcher(Logger logger) : logger_(std::move(logger)) {}

InotifyDirectoryWatcher::~InotifyDirectoryWatcher() { stop(); }

Status InotifyDirectoryWatcher::start(const std::string& dir, std::function<void()> on_change) {
  if (thread_.joinable()) return fail("AlreadyStarted", "the watcher of " + dir_ + " already runs");
  dir_ = dir;
  on_change_ = std::move(on_change);
  inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_) return fail(errno_error(errno, "inotify_init1 for", dir));
  const std::uint32_t mask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE |
                             IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  if (::inotify_add_watch(inotify_.get(), dir.c_str(), mask) < 0) {
    Error e = errno_error(errno, "watching", dir);
    e.message += ": the directory must exist and be readable";
    return fail(std::move(e));
  }
  stop_event_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!stop_event_) return fail(errno_error(errno, "eventfd for the watcher of", dir));
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
  return ok();
}

void InotifyDirectoryWatcher::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(stop_event_.get(), &one, sizeof one);
  thread_.join();
}

void InotifyDirectoryWatcher::run(std::stop_token stop) {
  alignas(inotify_event) std::array<char, 4096> buf{};
  while (!stop.stop_requested()) {
    std::array<pollfd, 2> fds{pollfd{inotify_.get(), POLLIN, 0},
                              pollfd{stop_event_.get(), POLLIN, 0}};
    const int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      logger_.error("polling the directory watcher failed; changes will not be noticed",
                    {{"path", dir_}, {"errno", errno}});
      return;
    }
    if (fds[1].revents != 0 || stop.stop_requested()) return;
    bool changed = false;
    bool gone = false;
    while (true) {
      const ssize_t len = ::read(inotify_.get(), buf.data(), buf.size());
      if (len <= 0) break;
      for (ssize_t off = 0; off < len;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
        changed = true;
        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) gone = true;
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
    if (changed && on_change_) on_change_();
    if (gone) {
      logger_.warn("the watched directory went away; changes will not be noticed",
                   {{"path", dir_}});
      return;
    }
  }
}

}  // namespace keyward
