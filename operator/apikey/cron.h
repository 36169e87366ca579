#pragma once
// A 5-field cron expression ("minute hour day-of-month month day-of-week") evaluated over local
// civil time. Lists "1,15", ranges "1-5", steps "*/15" and "10-50/20", names JAN..DEC and
// SUN..SAT (case-insensitive), 7 as Sunday, and the aliases @hourly, @daily, @midnight, @weekly,
// @monthly, @yearly, @annually. Vixie cron semantics for the two day fields: when both are
// restricted (neither starts with "*"), a day matches if EITHER matches; otherwise both must.
// Time zones are not this class's business: RotationPlanner maps local times to instants.

#include <date/date.h>

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "common/core/result.h"

namespace keyward::apikey {

using LocalSeconds = date::local_seconds;

class CronExpression {
 public:
  // Error{"InvalidCron", "<field> field \"<text>\": <what is wrong>"} on a bad expression.
  static Result<CronExpression> parse(std::string_view text);

  // The first whole local minute strictly after `after` that matches, or nullopt when none does
  // within kSearchYears (for example "0 0 30 2 *", February 30th).
  [[nodiscard]] std::optional<LocalSeconds> next_after(LocalSeconds after) const;

  // Whether the minute containing `t` matches.
  [[nodiscard]] bool matches(LocalSeconds t) const;
  // Whether the day matches (month, day-of-month and day-of-week fields only).
  [[nodiscard]] bool matches_day(date::local_days day) const;

  [[nodiscard]] const std::string& text() const { return text_; }

  // Long enough for February 29th on a given weekday (the calendar repeats every 28 years).
  static constexpr int kSearchYears = 29;

 private:
  CronExpression() = default;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bit 1..31
  std::bitset<13> months_;         // bit 1..12
  std::bitset<7> days_of_week_;    // bit 0 = Sunday
  bool dom_restricted_ = false;
  bool dow_restricted_ = false;
};

}  // namespace keyward::apikey
