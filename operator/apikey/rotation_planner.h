#pragma once
// When to rotate and when restarts are allowed, from an ApiKey's spec.rotation.
//
// Schedules: a cron expression is read in its IANA time zone (date/tz over /usr/share/zoneinfo).
// Across DST changes:
//  - a local time that does not exist (02:30 on a spring-forward day in America/Chicago) runs at
//    the first valid instant after it, the moment of the transition (03:00 CDT); several
//    nonexistent times collapse into that one run;
//  - a local time that occurs twice (01:30 on a fall-back day) runs once, at its first
//    occurrence (01:30 CDT); the repeated hour does not run again.
// An interval schedule is plain elapsed time from the last rotation, independent of zones.
//
// Windows: each opens at the instants of its cron `start` in its own zone (same DST rules) and
// stays open `duration_seconds`. An opening whose local date (in the window's zone) is listed in
// excluded_dates does not happen. Rotation and restarts happen only inside an open window; with
// no windows they may happen at any time. Windows may overlap; the union counts.

#include <chrono>
#include <optional>
#include <vector>

#include "common/core/clock.h"
#include "common/core/result.h"
#include "operator/apikey/apikey.h"
#include "operator/apikey/cron.h"

namespace date {
class time_zone;
}  // namespace date

namespace keyward::apikey {

class RotationPlanner {
 public:
  // How far ahead the planner looks for an open window before giving up with WindowNeverOpens.
  static constexpr std::chrono::days kSearchHorizon{400};

  // Error{"InvalidSpec", ...} for a bad cron expression, an unknown zone, a malformed date, or
  // neither/both of schedule and interval; Error{"WindowNeverOpens", ...} for a window that can
  // never open whatever the date (zero duration, a start that never fires). Whether a window
  // opens in the next kSearchHorizon depends on the date and is reported by next_rotation and
  // next_window_open. Reads no clock.
  static Result<RotationPlanner> create(const RotationSpec& spec);

  // The next rotation the schedule asks for, ignoring windows: the first schedule instant strictly
  // after `last_rotation` (interval: last_rotation + interval). When that lies before `now`
  // (rotations were missed while the operator was down) it returns `now`: rotate once, at once;
  // missed runs are not replayed. nullopt when the cron expression never fires again.
  [[nodiscard]] std::optional<SystemTime> next_due(SystemTime last_rotation, SystemTime now) const;

  // next_due moved forward to the first instant at which a window is open (unchanged when it is
  // already inside one, or when there are no windows). Error{"WindowNeverOpens", ...} when no
  // window opens within kSearchHorizon after the due time, or the schedule never fires again.
  [[nodiscard]] Result<SystemTime> next_rotation(SystemTime last_rotation, SystemTime now) const;

  // Whether some window is open at `t` (false when there are no windows).
  [[nodiscard]] bool in_window(SystemTime t) const;
  // `t` itself when a window is open at `t` (or there are no windows); else the next opening.
  // Error{"WindowNeverOpens", ...} when none opens within kSearchHorizon.
  [[nodiscard]] Result<SystemTime> next_window_open(SystemTime t) const;
  // The end of the open window containing `t` (the latest end when several overlap), or nullopt
  // when no window is open at `t` (or there are no windows).
  [[nodiscard]] std::optional<SystemTime> window_end(SystemTime t) const;
  // Restarts of stale pods may happen at `t`: inside a window, or there are no windows.
  [[nodiscard]] bool restart_allowed(SystemTime t) const;

  [[nodiscard]] bool has_windows() const { return !windows_.empty(); }
  [[nodiscard]] std::chrono::seconds grace_period() const { return grace_period_; }

 private:
  struct Window {
    std::string name;
    CronExpression start;
    std::chrono::seconds duration{0};
    const date::time_zone* zone = nullptr;   // owned by the tz database, lives for the process
    std::vector<date::local_days> excluded;  // sorted
  };

  RotationPlanner() = default;

  // The first opening of `w` at or after `from` (an instant), skipping excluded dates.
  [[nodiscard]] std::optional<SystemTime> next_opening(const Window& w, SystemTime from,
                                                       SystemTime limit) const;
  // An opening of `w` at or before `t` whose window still covers `t`; the latest such end.
  [[nodiscard]] std::optional<SystemTime> covering_end(const Window& w, SystemTime t) const;

  std::optional<CronExpression> schedule_;
  const date::time_zone* schedule_zone_ = nullptr;
  std::optional<std::chrono::seconds> interval_;
  std::chrono::seconds grace_period_{3600};
  std::vector<Window> windows_;
};

// The first instant strictly after `after` at which `cron`, read in `zone`, fires (with the DST
// rules above), or nullopt when it never fires within the cron's search range.
[[nodiscard]] std::optional<SystemTime> next_cron_instant(const CronExpression& cron,
                                                          const date::time_zone& zone,
                                                          SystemTime after);

}  // namespace keyward::apikey
