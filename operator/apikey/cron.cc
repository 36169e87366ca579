#include "operator/apikey/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <vector>

namespace keyward::apikey {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::array<std::string_view, 13>* names;  // index = value; null when the field has none
  int name_base;                                  // value of names[0]
};

constexpr std::array<std::string_view, 13> kMonthNames = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", ""};
constexpr std::array<std::string_view, 13> kDayNames = {
    "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "", "", "", "", "", ""};

const FieldSpec kMinute{"minute", 0, 59, nullptr, 0};
const FieldSpec kHour{"hour", 0, 23, nullptr, 0};
const FieldSpec kDayOfMonth{"day-of-month", 1, 31, nullptr, 0};
const FieldSpec kMonth{"month", 1, 12, &kMonthNames, 1};
const FieldSpec kDayOfWeek{"day-of-week", 0, 7, &kDayNames, 0};  // 7 is Sunday too

std::unexpected<Error> field_error(const FieldSpec& f, std::string_view text,
                                   std::string_view what) {
  return fail("InvalidCron",
              std::string(f.name) + " field \"" + std::string(text) + "\": " + std::string(what));
}

// A number or (for month and day-of-week) a three-letter name.
std::optional<int> parse_value(const FieldSpec& f, std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(text.front())) != 0) {
    int value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    return value;
  }
  if (f.names == nullptr || text.size() != 3) return std::nullopt;
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (std::size_t i = 0; i < f.names->size(); ++i) {
    if (!(*f.names)[i].empty() && (*f.names)[i] == upper) return static_cast<int>(i) + f.name_base;
  }
  return std::nullopt;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto pos = text.find(sep, start);
    parts.push_back(
        text.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

// Sets bits [min..max] of the field in `out` (indexed by value).
Result<std::vector<bool>> parse_field(const FieldSpec& f, std::string_view text) {
  std::vector<bool> bits(static_cast<std::size_t>(f.max) + 1, false);
  for (std::string_view item : split(text, ',')) {
    if (item.empty()) return field_error(f, text, "empty list item; remove the extra comma");
    int step = 1;
    std::string_view range = item;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      const std::string_view step_text = item.substr(slash + 1);
      int parsed = 0;
      auto [ptr, ec] =
          std::from_chars(step_text.data(), step_text.data() + step_text.size(), parsed);
      if (step_text.empty() || ec != std::errc() || ptr != step_text.data() + step_text.size() ||
          parsed <= 0) {
        return field_error(f, text,
                           "step \"" + std::string(step_text) + "\" is not a positive number");
      }
      if (parsed > f.max) {
        return field_error(
            f, text, "step " + std::to_string(parsed) + " is larger than " + std::to_string(f.max));
      }
      step = parsed;
      range = item.substr(0, slash);
    }
    int low = f.min;
    int high = f.max;
    if (range == "*") {
      if (&f == &kDayOfWeek) high = 6;  // "*" covers each day once
    } else {
      const auto dash = range.find('-');
      const std::string_view low_text = range.substr(0, dash);
      auto lo = parse_value(f, low_text);
      if (!lo) {
        return field_error(f, text, "\"" + std::string(low_text) + "\" is not a valid value");
      }
      low = *lo;
      if (dash != std::string_view::npos) {
        const std::string_view high_text = range.substr(dash + 1);
        auto hi = parse_value(f, high_text);
        if (!hi) {
          return field_error(f, text, "\"" + std::string(high_text) + "\" is not a valid value");
        }
        high = *hi;
      } else if (item.find('/') == std::string_view::npos) {
        high = low;  // a single value
      } else if (&f == &kDayOfWeek) {
        high = 6;  // "1/2" means 1-6/2 (7 would be Sunday again)
      }            // otherwise "5/15" means 5-max/15
      if (low < f.min || low > f.max || high < f.min || high > f.max) {
        return field_error(
            f, text,
            "values must be between " + std::to_string(f.min) + " and " + std::to_string(f.max));
      }
      if (low > high) {
        return field_error(f, text,
                           "range " + std::to_string(low) + "-" + std::to_string(high) +
                               " runs backwards; write the smaller value first");
      }
    }
    for (int v = low; v <= high; v += step) bits[static_cast<std::size_t>(v)] = true;
  }
  return bits;
}

std::string_view expand_alias(std::string_view text) {
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@hourly") return "0 * * * *";
  return {};
}

}  // namespace

Result<CronExpression> CronExpression::parse(std::string_view text) {
  std::string_view expr = text;
  if (!text.empty() && text.front() == '@') {
    expr = expand_alias(text);
    if (expr.empty()) {
      return fail("InvalidCron", "\"" + std::string(text) +
                                     "\" is not a known alias; use @hourly, @daily, @midnight, "
                                     "@weekly, @monthly, @yearly or @annually");
    }
  }
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < expr.size()) {
    while (i < expr.size() && (expr[i] == ' ' || expr[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < expr.size() && expr[i] != ' ' && expr[i] != '\t') ++i;
    if (i > start) fields.push_back(expr.substr(start, i - start));
  }
  if (fields.size() != 5) {
    return fail("InvalidCron", "\"" + std::string(text) + "\" has " +
                                   std::to_string(fields.size()) +
                                   " fields; write 5: minute hour day-of-month month day-of-week");
  }
  CronExpression cron;
  cron.text_ = std::string(text);
  const std::array<const FieldSpec*, 5> specs = {&kMinute, &kHour, &kDayOfMonth, &kMonth,
                                                 &kDayOfWeek};
  std::array<std::vector<bool>, 5> bits;
  for (std::size_t f = 0; f < 5; ++f) {
    auto parsed = parse_field(*specs[f], fields[f]);
    if (!parsed) return fail(parsed.error());
    bits[f] = std::move(*parsed);
  }
  for (std::size_t v = 0; v < 60; ++v) cron.minutes_[v] = bits[0][v];
  for (std::size_t v = 0; v < 24; ++v) cron.hours_[v] = bits[1][v];
  for (std::size_t v = 1; v <= 31; ++v) cron.days_of_month_[v] = bits[2][v];
  for (std::size_t v = 1; v <= 12; ++v) cron.months_[v] = bits[3][v];
  for (std::size_t v = 0; v <= 6; ++v) cron.days_of_week_[v] = bits[4][v];
  if (bits[4][7]) cron.days_of_week_[0] = true;
  cron.dom_restricted_ = !fields[2].starts_with('*');
  cron.dow_restricted_ = !fields[4].starts_with('*');
  return cron;
}

bool CronExpression::matches_day(date::local_days day) const {
  const date::year_month_day ymd{day};
  const date::weekday wd{day};
  if (!months_[static_cast<unsigned>(ymd.month())]) return false;
  const bool dom = days_of_month_[static_cast<unsigned>(ymd.day())];
  const bool dow = days_of_week_[wd.c_encoding()];
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  return dom && dow;
}

bool CronExpression::matches(LocalSeconds t) const {
  const auto day = date::floor<date::days>(t);
  if (!matches_day(day)) return false;
  const date::hh_mm_ss tod{t - day};
  return hours_[static_cast<std::size_t>(tod.hours().count())] &&
         minutes_[static_cast<std::size_t>(tod.minutes().count())];
}

std::optional<LocalSeconds> CronExpression::next_after(LocalSeconds after) const {
  const auto start = date::floor<std::chrono::minutes>(after) + std::chrono::minutes(1);
  auto day = date::floor<date::days>(start);
  const auto last_day = day + date::days(366 * kSearchYears);
  for (; day < last_day; day += date::days(1)) {
    if (!matches_day(day)) continue;
    int first_minute_of_day = 0;
    if (day == date::floor<date::days>(start)) {
      first_minute_of_day =
          static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(start - day).count());
    }
    for (int h = first_minute_of_day / 60; h < 24; ++h) {
      if (!hours_[static_cast<std::size_t>(h)]) continue;
      const int m0 = (h == first_minute_of_day / 60) ? first_minute_of_day % 60 : 0;
      for (int m = m0; m < 60; ++m) {
        if (minutes_[static_cast<std::size_t>(m)]) {
          return LocalSeconds(day) + std::chrono::hours(h) + std::chrono::minutes(m);
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace keyward::apikey
