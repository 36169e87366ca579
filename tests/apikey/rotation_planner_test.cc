#include "operator/apikey/rotation_planner.h"

#include <date/tz.h>
#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace keyward::apikey {
namespace {

using namespace std::chrono_literals;

SystemTime at(const std::string& rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t) << rfc3339;
  return t.value_or(SystemTime{});
}

std::string show(std::optional<SystemTime> t) { return t ? format_rfc3339(*t) : "never"; }
std::string show(const Result<SystemTime>& t) {
  return t ? format_rfc3339(*t) : "error " + t.error().reason;
}

RotationSpec cron_spec(std::string schedule, std::string zone) {
  RotationSpec spec;
  spec.schedule = std::move(schedule);
  spec.time_zone = std::move(zone);
  return spec;
}

RotationPlanner make(const RotationSpec& spec) {
  auto planner = RotationPlanner::create(spec);
  EXPECT_TRUE(planner.has_value()) << (planner ? "" : planner.error().to_string());
  return std::move(*planner);
}

std::string fire_after(const std::string& expr, const std::string& zone, const std::string& after) {
  auto cron = CronExpression::parse(expr);
  EXPECT_TRUE(cron);
  return show(next_cron_instant(*cron, *date::locate_zone(zone), at(after)));
}

// ---- DST: America/Chicago (2026: spring forward Mar 8 02:00 CST -> 03:00 CDT,
//      fall back Nov 1 02:00 CDT -> 01:00 CST) ----

TEST(CronInZone, ChicagoSpringForwardNonexistentTimeRunsAtTheTransition) {
  // 02:30 on Mar 7 is CST (UTC-6).
  EXPECT_EQ(fire_after("30 2 * * *", "America/Chicago", "2026-03-06T12:00:00Z"),
            "2026-03-07T08:30:00Z");
  // 02:30 on Mar 8 does not exist: it runs at 03:00 CDT = 08:00Z.
  EXPECT_EQ(fire_after("30 2 * * *", "America/Chicago", "2026-03-07T12:00:00Z"),
            "2026-03-08T08:00:00Z");
  // Next day 02:30 CDT (UTC-5).
  EXPECT_EQ(fire_after("30 2 * * *", "America/Chicago", "2026-03-08T08:00:00Z"),
            "2026-03-09T07:30:00Z");
}

TEST(CronInZone, ChicagoSpringForwardCollapsesTheMissingHourIntoOneRun) {
  // */15 in the missing hour: 02:00, 02:15, 02:30, 02:45 all become 08:00Z, once.
  EXPECT_EQ(fire_after("*/15 2 * * *", "America/Chicago", "2026-03-08T07:59:00Z"),
            "2026-03-08T08:00:00Z");
  EXPECT_EQ(fire_after("*/15 2 * * *", "America/Chicago", "2026-03-08T08:00:00Z"),
            "2026-03-09T07:00:00Z");
}

TEST(CronInZone, ChicagoFallBackAmbiguousTimeRunsOnceAtFirstOccurrence) {
  // 01:30 on Nov 1 happens twice: 06:30Z (CDT) and 07:30Z (CST). It runs at 06:30Z only.
  EXPECT_EQ(fire_after("30 1 * * *", "America/Chicago", "2026-10-31T12:00:00Z"),
            "2026-11-01T06:30:00Z");
  EXPECT_EQ(fire_after("30 1 * * *", "America/Chicago", "2026-11-01T06:30:00Z"),
            "2026-11-02T07:30:00Z");
  // Asked from inside the repeated hour (01:10 CST = 07:10Z), it does not run again that day.
  EXPECT_EQ(fire_after("30 1 * * *", "America/Chicago", "2026-11-01T07:10:00Z"),
            "2026-11-02T07:30:00Z");
}

TEST(CronInZone, ChicagoWeekdayAfternoonFollowsTheOffsetChange) {
  // Friday Mar 6 16:00 CST = 22:00Z; Monday Mar 9 16:00 CDT = 21:00Z.
  EXPECT_EQ(fire_after("0 16 * * 1-5", "America/Chicago", "2026-03-06T21:00:00Z"),
            "2026-03-06T22:00:00Z");
  EXPECT_EQ(fire_after("0 16 * * 1-5", "America/Chicago", "2026-03-06T22:00:00Z"),
            "2026-03-09T21:00:00Z");
  // Fall: Friday Oct 30 16:00 CDT = 21:00Z; Monday Nov 2 16:00 CST = 22:00Z.
  EXPECT_EQ(fire_after("0 16 * * 1-5", "America/Chicago", "2026-10-30T21:00:00Z"),
            "2026-11-02T22:00:00Z");
}

// ---- DST: Europe/London (2026: Mar 29 01:00 GMT -> 02:00 BST; Oct 25 02:00 BST -> 01:00 GMT) --

TEST(CronInZone, LondonSpringForward) {
  EXPECT_EQ(fire_after("30 1 * * *", "Europe/London", "2026-03-27T12:00:00Z"),
            "2026-03-28T01:30:00Z");
  // 01:30 on Mar 29 does not exist: runs at 02:00 BST = 01:00Z.
  EXPECT_EQ(fire_after("30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z"),
            "2026-03-29T01:00:00Z");
  EXPECT_EQ(fire_after("30 1 * * *", "Europe/London", "2026-03-29T01:00:00Z"),
            "2026-03-30T00:30:00Z");
}

TEST(CronInZone, LondonFallBack) {
  // 01:30 on Oct 25 is 00:30Z (BST) and 01:30Z (GMT): runs at 00:30Z only.
  EXPECT_EQ(fire_after("30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z"),
            "2026-10-25T00:30:00Z");
  EXPECT_EQ(fire_after("30 1 * * *", "Europe/London", "2026-10-25T00:30:00Z"),
            "2026-10-26T01:30:00Z");
  // Hourly across the fall-back: 01:00 BST (00:00Z), then 02:00 GMT (02:00Z); the repeated
  // 01:00 GMT (01:00Z) does not run.
  EXPECT_EQ(fire_after("0 * * * *", "Europe/London", "2026-10-25T00:00:00Z"),
            "2026-10-25T02:00:00Z");
}

// ---- next_due / next_rotation for schedules ----

TEST(RotationPlanner, CronScheduleInChicagoAcrossSpringForward) {
  // Weekly, Sunday 02:30 Chicago: the DST Sunday runs at 03:00 CDT.
  auto planner = make(cron_spec("30 2 * * 0", "America/Chicago"));
  const SystemTime last = at("2026-03-01T08:30:00Z");  // Sunday Mar 1 02:30 CST
  EXPECT_EQ(show(planner.next_due(last, last)), "2026-03-08T08:00:00Z");
  EXPECT_EQ(show(planner.next_rotation(last, last)), "2026-03-08T08:00:00Z");
  EXPECT_EQ(show(planner.next_due(at("2026-03-08T08:00:00Z"), at("2026-03-08T08:00:01Z"))),
            "2026-03-15T07:30:00Z");
}

TEST(RotationPlanner, MissedRotationsRunOnceNow) {
  auto planner = make(cron_spec("0 17 * * 5", "America/Chicago"));
  testing::FakeClock clock(at("2026-11-23T04:00:00Z"));
  // Last rotation three weeks ago: due long ago, so now (not three catch-up rotations).
  const SystemTime last = at("2026-11-01T12:00:00Z");
  EXPECT_EQ(show(planner.next_due(last, clock.now())), "2026-11-23T04:00:00Z");
  // After rotating now, the next one is Friday 17:00 CST = 23:00Z.
  EXPECT_EQ(show(planner.next_due(clock.now(), clock.now())), "2026-11-27T23:00:00Z");
}

TEST(RotationPlanner, IntervalScheduleIsElapsedTime) {
  RotationSpec spec;
  spec.interval_seconds = 604800;
  spec.time_zone = "America/Chicago";  // ignored by intervals, even across DST
  auto planner = make(spec);
  const SystemTime last = at("2026-03-05T12:00:00Z");
  EXPECT_EQ(show(planner.next_due(last, last)), "2026-03-12T12:00:00Z");
  EXPECT_EQ(show(planner.next_rotation(last, last + 1h)), "2026-03-12T12:00:00Z");
  // Overdue: now.
  EXPECT_EQ(show(planner.next_due(last, at("2026-04-01T00:00:00Z"))), "2026-04-01T00:00:00Z");
  EXPECT_FALSE(planner.has_windows());
  EXPECT_TRUE(planner.restart_allowed(last));
  EXPECT_FALSE(planner.in_window(last));
  EXPECT_EQ(show(planner.next_window_open(last)), format_rfc3339(last));
  EXPECT_FALSE(planner.window_end(last).has_value());
}

// ---- windows ----

RotationSpec globex_spec() {
  RotationSpec spec;
  spec.schedule = "0 12 * * 5";  // Friday noon Chicago: outside the halt window
  spec.time_zone = "America/Chicago";
  spec.windows.push_back(RotationWindow{
      "globex-halt", "0 16 * * 1-5", 3600, "America/Chicago", {"2026-12-25", "2027-01-01"}});
  return spec;
}

TEST(RotationWindows, GlobexHaltIsOpenOnlyForItsHour) {
  auto planner = make(globex_spec());
  // Monday Nov 23 2026, CST: 16:00-17:00 local = 22:00Z-23:00Z.
  EXPECT_FALSE(planner.in_window(at("2026-11-23T21:59:59Z")));
  EXPECT_TRUE(planner.in_window(at("2026-11-23T22:00:00Z")));
  EXPECT_TRUE(planner.in_window(at("2026-11-23T22:59:59Z")));
  EXPECT_FALSE(planner.in_window(at("2026-11-23T23:00:00Z")));
  EXPECT_EQ(show(planner.window_end(at("2026-11-23T22:30:00Z"))), "2026-11-23T23:00:00Z");
  EXPECT_FALSE(planner.window_end(at("2026-11-23T23:00:00Z")).has_value());
  EXPECT_TRUE(planner.restart_allowed(at("2026-11-23T22:30:00Z")));
  EXPECT_FALSE(planner.restart_allowed(at("2026-11-23T20:00:00Z")));
  // Not on Saturday.
  EXPECT_FALSE(planner.in_window(at("2026-11-28T22:30:00Z")));
}

TEST(RotationWindows, WindowFollowsItsZoneAcrossDst) {
  auto planner = make(globex_spec());
  // Summer (CDT): 16:00 local = 21:00Z.
  EXPECT_TRUE(planner.in_window(at("2026-07-01T21:30:00Z")));
  EXPECT_FALSE(planner.in_window(at("2026-07-01T22:30:00Z")));
}

TEST(RotationWindows, ExcludedHolidaysDoNotOpen) {
  auto planner = make(globex_spec());
  // Christmas 2026 is a Friday: no window.
  EXPECT_FALSE(planner.in_window(at("2026-12-25T22:30:00Z")));
  EXPECT_TRUE(planner.in_window(at("2026-12-24T22:30:00Z")));
  // From Christmas morning the next opening is Monday Dec 28, 16:00 CST.
  EXPECT_EQ(show(planner.next_window_open(at("2026-12-25T12:00:00Z"))), "2026-12-28T22:00:00Z");
  // New Year's Day 2027 (Friday) too.
  EXPECT_EQ(show(planner.next_window_open(at("2027-01-01T00:00:00Z"))), "2027-01-04T22:00:00Z");
}

TEST(RotationWindows, DueTimeMovesToTheNextWindow) {
  auto planner = make(globex_spec());
  // Rotated Monday Nov 23 in the window; due Friday Nov 27 12:00 CST (18:00Z), outside a window;
  // rotation happens when the halt opens that day, 16:00 CST = 22:00Z.
  const SystemTime last = at("2026-11-23T22:05:00Z");
  EXPECT_EQ(show(planner.next_due(last, last)), "2026-11-27T18:00:00Z");
  EXPECT_EQ(show(planner.next_rotation(last, last)), "2026-11-27T22:00:00Z");
  // The Friday before Christmas week: due Dec 25 noon, Dec 25 excluded, so Monday Dec 28.
  const SystemTime before_christmas = at("2026-12-21T22:05:00Z");
  EXPECT_EQ(show(planner.next_rotation(before_christmas, before_christmas)),
            "2026-12-28T22:00:00Z");
}

TEST(RotationWindows, DueInsideAWindowStaysPut) {
  RotationSpec spec = globex_spec();
  spec.schedule = "30 16 * * 3";  // Wednesday 16:30 Chicago, inside the halt
  auto planner = make(spec);
  const SystemTime last = at("2026-11-23T22:05:00Z");
  EXPECT_EQ(show(planner.next_rotation(last, last)), "2026-11-25T22:30:00Z");
  // Overdue while in a window: rotate now.
  EXPECT_EQ(show(planner.next_rotation(last, at("2026-11-27T22:10:00Z"))), "2026-11-27T22:10:00Z");
}

TEST(RotationWindows, OverlappingWindowsReportTheUnionEnd) {
  RotationSpec spec;
  spec.interval_seconds = 86400;
  spec.windows.push_back(RotationWindow{"a", "0 10 * * *", 7200, "UTC", {}});
  spec.windows.push_back(RotationWindow{"b", "0 11 * * *", 7200, "UTC", {}});
  auto planner = make(spec);
  EXPECT_EQ(show(planner.window_end(at("2026-06-01T10:30:00Z"))), "2026-06-01T13:00:00Z");
  EXPECT_EQ(show(planner.next_window_open(at("2026-06-01T13:00:00Z"))), "2026-06-02T10:00:00Z");
}

TEST(RotationWindows, BoundariesAreHalfOpen) {
  auto planner = make(globex_spec());
  const SystemTime open = at("2026-11-23T22:00:00Z");
  EXPECT_EQ(show(planner.next_window_open(open)), "2026-11-23T22:00:00Z");
  EXPECT_EQ(show(planner.window_end(open)), "2026-11-23T23:00:00Z");
  EXPECT_EQ(show(planner.next_window_open(at("2026-11-23T23:00:00Z"))), "2026-11-24T22:00:00Z");
  EXPECT_EQ(show(planner.next_window_open(at("2026-11-23T21:59:59.5Z"))), "2026-11-23T22:00:00Z");
}

TEST(RotationWindows, WindowOpeningAtANonexistentTimeOpensAtTheTransition) {
  RotationSpec spec;
  spec.interval_seconds = 3600;
  spec.windows.push_back(RotationWindow{"night", "30 2 * * *", 1800, "America/Chicago", {}});
  auto planner = make(spec);
  // Mar 8 2026: 02:30 does not exist; the window opens at 03:00 CDT (08:00Z) for 30 minutes.
  EXPECT_EQ(show(planner.next_window_open(at("2026-03-08T00:00:00Z"))), "2026-03-08T08:00:00Z");
  EXPECT_TRUE(planner.in_window(at("2026-03-08T08:29:00Z")));
  EXPECT_FALSE(planner.in_window(at("2026-03-08T08:30:00Z")));
}

TEST(RotationWindows, ExcludedDateIsTheLocalDateInTheWindowZone) {
  // Opens 23:30 Chicago = 05:30Z the next UTC day. Excluding 2026-12-24 (local) removes the
  // opening at 2026-12-25T05:30Z, not the one at 2026-12-24T05:30Z.
  RotationSpec spec;
  spec.interval_seconds = 3600;
  spec.windows.push_back(
      RotationWindow{"late", "30 23 * * *", 600, "America/Chicago", {"2026-12-24"}});
  auto planner = make(spec);
  EXPECT_TRUE(planner.in_window(at("2026-12-24T05:35:00Z")));
  EXPECT_FALSE(planner.in_window(at("2026-12-25T05:35:00Z")));
  EXPECT_EQ(show(planner.next_window_open(at("2026-12-24T06:00:00Z"))), "2026-12-26T05:30:00Z");
}

TEST(RotationWindows, AlwaysOpenWindowEndsAtTheHorizon) {
  RotationSpec spec;
  spec.interval_seconds = 3600;
  spec.windows.push_back(RotationWindow{"always", "* * * * *", 604800, "UTC", {"2026-12-25"}});
  auto planner = make(spec);
  const SystemTime t = at("2026-12-20T00:00:00Z");
  EXPECT_TRUE(planner.in_window(t));
  // Dec 25 has no openings of its own, but the week-long windows opened before it cover it.
  EXPECT_TRUE(planner.in_window(at("2026-12-25T12:00:00Z")));
  auto end = planner.window_end(t);
  ASSERT_TRUE(end);
  EXPECT_GE(*end - t, RotationPlanner::kSearchHorizon);
}

TEST(RotationWindows, WindowNeverOpensWithinTheHorizon) {
  RotationSpec spec;
  spec.interval_seconds = 3600;
  // Christmas only, and both Christmases within the horizon excluded.
  spec.windows.push_back(
      RotationWindow{"xmas", "0 0 25 12 *", 3600, "UTC", {"2026-12-25", "2027-12-25"}});
  auto planner = make(spec);
  auto open = planner.next_window_open(at("2026-12-01T00:00:00Z"));
  ASSERT_FALSE(open.has_value());
  EXPECT_EQ(open.error().reason, "WindowNeverOpens");
  EXPECT_NE(open.error().message.find("\"xmas\""), std::string::npos) << open.error().message;
  EXPECT_NE(open.error().message.find("400 days"), std::string::npos) << open.error().message;
  auto rotation = planner.next_rotation(at("2026-12-01T00:00:00Z"), at("2026-12-01T00:00:00Z"));
  ASSERT_FALSE(rotation.has_value());
  EXPECT_EQ(rotation.error().reason, "WindowNeverOpens");
  // Once 2028 is within reach, it opens again.
  EXPECT_EQ(show(planner.next_window_open(at("2027-12-26T00:00:00Z"))), "2028-12-25T00:00:00Z");
}

TEST(RotationWindows, ImpossibleWindowsAreRejectedAtCreation) {
  RotationSpec zero;
  zero.interval_seconds = 3600;
  zero.windows.push_back(RotationWindow{"zero", "0 16 * * *", 0, "UTC", {}});
  auto a = RotationPlanner::create(zero);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().reason, "WindowNeverOpens");
  EXPECT_NE(a.error().message.find("spec.rotation.windows[0].durationSeconds"), std::string::npos);

  RotationSpec feb30;
  feb30.interval_seconds = 3600;
  feb30.windows.push_back(RotationWindow{"feb30", "0 0 30 2 *", 3600, "UTC", {}});
  auto b = RotationPlanner::create(feb30);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().reason, "WindowNeverOpens");
  EXPECT_NE(b.error().message.find("spec.rotation.windows[0].start"), std::string::npos);
}

TEST(RotationPlannerCreate, RejectsBadZonesDatesAndSchedules) {
  auto bad_zone = RotationPlanner::create(cron_spec("0 16 * * *", "America/Chicgo"));
  ASSERT_FALSE(bad_zone);
  EXPECT_EQ(bad_zone.error().reason, "InvalidSpec");
  EXPECT_EQ(bad_zone.error().message,
            "spec.rotation.timeZone: \"America/Chicgo\" is not an IANA time zone; use a name such "
            "as America/Chicago");

  RotationSpec bad_date = globex_spec();
  bad_date.windows[0].excluded_dates = {"2026-02-30"};
  auto d = RotationPlanner::create(bad_date);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message,
            "spec.rotation.windows[0].excludedDates[0]: \"2026-02-30\" is not a calendar date; "
            "write YYYY-MM-DD, for example 2026-12-25");

  RotationSpec both = cron_spec("0 16 * * *", "UTC");
  both.interval_seconds = 60;
  EXPECT_FALSE(RotationPlanner::create(both));
  RotationSpec neither;
  EXPECT_FALSE(RotationPlanner::create(neither));

  auto bad_cron = RotationPlanner::create(cron_spec("0 16 * *", "UTC"));
  ASSERT_FALSE(bad_cron);
  EXPECT_NE(bad_cron.error().message.find("spec.rotation.schedule: "), std::string::npos);
}

TEST(RotationPlanner, GracePeriodIsCarried) {
  RotationSpec spec = cron_spec("@daily", "UTC");
  spec.grace_period_seconds = 120;
  EXPECT_EQ(make(spec).grace_period(), 120s);
}

}  // namespace
}  // namespace keyward::apikey
