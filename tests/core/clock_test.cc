#include "common/core/clock.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/fake_clock.h"

namespace keyward {
namespace {

using namespace std::chrono_literals;

TEST(Rfc3339, RoundTripsAndAcceptsOffsets) {
  SystemTime t;
  ASSERT_NO_THROW(t = parse_rfc3339("2026-11-23T04:02:18Z").value());
  EXPECT_EQ(format_rfc3339(t), "2026-11-23T04:02:18Z");
  ASSERT_NO_THROW(t = parse_rfc3339("2026-11-23T04:02:18.250Z").value());
  EXPECT_EQ(format_rfc3339(t), "2026-11-23T04:02:18Z");
  ASSERT_NO_THROW(t = parse_rfc3339("2026-11-22T22:02:18-06:00").value());
  EXPECT_EQ(format_rfc3339(t), "2026-11-23T04:02:18Z");
  EXPECT_FALSE(parse_rfc3339("yesterday"));
}

TEST(FakeClock, SleeperWakesOnlyWhenAdvancedPastDeadline) {
  testing::FakeClock clock;
  Wakeup wakeup;
  const SystemTime deadline = clock.now() + 90min;
  WakeReason reason = WakeReason::Stopped;
  std::jthread sleeper(
      [&](std::stop_token st) { reason = clock.sleep_until(deadline, wakeup, st); });
  while (clock.sleepers() == 0) std::this_thread::yield();
  clock.advance(85min);
  EXPECT_EQ(clock.sleepers(), 1);  // still asleep: 5 minutes to go
  clock.advance(5min);
  sleeper.join();
  EXPECT_EQ(reason, WakeReason::Deadline);
}

TEST(FakeClock, NotifyAndStopInterruptSleep) {
  testing::FakeClock clock;
  Wakeup wakeup;
  WakeReason reason = WakeReason::Deadline;
  {
    std::jthread sleeper(
        [&](std::stop_token st) { reason = clock.sleep_until(clock.now() + 1h, wakeup, st); });
    while (clock.sleepers() == 0) std::this_thread::yield();
    wakeup.notify();
    sleeper.join();
  }
  EXPECT_EQ(reason, WakeReason::Notified);
  {
    std::jthread sleeper(
        [&](std::stop_token st) { reason = clock.sleep_until(clock.now() + 1h, wakeup, st); });
    while (clock.sleepers() == 0) std::this_thread::yield();
  }  // jthread destructor requests stop
  EXPECT_EQ(reason, WakeReason::Stopped);
}

TEST(RealClock, StopsPromptly) {
  RealClock clock;
  Wakeup wakeup;
  std::stop_source src;
  src.request_stop();
  EXPECT_EQ(clock.sleep_until(clock.now() + 1h, wakeup, src.get_token()), WakeReason::Stopped);
  EXPECT_EQ(clock.sleep_until(clock.now() - 1s, wakeup, {}), WakeReason::Deadline);
}

}  // namespace
}  // namespace keyward
