#include "operator/apikey/rotation_planner.h"

#include <date/tz.h>

#include <algorithm>
#include <sstream>

namespace keyward::apikey {
namespace {

using std::chrono::seconds;

// One firing of a cron expression: the local time it was scheduled for and the instant it runs.
struct Firing {
  LocalSeconds local;
  SystemTime instant;
};

// A local time as an instant: nonexistent times (spring forward) run at the transition, the
// first valid instant after them; ambiguous times (fall back) run at their first occurrence.
SystemTime to_instant(const date::time_zone& zone, LocalSeconds local) {
  const date::local_info info = zone.get_info(local);
  switch (info.result) {
    case date::local_info::nonexistent:
      return info.first.end;
    case date::local_info::ambiguous:
    case date::local_info::unique:
    default:
      return date::sys_seconds{local.time_since_epoch() - info.first.offset};
  }
}

LocalSeconds to_local(const date::time_zone& zone, SystemTime t) {
  const auto secs = date::floor<seconds>(t);
  return zone.to_local(secs);
}

// The first firing strictly after instant `after`.
std::optional<Firing> next_firing(const CronExpression& cron, const date::time_zone& zone,
                                  SystemTime after) {
  LocalSeconds local = to_local(zone, after);
  // A local time maps to an instant at or before `after` at most for the length of a DST overlap
  // (the repeated hour), so this loop ends after a few iterations; the bound is a backstop.
  for (int guard = 0; guard < 100000; ++guard) {
    auto candidate = cron.next_after(local);
    if (!candidate) return std::nullopt;
    const SystemTime instant = to_instant(zone, *candidate);
    if (instant > after) return Firing{*candidate, instant};
    local = *candidate;
  }
  return std::nullopt;
}

std::unexpected<Error> invalid(std::string message) {
  return fail(std::string(reason::kInvalidSpec), std::move(message));
}

Result<const date::time_zone*> locate(const std::string& name, const std::string& path) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return invalid(path + ": \"" + name +
                   "\" is not an IANA time zone; use a name such as America/Chicago");
  }
}

Result<date::local_days> parse_local_date(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  date::year_month_day ymd{};
  in >> date::parse("%F", ymd);
  if (text.size() != 10 || in.fail() || !ymd.ok() || in.peek() != std::char_traits<char>::eof()) {
    return invalid(path + ": \"" + text +
                   "\" is not a calendar date; write YYYY-MM-DD, for example 2026-12-25");
  }
  return date::local_days{ymd};
}

std::string format_instant(SystemTime t) { return format_rfc3339(t); }

}  // namespace

std::optional<SystemTime> next_cron_instant(const CronExpression& cron, const date::time_zone& zone,
                                            SystemTime after) {
  auto f = next_firing(cron, zone, after);
  if (!f) return std::nullopt;
  return f->instant;
}

Result<RotationPlanner> RotationPlanner::create(const RotationSpec& spec) {
  RotationPlanner planner;
  if (spec.schedule.has_value() == spec.interval_seconds.has_value()) {
    return invalid("spec.rotation: set exactly one of schedule (5-field cron) or intervalSeconds");
  }
  if (spec.schedule) {
    auto cron = CronExpression::parse(*spec.schedule);
    if (!cron) return invalid("spec.rotation.schedule: " + cron.error().message);
    auto zone = locate(spec.time_zone, "spec.rotation.timeZone");
    if (!zone) return fail(zone.error());
    if (!cron->next_after(LocalSeconds{}).has_value()) {
      return invalid("spec.rotation.schedule: \"" + *spec.schedule +
                     "\" never fires (no such date); check the day-of-month and month fields");
    }
    planner.schedule_ = std::move(*cron);
    planner.schedule_zone_ = *zone;
  } else {
    if (*spec.interval_seconds <= 0) {
      return invalid("spec.rotation.intervalSeconds: must be positive, got " +
                     std::to_string(*spec.interval_seconds));
    }
    planner.interval_ = seconds(*spec.interval_seconds);
  }
  if (spec.grace_period_seconds < 0) {
    return invalid("spec.rotation.gracePeriodSeconds: must not be negative");
  }
  planner.grace_period_ = seconds(spec.grace_period_seconds);

  for (std::size_t i = 0; i < spec.windows.size(); ++i) {
    const RotationWindow& w = spec.windows[i];
    const std::string path = "spec.rotation.windows[" + std::to_string(i) + "]";
    auto cron = CronExpression::parse(w.start);
    if (!cron) return invalid(path + ".start: " + cron.error().message);
    Window window{.name = w.name, .start = *cron, .duration = {}, .zone = nullptr, .excluded = {}};
    if (!cron->next_after(LocalSeconds{}).has_value()) {
      return fail(std::string(reason::kWindowNeverOpens),
                  path + ".start: \"" + w.start + "\" never fires (no such date), so window \"" +
                      w.name + "\" never opens; check the day-of-month and month fields");
    }
    if (w.duration_seconds <= 0) {
      return fail(std::string(reason::kWindowNeverOpens),
                  path + ".durationSeconds: window \"" + w.name +
                      "\" has no duration, so it never opens; give it at least 60 seconds");
    }
    window.duration = seconds(w.duration_seconds);
    auto zone = locate(w.time_zone, path + ".timeZone");
    if (!zone) return fail(zone.error());
    window.zone = *zone;
    for (std::size_t d = 0; d < w.excluded_dates.size(); ++d) {
      auto day =
          parse_local_date(w.excluded_dates[d], path + ".excludedDates[" + std::to_string(d) + "]");
      if (!day) return fail(day.error());
      window.excluded.push_back(*day);
    }
    std::sort(window.excluded.begin(), window.excluded.end());
    planner.windows_.push_back(std::move(window));
  }
  return planner;
}

std::optional<SystemTime> RotationPlanner::next_due(SystemTime last_rotation,
                                                    SystemTime now) const {
  std::optional<SystemTime> due;
  if (interval_) {
    due = last_rotation + *interval_;
  } else {
    due = next_cron_instant(*schedule_, *schedule_zone_, last_rotation);
  }
  if (!due) return std::nullopt;
  return std::max(*due, now);
}

std::optional<SystemTime> RotationPlanner::next_opening(const Window& w, SystemTime from,
                                                        SystemTime limit) const {
  // Openings at or after `from`: firings strictly after from - 1s (firings are whole minutes).
  SystemTime after = date::floor<seconds>(from) - seconds(1);
  if (from > date::floor<seconds>(from)) after = date::floor<seconds>(from);
  while (true) {
    auto f = next_firing(w.start, *w.zone, after);
    if (!f || f->instant > limit) return std::nullopt;
    const auto day = date::floor<date::days>(f->local);
    if (!std::binary_search(w.excluded.begin(), w.excluded.end(), day)) return f->instant;
    after = f->instant;
  }
}

std::optional<SystemTime> RotationPlanner::covering_end(const Window& w, SystemTime t) const {
  // The latest non-excluded opening o with t - duration < o <= t ends last. Look back over a
  // span that doubles (1 minute, 2, 4, ... up to the duration), so a frequent start such as
  // "* * * * *" is answered from the last minute instead of walking a week of openings.
  for (seconds span = std::min<seconds>(seconds(60), w.duration);;
       span = std::min(span * 2, w.duration)) {
    std::optional<SystemTime> latest;
    SystemTime after = t - span;
    while (true) {
      auto f = next_firing(w.start, *w.zone, after);
      if (!f || f->instant > t) break;
      const auto day = date::floor<date::days>(f->local);
      if (!std::binary_search(w.excluded.begin(), w.excluded.end(), day)) latest = f->instant;
      after = f->instant;
    }
    if (latest) return *latest + w.duration;
    if (span >= w.duration) return std::nullopt;
  }
}

bool RotationPlanner::in_window(SystemTime t) const {
  return std::any_of(windows_.begin(), windows_.end(),
                     [&](const Window& w) { return covering_end(w, t).has_value(); });
}

std::optional<SystemTime> RotationPlanner::window_end(SystemTime t) const {
  std::optional<SystemTime> end;
  SystemTime probe = t;
  // Follow overlapping and back-to-back windows: the union stays open until no window covers
  // the end of the previous one. A window that is open all the time stops at the horizon.
  while (true) {
    std::optional<SystemTime> latest;
    for (const Window& w : windows_) {
      if (auto e = covering_end(w, probe); e && (!latest || *e > *latest)) latest = e;
    }
    if (!latest) break;
    end = latest;
    if (*end - t >= kSearchHorizon) break;
    probe = *end;
  }
  return end;
}

Result<SystemTime> RotationPlanner::next_window_open(SystemTime t) const {
  if (windows_.empty() || in_window(t)) return t;
  const SystemTime limit = t + kSearchHorizon;
  std::optional<SystemTime> earliest;
  for (const Window& w : windows_) {
    if (auto o = next_opening(w, t, limit); o && (!earliest || *o < *earliest)) earliest = o;
  }
  if (!earliest) {
    std::string names;
    for (const Window& w : windows_) names += (names.empty() ? "\"" : ", \"") + w.name + "\"";
    return fail(std::string(reason::kWindowNeverOpens),
                "spec.rotation.windows: none of " + names + " opens in the " +
                    std::to_string(kSearchHorizon.count()) + " days after " + format_instant(t) +
                    "; remove excluded dates or widen the windows");
  }
  return *earliest;
}

Result<SystemTime> RotationPlanner::next_rotation(SystemTime last_rotation, SystemTime now) const {
  auto due = next_due(last_rotation, now);
  if (!due) {
    return fail(std::string(reason::kWindowNeverOpens),
                "spec.rotation.schedule: \"" + (schedule_ ? schedule_->text() : std::string()) +
                    "\" does not fire again after " + format_instant(last_rotation) +
                    "; change the schedule");
  }
  return next_window_open(*due);
}

bool RotationPlanner::restart_allowed(SystemTime t) const {
  return windows_.empty() || in_window(t);
}

}  // namespace keyward::apikey
