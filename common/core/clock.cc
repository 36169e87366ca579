#include "common/core/clock.h"

#include <date/date.h>

#include <algorithm>
#include <sstream>

namespace keyward {

void Wakeup::notify() {
  {
    std::lock_guard lock(mu_);
    notified_ = true;
  }
  cv_.notify_all();
}

bool Wakeup::take() {
  std::lock_guard lock(mu_);
  const bool was = notified_;
  notified_ = false;
  return was;
}

SystemTime RealClock::now() const { return std::chrono::system_clock::now(); }

WakeReason RealClock::sleep_until(SystemTime deadline, Wakeup& wakeup, std::stop_token stop) {
  std::unique_lock lock(wakeup.mu_);
  while (true) {
    if (stop.stop_requested()) return WakeReason::Stopped;
    if (wakeup.notified_) {
      wakeup.notified_ = false;
      return WakeReason::Notified;
    }
    const auto remaining = deadline - std::chrono::system_clock::now();
    if (remaining <= std::chrono::system_clock::duration::zero()) return WakeReason::Deadline;
    // Sleep on the steady clock, re-checking the wall clock at least every kWallClockRecheck so
    // a wall-clock step (NTP, a suspended VM) is noticed without waking often while idle.
    const auto step = std::min<std::chrono::steady_clock::duration>(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(remaining),
        kWallClockRecheck);
    wakeup.cv_.wait_for(lock, stop, step, [&] { return wakeup.notified_; });
  }
}

std::string format_rfc3339(SystemTime t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::seconds>(t));
}

Result<SystemTime> parse_rfc3339(const std::string& text) {
  for (const char* fmt : {"%FT%TZ", "%FT%T%Ez", "%FT%T%z"}) {
    std::istringstream in(text);
    date::sys_time<std::chrono::microseconds> tp;
    in >> date::parse(fmt, tp);
    if (!in.fail()) return std::chrono::time_point_cast<SystemTime::duration>(tp);
  }
  return fail("InvalidTime", "'" + text.substr(0, 40) +
                                 "' is not an RFC 3339 time; write it as 2026-12-01T16:00:00Z");
}

}  // namespace keyward
