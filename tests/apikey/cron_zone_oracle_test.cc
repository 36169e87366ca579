// Cross-checks next_cron_instant against a brute-force oracle that walks UTC minute by minute:
// an instant m is a firing when the local time at m matches the cron and m is that local time's
// first occurrence, or when m is a spring-forward transition and a skipped local minute matches.
// The two are computed differently (local-time iteration vs. UTC scanning), so agreement across
// zones with 1-hour, 30-minute (Lord Howe) and no DST, around each 2026 transition, is evidence
// that no run is lost or doubled.

#include <date/tz.h>
#include <gtest/gtest.h>

#include "operator/apikey/rotation_planner.h"

namespace keyward::apikey {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

bool fires_at(const CronExpression& cron, const date::time_zone& zone, date::sys_seconds m) {
  const LocalSeconds local = zone.to_local(m);
  if (cron.matches(local)) {
    const date::local_info info = zone.get_info(local);
    const auto first = date::sys_seconds{local.time_since_epoch() - info.first.offset};
    if (info.result == date::local_info::unique || first == m) return true;
  }
  // A spring-forward transition at m: the local minutes skipped run at m.
  const LocalSeconds before = zone.to_local(m - seconds(1)) + seconds(1);
  for (LocalSeconds l = before; l < local; l += minutes(1)) {
    if (cron.matches(l)) return true;
  }
  return false;
}

struct OracleCase {
  const char* schedule;
  const char* zone;
  const char* start;  // RFC 3339
};

void PrintTo(const OracleCase& c, std::ostream* os) {
  *os << "\"" << c.schedule << "\" in " << c.zone << " from " << c.start;
}

class CronZoneOracle : public ::testing::TestWithParam<OracleCase> {};

TEST_P(CronZoneOracle, AgreesWithMinuteByMinuteScan) {
  const OracleCase& c = GetParam();
  auto cron = CronExpression::parse(c.schedule);
  ASSERT_TRUE(cron);
  const date::time_zone& zone = *date::locate_zone(c.zone);
  SystemTime after{};
  ASSERT_NO_THROW(after = parse_rfc3339(c.start).value());
  for (int run = 0; run < 12; ++run) {
    auto next = next_cron_instant(*cron, zone, after);
    ASSERT_TRUE(next.has_value());
    const auto result = date::floor<seconds>(*next);
    ASSERT_GT(*next, after);
    ASSERT_EQ(result.time_since_epoch() % minutes(1), seconds(0)) << format_rfc3339(*next);
    ASSERT_TRUE(fires_at(*cron, zone, result))
        << c.schedule << " " << c.zone << " returned " << format_rfc3339(*next);
    for (auto m = date::floor<minutes>(date::floor<seconds>(after)) + minutes(1); m < result;
         m += minutes(1)) {
      ASSERT_FALSE(fires_at(*cron, zone, date::sys_seconds(m)))
          << c.schedule << " " << c.zone << ": missed a run at " << format_rfc3339(m) << " before "
          << format_rfc3339(*next);
    }
    after = *next;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Transitions2026, CronZoneOracle,
    ::testing::Values(
        OracleCase{"30 2 * * *", "America/Chicago", "2026-03-05T00:00:00Z"},
        OracleCase{"*/20 * * * *", "America/Chicago", "2026-03-08T06:00:00Z"},
        OracleCase{"0,30 1-3 * * *", "America/Chicago", "2026-10-31T12:00:00Z"},
        OracleCase{"0 * * * *", "America/Chicago", "2026-11-01T04:00:00Z"},
        OracleCase{"0 16 * * 1-5", "America/Chicago", "2026-03-04T00:00:00Z"},
        OracleCase{"30 1 * * *", "Europe/London", "2026-03-26T00:00:00Z"},
        OracleCase{"*/15 0-2 * * *", "Europe/London", "2026-10-24T22:00:00Z"},
        OracleCase{"0 2 * * 0", "Europe/London", "2026-03-01T00:00:00Z"},
        // Lord Howe shifts by 30 minutes: 02:00 -> 02:30 on 2026-10-04, back on 2026-04-05.
        OracleCase{"15 2 * * *", "Australia/Lord_Howe", "2026-10-01T00:00:00Z"},
        OracleCase{"*/10 1-2 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00Z"},
        OracleCase{"45 5 * * *", "Asia/Kathmandu", "2026-06-01T00:00:00Z"},
        OracleCase{"0 0 1 * 1", "UTC", "2026-01-01T00:00:00Z"}),
    [](const ::testing::TestParamInfo<OracleCase>& p) { return "Case" + std::to_string(p.index); });

}  // namespace
}  // namespace keyward::apikey
