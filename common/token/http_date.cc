#include <date/date.h>

#include <sstream>

#include "common/token/token_provider.h"

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

}  // namespace keyward
