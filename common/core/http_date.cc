#include "common/core/http_date.h"

#include <date/date.h>

#include <charconv>
#include <sstream>

namespace keyward {

std::optional<SystemTime> parse_http_date(const std::string& text) {
  std::istringstream in(text);
  date::sys_seconds tp;
  in >> date::parse("%a, %d %b %Y %H:%M:%S GMT", tp);
  if (in.fail()) return std::nullopt;
  return SystemTime(tp);
}

std::string format_http_date(SystemTime t) {
  return date::format("%a, %d %b %Y %H:%M:%S GMT", std::chrono::floor<std::chrono::seconds>(t));
}

std::optional<Seconds> parse_retry_after(const std::string& value, SystemTime now) {
  std::string_view v(value);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  if (v.front() >= '0' && v.front() <= '9') {
    long long seconds = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
    return Seconds(seconds);
  }
  auto at = parse_http_date(std::string(v));
  if (!at) return std::nullopt;
  if (*at <= now) return Seconds(0);
  return std::chrono::ceil<Seconds>(*at - now);
}

}  // namespace keyward
