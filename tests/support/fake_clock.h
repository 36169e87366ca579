#pragma once
// A clock that moves only when a test says so. advance() and set() wake every sleeper, which
// re-checks its deadline; nothing reads the wall clock.

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

#include "common/core/clock.h"

namespace keyward::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(SystemTime start = SystemTime(std::chrono::seconds(1'800'000'000)))
      : now_(start) {}

  [[nodiscard]] SystemTime now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }

  void advance(std::chrono::system_clock::duration d) {
    {
      std::lock_guard lock(mu_);
      now_ += d;
    }
    wake_all();
  }

  void set(SystemTime t) {
    {
      std::lock_guard lock(mu_);
      now_ = t;
    }
    wake_all();
  }

  // Number of threads currently blocked in sleep_until (tests wait for a worker to park).
  [[nodiscard]] int sleepers() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(sleepers_.size());
  }

  // The earliest deadline any sleeper waits for (or max() when none).
  [[nodiscard]] SystemTime next_deadline() const {
    std::lock_guard lock(mu_);
    SystemTime earliest = SystemTime::max();
    for (const auto& s : sleepers_) earliest = std::min(earliest, s.deadline);
    return earliest;
  }

  WakeReason sleep_until(SystemTime deadline, Wakeup& wakeup, std::stop_token stop) override {
    {
      std::lock_guard lock(mu_);
      sleepers_.push_back({&wakeup, deadline});
    }
    WakeReason reason = WakeReason::Deadline;
    {
      std::unique_lock lock(wakeup.mu_);
      while (true) {
        if (stop.stop_requested()) {
          reason = WakeReason::Stopped;
          break;
        }
        if (wakeup.notified_) {
          wakeup.notified_ = false;
          reason = WakeReason::Notified;
          break;
        }
        if (now() >= deadline) {
          reason = WakeReason::Deadline;
          break;
        }
        wakeup.cv_.wait(lock, stop, [&] { return wakeup.notified_ || poked(&wakeup); });
      }
    }
    std::lock_guard lock(mu_);
    sleepers_.erase(std::find_if(sleepers_.begin(), sleepers_.end(),
                                 [&](const Sleeper& s) { return s.wakeup == &wakeup; }));
    return reason;
  }

 private:
  struct Sleeper {
    Wakeup* wakeup;
    SystemTime deadline;
    bool poked = false;
  };

  bool poked(Wakeup* w) {
    std::lock_guard lock(mu_);
    for (auto& s : sleepers_) {
      if (s.wakeup == w && s.poked) {
        s.poked = false;
        return true;
      }
    }
    return false;
  }

  void wake_all() {
    std::vector<Wakeup*> targets;
    {
      std::lock_guard lock(mu_);
      for (auto& s : sleepers_) {
        s.poked = true;
        targets.push_back(s.wakeup);
      }
    }
    for (Wakeup* w : targets) {
      std::lock_guard lock(w->mu_);  // pairs with the predicate check under the same mutex
      w->cv_.notify_all();
    }
  }

  mutable std::mutex mu_;  // guards now_ and sleepers_
  SystemTime now_;
  std::vector<Sleeper> sleepers_;
};

}  // namespace keyward::testing
