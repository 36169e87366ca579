#include "sidecar/token_use_monitor.h"

#include <sys/inotify.h>

#include <string_view>

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
                                    "since the sidecar started)")),
      versions_watched_(metrics.counter(
          "keyward_sidecar_token_versions_watched_total",
          "Token version directories the last-use monitor has followed (one per refresh)")),
      loop_("the token use monitor of " + dir_, logger_) {}

TokenUseMonitor::~TokenUseMonitor() { stop(); }

Status TokenUseMonitor::start() {
  if (dir_watch_ >= 0) return fail("AlreadyStarted", "the token use monitor already runs");
  auto wd = loop_.add_watch(dir_, IN_MOVED_TO | IN_ONLYDIR);
  if (!wd) {
    Error e = wd.error();
    e.message += ": the token directory must exist and be readable";
    return fail(std::move(e));
  }
  dir_watch_ = *wd;
  watch_current_version();
  return loop_.start([this](const std::vector<InotifyEvent>& events) {
    if (!uses_in(events)) return true;
    const auto since_epoch = clock_.now().time_since_epoch();
    last_use_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count(),
                       std::memory_order_relaxed);
    last_use_gauge_.set(std::chrono::duration<double>(since_epoch).count());
    // Rest before reading again: bounds the wake-ups of an app that opens in a loop.
    return !loop_.rest(resolution_);
  });
}

void TokenUseMonitor::stop() { loop_.stop(); }

std::optional<SystemTime> TokenUseMonitor::last_use() const {
  const std::int64_t ns = last_use_ns_.load(std::memory_order_relaxed);
  if (ns == 0) return std::nullopt;
  return SystemTime{std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds{ns})};
}

void TokenUseMonitor::watch_current_version() {
  // Follows ..data to the version directory. ENOENT: nothing written yet; the swap that
  // creates ..data arrives as IN_MOVED_TO and brings us back here.
  const std::string link = dir_ + "/" + std::string(kDataLink);
  auto wd = loop_.add_watch(link, IN_OPEN | IN_ONLYDIR);
  if (wd) versions_watched_.inc();
  if (!wd && wd.error().reason != "NotFound") {
    logger_.warn(
        "cannot watch the token version directory; last use is not tracked until the next "
        "refresh",
        {{"path", link}, {"error", wd.error().message}});
  }
}

bool TokenUseMonitor::uses_in(const std::vector<InotifyEvent>& events) {
  bool used = false;
  bool swapped = false;
  for (const InotifyEvent& ev : events) {
    if (ev.mask & IN_Q_OVERFLOW) {
      used = true;  // so many opens that the queue overflowed: certainly a use
      continue;
    }
    if ((ev.mask & IN_MOVED_TO) && ev.name == kDataLink) swapped = true;
    // An open of the version directory itself (our own writer's fsync, `ls`) has no name.
    if ((ev.mask & IN_OPEN) && !(ev.mask & IN_ISDIR) && !ev.name.empty() && ev.wd != dir_watch_)
      used = true;
  }
  if (swapped) watch_current_version();
  return used;
}

}  // namespace keyward::sidecar
