#include "common/io/inotify_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "common/io/filesystem.h"

namespace keyward {

InotifyLoop::InotifyLoop(std::string what, Logger logger)
    : what_(std::move(what)), logger_(std::move(logger)) {}

InotifyLoop::~InotifyLoop() { stop(); }

Status InotifyLoop::open() {
  if (inotify_) return ok();
  inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_) {
    const int err = errno;
    Error e = errno_error(err, "inotify_init1 for", what_);
    if (err == EMFILE) {
      e.message += ": the node's inotify instances ran out; raise fs.inotify.max_user_instances";
    }
    return fail(std::move(e));
  }
  stop_event_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!stop_event_) return fail(errno_error(errno, "eventfd for", what_));
  return ok();
}

Result<int> InotifyLoop::add_watch(const std::string& path, std::uint32_t mask) {
  if (auto s = open(); !s) return fail(s.error());
  const int wd = ::inotify_add_watch(inotify_.get(), path.c_str(), mask);
  if (wd < 0) return fail(errno_error(errno, "watching", path));
  return wd;
}

Status InotifyLoop::start(BatchHandler on_batch) {
  if (thread_.joinable()) return fail("AlreadyStarted", what_ + " already runs");
  if (auto s = open(); !s) return s;
  on_batch_ = std::move(on_batch);
  thread_ = std::jthread([this](const std::stop_token& st) { run(st); });
  return ok();
}

void InotifyLoop::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(stop_event_.get(), &one, sizeof one);
  thread_.join();
}

bool InotifyLoop::rest(std::chrono::milliseconds limit) const {
  pollfd p{stop_event_.get(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(limit.count())) > 0;
}

std::vector<InotifyEvent> InotifyLoop::drain() const {
  alignas(inotify_event) std::array<char, 4096> buf{};
  std::vector<InotifyEvent> events;
  while (true) {
    const ssize_t len = ::read(inotify_.get(), buf.data(), buf.size());
    if (len <= 0) break;
    for (ssize_t off = 0; off < len;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
      events.push_back({ev->wd, ev->mask, ev->len > 0 ? std::string(ev->name) : std::string()});
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  return events;
}

void InotifyLoop::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    std::array<pollfd, 2> fds{pollfd{inotify_.get(), POLLIN, 0},
                              pollfd{stop_event_.get(), POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      logger_.error("polling inotify failed; changes will not be noticed",
                    {{"watcher", what_}, {"errno", errno}});
      return;
    }
    if (fds[1].revents != 0 || stop.stop_requested()) return;
    const std::vector<InotifyEvent> events = drain();
    if (!events.empty() && on_batch_ && !on_batch_(events)) return;
  }
}

}  // namespace keyward
