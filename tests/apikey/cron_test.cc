#include "operator/apikey/cron.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

namespace keyward::apikey {
namespace {

using namespace std::chrono_literals;

LocalSeconds local(const std::string& text) {
  std::istringstream in(text);
  LocalSeconds t;
  in >> date::parse("%F %R", t);
  EXPECT_FALSE(in.fail()) << text;
  return t;
}

std::string show(std::optional<LocalSeconds> t) {
  if (!t) return "never";
  return date::format("%F %R", *t);
}

std::string next(std::string_view expr, const std::string& after) {
  auto cron = CronExpression::parse(expr);
  EXPECT_TRUE(cron.has_value()) << expr << ": " << (cron ? "" : cron.error().message);
  if (!cron) return "invalid";
  return show(cron->next_after(local(after)));
}

TEST(CronExpression, EveryMinuteIsStrictlyAfter) {
  EXPECT_EQ(next("* * * * *", "2026-11-23 04:02"), "2026-11-23 04:03");
}

TEST(CronExpression, SecondsWithinTheMinuteStillMoveToTheNextMinute) {
  auto cron = CronExpression::parse("* * * * *");
  ASSERT_TRUE(cron);
  EXPECT_EQ(show(cron->next_after(local("2026-11-23 04:02") + 59s)), "2026-11-23 04:03");
}

TEST(CronExpression, DailyAtFixedTimeRollsOverToTomorrow) {
  EXPECT_EQ(next("0 16 * * *", "2026-11-23 15:59"), "2026-11-23 16:00");
  EXPECT_EQ(next("0 16 * * *", "2026-11-23 16:00"), "2026-11-24 16:00");
}

TEST(CronExpression, WeekdayRangeSkipsTheWeekend) {
  // 2026-11-27 is a Friday.
  EXPECT_EQ(next("0 16 * * 1-5", "2026-11-27 16:00"), "2026-11-30 16:00");
}

TEST(CronExpression, ListsRangesAndSteps) {
  EXPECT_EQ(next("*/15 * * * *", "2026-01-01 00:14"), "2026-01-01 00:15");
  EXPECT_EQ(next("10-50/20 * * * *", "2026-01-01 00:31"), "2026-01-01 00:50");
  EXPECT_EQ(next("10-50/20 * * * *", "2026-01-01 00:50"), "2026-01-01 01:10");
  EXPECT_EQ(next("5,35 9,21 * * *", "2026-01-01 09:06"), "2026-01-01 09:35");
  EXPECT_EQ(next("5,35 9,21 * * *", "2026-01-01 09:36"), "2026-01-01 21:05");
  EXPECT_EQ(next("5/20 * * * *", "2026-01-01 00:46"), "2026-01-01 01:05");  // 5-59/20
}

TEST(CronExpression, NamesAreCaseInsensitive) {
  EXPECT_EQ(next("0 0 1 jan *", "2026-06-01 00:00"), "2027-01-01 00:00");
  EXPECT_EQ(next("0 17 * * FRI", "2026-11-23 00:00"), "2026-11-27 17:00");
  EXPECT_EQ(next("0 17 * * Mon-Wed", "2026-11-25 18:00"), "2026-11-30 17:00");
  EXPECT_EQ(next("0 0 1 JUN-AUG *", "2026-08-02 00:00"), "2027-06-01 00:00");
}

TEST(CronExpression, SevenIsSunday) {
  // 2026-11-29 is a Sunday.
  EXPECT_EQ(next("0 12 * * 7", "2026-11-23 00:00"), "2026-11-29 12:00");
  EXPECT_EQ(next("0 12 * * 0", "2026-11-23 00:00"), "2026-11-29 12:00");
  EXPECT_EQ(next("0 12 * * 5-7", "2026-11-28 13:00"), "2026-11-29 12:00");
}

TEST(CronExpression, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // Vixie: "on the 1st OR on Mondays". 2026-12-01 is a Tuesday, 2026-11-30 a Monday.
  EXPECT_EQ(next("0 0 1 * 1", "2026-11-24 00:00"), "2026-11-30 00:00");
  EXPECT_EQ(next("0 0 1 * 1", "2026-11-30 00:00"), "2026-12-01 00:00");
}

TEST(CronExpression, StarredDayFieldDoesNotWidenTheOther) {
  // Day-of-week "*" leaves day-of-month in charge: only the 1st.
  EXPECT_EQ(next("0 0 1 * *", "2026-11-24 00:00"), "2026-12-01 00:00");
  // "*/2" in day-of-month starts with '*', so it counts as unrestricted: AND with Monday.
  // Odd days that are Mondays: 2026-11-30 is even, 2026-12-07 is odd.
  EXPECT_EQ(next("0 0 */2 * 1", "2026-11-24 00:00"), "2026-12-07 00:00");
}

TEST(CronExpression, Aliases) {
  EXPECT_EQ(next("@hourly", "2026-11-23 04:02"), "2026-11-23 05:00");
  EXPECT_EQ(next("@daily", "2026-11-23 04:02"), "2026-11-24 00:00");
  EXPECT_EQ(next("@midnight", "2026-11-23 04:02"), "2026-11-24 00:00");
  EXPECT_EQ(next("@weekly", "2026-11-23 04:02"), "2026-11-29 00:00");
  EXPECT_EQ(next("@monthly", "2026-11-23 04:02"), "2026-12-01 00:00");
  EXPECT_EQ(next("@yearly", "2026-11-23 04:02"), "2027-01-01 00:00");
  EXPECT_EQ(next("@annually", "2026-11-23 04:02"), "2027-01-01 00:00");
}

TEST(CronExpression, LeapDayFindsTheNextLeapYear) {
  EXPECT_EQ(next("0 0 29 2 *", "2026-03-01 00:00"), "2028-02-29 00:00");
}

TEST(CronExpression, ImpossibleDateNeverFires) {
  auto cron = CronExpression::parse("0 0 30 2 *");
  ASSERT_TRUE(cron);
  EXPECT_FALSE(cron->next_after(local("2026-01-01 00:00")).has_value());
}

TEST(CronExpression, MonthEndsAreRespected) {
  EXPECT_EQ(next("0 0 31 * *", "2026-04-01 00:00"), "2026-05-31 00:00");
}

TEST(CronExpression, ToleratesExtraWhitespace) {
  EXPECT_EQ(next("  0\t16  * * 1-5 ", "2026-11-23 15:00"), "2026-11-23 16:00");
}

TEST(CronExpression, MatchesChecksTheWholeMinute) {
  auto cron = CronExpression::parse("30 2 * * *");
  ASSERT_TRUE(cron);
  EXPECT_TRUE(cron->matches(local("2026-03-08 02:30") + 20s));
  EXPECT_FALSE(cron->matches(local("2026-03-08 02:31")));
}

// Deterministic fuzzing: arbitrary text never throws or crashes, and whatever parses yields a
// next run strictly after the start (or none).
TEST(CronExpression, ArbitraryTextIsHandled) {
  std::mt19937 rng(20261123);
  const std::string noise = "0123456789*/,- \tJANFEBMONSUNxyz@dailyhour";
  const std::vector<std::string> names = {"JAN", "dec", "MON", "sun", "Fri", "FOO"};
  auto num = [&] {
    const int top = std::uniform_int_distribution<int>(0, 9)(rng) == 0 ? 70 : 12;
    return std::to_string(std::uniform_int_distribution<int>(0, top)(rng));
  };
  auto field = [&]() -> std::string {
    switch (std::uniform_int_distribution<int>(0, 8)(rng)) {
      case 0:
        return "*";
      case 1:
        return "*/" + num();
      case 2:
        return num();
      case 3:
        return num() + "-" + num();
      case 4:
        return num() + "-" + num() + "/" + num();
      case 5:
        return num() + "," + num() + "," + num();
      case 6:
        return names[std::uniform_int_distribution<std::size_t>(0, names.size() - 1)(rng)];
      case 7:
        return num() + "/" + num();
      default: {
        std::string junk;
        for (int k = std::uniform_int_distribution<int>(0, 4)(rng); k > 0; --k) {
          junk.push_back(
              noise[std::uniform_int_distribution<std::size_t>(0, noise.size() - 1)(rng)]);
        }
        return junk;
      }
    }
  };
  const LocalSeconds start = local("2026-11-23 04:02");
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const int fields = std::uniform_int_distribution<int>(0, 4)(rng) == 0
                           ? std::uniform_int_distribution<int>(3, 6)(rng)
                           : 5;
    for (int f = 0; f < fields; ++f) text += (f ? " " : "") + field();
    ASSERT_NO_THROW({
      auto cron = CronExpression::parse(text);
      if (cron) {
        ++parsed;
        auto next = cron->next_after(start);
        if (next) {
          ASSERT_GT(*next, start) << text;
          ASSERT_TRUE(cron->matches(*next)) << text;
        }
      }
    });
  }
  EXPECT_GT(parsed, 100);  // the fuzzer reaches the evaluator, not only the error paths
}

struct BadCron {
  const char* text;
  const char* expected_fragment;
};
// ctest shows the expression, not the struct's bytes.
void PrintTo(const BadCron& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class CronRejects : public ::testing::TestWithParam<BadCron> {};

TEST_P(CronRejects, WithAMessageNamingTheProblem) {
  auto cron = CronExpression::parse(GetParam().text);
  ASSERT_FALSE(cron.has_value()) << GetParam().text;
  EXPECT_EQ(cron.error().reason, "InvalidCron");
  EXPECT_NE(cron.error().message.find(GetParam().expected_fragment), std::string::npos)
      << cron.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CronRejects,
    ::testing::Values(
        BadCron{"", "has 0 fields"}, BadCron{"0 16 * *", "has 4 fields"},
        BadCron{"0 16 * * * *", "has 6 fields"},
        BadCron{"60 * * * *", "minute field \"60\": values must be between 0 and 59"},
        BadCron{"* 24 * * *", "hour field"}, BadCron{"* * 0 * *", "day-of-month field"},
        BadCron{"* * 32 * *", "day-of-month field"}, BadCron{"* * * 13 *", "month field"},
        BadCron{"* * * * 8", "day-of-week field"}, BadCron{"5-1 * * * *", "runs backwards"},
        BadCron{"*/0 * * * *", "is not a positive number"},
        BadCron{"*/x * * * *", "is not a positive number"},
        BadCron{"1,,2 * * * *", "empty list item"},
        BadCron{"a * * * *", "\"a\" is not a valid value"},
        BadCron{"* * * FOO *", "\"FOO\" is not a valid value"},
        BadCron{"* * * * MON-", "\"\" is not a valid value"},
        BadCron{"* * JAN * *", "day-of-month field"}, BadCron{"@every5m", "is not a known alias"},
        BadCron{"? * * * *", "is not a valid value"}),
    [](const ::testing::TestParamInfo<BadCron>& param) {
      return "Case" + std::to_string(param.index);
    });

}  // namespace
}  // namespace keyward::apikey
