#pragma once
// HTTP dates and Retry-After (RFC 9110 5.6.7 and 10.2.3), for every HTTP client in Keyward: the
// Kubernetes client, the token providers and the sidecar's broker client.

#include <optional>
#include <string>

#include "common/core/clock.h"

namespace keyward {

// HTTP-date in IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT"), as in Date and Retry-After.
std::optional<SystemTime> parse_http_date(const std::string& text);
std::string format_http_date(SystemTime t);

// A Retry-After value: delay-seconds ("120") or an HTTP-date, as the wait from `now` (a date in
// the past is a wait of 0). nullopt: absent or unreadable (the caller's own rule applies).
std::optional<Seconds> parse_retry_after(const std::string& value, SystemTime now);

}  // namespace keyward
