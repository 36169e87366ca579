#pragma once
// Time behind a small interface, so a 90-minute token is testable in milliseconds.
// Components either compute "what to do now and when to wake next" from Clock::now() (preferred:
// tests call the step function directly), or block in Clock::sleep_until with a Wakeup that
// another thread can poke. FakeClock (tests/support/fake_clock.h) wakes sleepers on advance().

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

#include "common/core/result.h"

namespace keyward {

namespace testing {
class FakeClock;
}  // namespace testing

using SystemTime = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

// A flag plus a condition variable: notify() wakes whoever sleeps on it.
class Wakeup {
 public:
  void notify();
  // Returns true and clears the flag if notify() was called since the last take().
  bool take();

 private:
  friend class RealClock;
  friend class testing::FakeClock;
  std::mutex mu_;  // guards notified_
  std::condition_variable_any cv_;
  bool notified_ = false;
};

enum class WakeReason { Deadline, Notified, Stopped };

class Clock {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  virtual ~Clock() = default;

  [[nodiscard]] virtual SystemTime now() const = 0;

  // Blocks until now() >= deadline, wakeup.notify(), or a stop request, whichever comes first.
  virtual WakeReason sleep_until(SystemTime deadline, Wakeup& wakeup, std::stop_token stop) = 0;
};

// The wall clock. Sleeps on a steady clock and re-checks the wall clock every
// kWallClockRecheck, so a wall-clock jump is noticed within that time while an idle process
// wakes only that rarely (a token refreshed every 85 minutes costs a few wake-ups an hour).
class RealClock final : public Clock {
 public:
  static constexpr std::chrono::seconds kWallClockRecheck{60};
  [[nodiscard]] SystemTime now() const override;
  WakeReason sleep_until(SystemTime deadline, Wakeup& wakeup, std::stop_token stop) override;
};

// RFC 3339 formatting and parsing ("2026-11-23T04:02:18Z", fractional seconds and offsets
// accepted on input). Kubernetes and the providers speak this format.
std::string format_rfc3339(SystemTime t);
Result<SystemTime> parse_rfc3339(const std::string& text);

}  // namespace keyward
