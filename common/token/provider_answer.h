#pragma once
// Shared steps for reading a provider's HTTP answer (internal to keyward_token).

#include <nlohmann/json.hpp>
#include <string>

#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/token/provider_limits.h"

namespace keyward::provider_detail {

// 429, 423 and 5xx -> limit_error() (RateLimited, LockedOut, ProviderUnavailable, with
// Error::retry_after); otherwise the body as a JSON object, or InvalidProviderAnswer for garbage
// or truncated text. where: "POST /v1/auth/accesstokenrequest".
Result<nlohmann::json> json_body(const HttpResponse& response, const std::string& where,
                                 const ProviderLimits& limits, SystemTime now);

// The shape of a body that is not a JSON object, never its content (a truncated login answer
// holds most of a live token): its length, its Content-Type, and what it looks like ("HTML",
// "JSON cut off or malformed", "a JSON array", "text"). "1234 bytes of text/html (HTML)".
std::string body_shape(const HttpResponse& response);

// A member of a provider's JSON answer that must be text: "" when absent or null, the string,
// or (numbers_as_text) a number's digits (Tradovate's userId). Any other type (a number where
// text belongs, an object, an array) is Error{"InvalidProviderAnswer"} naming the member and the
// type it had, never its content: a misbehaving provider gets a clear error, not a crash.
Result<std::string> string_member(const nlohmann::json& body, const char* key,
                                  const std::string& where, bool numbers_as_text = false);

// Text from the provider, as written, but with any registered secret scrubbed and cut to a
// readable length.
std::string provider_text(const std::string& text, const Redactor& redactor);

}  // namespace keyward::provider_detail
