#include "sidecar/token_use_monitor.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <string_view>

#include "common/io/filesystem.h"

namespace keyward::sidecar {

namespace {
constexpr std::string_view kDataLink = "..data";
}  // namespace

TokenUseMonitor::TokenUseMonitor(std::string token_dir, const Clock& clock,
                                 MetricsRegistry& metrics, Logger logger, Millis resolution)
    : dir_(std::move(token_dir)),
      clock_(clock),
      logger_(std::move(logger)),
      resolution_(resolution),
      last_use_gauge_(metrics.gauge("keyward_sidecar_token_last_use_timestamp_seconds",
                                    "When an app last opened a token file (Unix time; 0 = not "
                                    "since the sidecar started)")) {}

TokenUseMonitor::~TokenUseMonitor() { stop(); }

Status TokenUseMonitor::start() {
  if (thread_.joinable()) return fail("AlreadyStarted", "the token use monitor already runs");
  inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_) return fail(errno_error(errno, "inotify_init1 for", dir_));
  dir_watch_ = ::inotify_add_watch(inotify_.get(), dir_.c_str(), IN_MOVED_TO | IN_ONLYDIR);
  if (dir_watch_ < 0) {
    Error e = errno_error(errno, "watching", dir_);
    e.message += ": the token directory must exist and be readable";
    return fail(std::move(e));
  }
  stop_event_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!stop_event_) return fail(errno_error(errno, "eventfd for the token use monitor of", dir_));
  watch_current_version();
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
  return ok();
}

void TokenUseMonitor::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(stop_event_.get(), &one, sizeof one);
  thread_.join();
}

std::optional<SystemTime> TokenUseMonitor::last_use() const {
  const std::int64_t ns = last_use_ns_.load(std::memory_order_relaxed);
  if (ns == 0) return std::nullopt;
  return SystemTime{std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds{ns})};
}

void TokenUseMonitor::watch_current_version() {
  // Follows ..data to the version directory. ENOENT: nothing written yet; the swap that
  // creates ..data arrives as IN_MOVED_TO and brings us back here.
  const std::string link = dir_ + "/" + std::string(kDataLink);
  if (::inotify_add_watch(inotify_.get(), link.c_str(), IN_OPEN | IN_ONLYDIR) < 0) {
    if (errno != ENOENT) {
      logger_.warn(
          "cannot watch the token version directory; last use is not tracked until "
          "the next refresh",
          {{"path", link}, {"errno", errno}});
    }
    return;
  }
}

bool TokenUseMonitor::drain() {
  alignas(inotify_event) std::array<char, 4096> buf{};
  bool used = false;
  bool swapped = false;
  while (true) {
    const ssize_t len = ::read(inotify_.get(), buf.data(), buf.size());
    if (len <= 0) break;
    for (ssize_t off = 0; off < len;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        used = true;  // so many opens that the queue overflowed: certainly a use
        continue;
      }
      const std::string_view name = ev->len > 0 ? std::string_view(ev->name) : std::string_view{};
      if ((ev->mask & IN_MOVED_TO) && name == kDataLink) swapped = true;
      // An open of the version directory itself (our own writer's fsync, `ls`) has no name.
      if ((ev->mask & IN_OPEN) && !(ev->mask & IN_ISDIR) && !name.empty() && ev->wd != dir_watch_)
        used = true;
    }
  }
  if (swapped) watch_current_version();
  return used;
}

void TokenUseMonitor::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::array<pollfd, 2> fds{pollfd{inotify_.get(), POLLIN, 0},
                              pollfd{stop_event_.get(), POLLIN, 0}};
    const int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      logger_.error("polling the token use monitor failed; last use is no longer tracked",
                    {{"errno", errno}});
      return;
    }
    if (fds[1].revents != 0 || stop.stop_requested()) return;
    if (drain()) {
      const auto since_epoch = clock_.now().time_since_epoch();
      last_use_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count(),
                         std::memory_order_relaxed);
      last_use_gauge_.set(std::chrono::duration<double>(since_epoch).count());
      // Rest before reading again: bounds the wake-ups of an app that opens in a loop.
      pollfd rest{stop_event_.get(), POLLIN, 0};
      if (::poll(&rest, 1, static_cast<int>(resolution_.count())) > 0) return;
    }
  }
}

}  // namespace keyward::sidecar
