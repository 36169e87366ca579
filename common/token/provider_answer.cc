#include "common/token/provider_answer.h"

namespace keyward::provider_detail {

std::string provider_text(const std::string& text, const Redactor& redactor) {
  std::string out = redactor.redact(text);
  if (out.size() > 300) out = out.substr(0, 300) + "...";
  return out;
}

Result<nlohmann::json> json_body(const HttpResponse& response, const std::string& where,
                                 const Redactor& redactor, const ProviderLimits& limits,
                                 SystemTime now) {
  const std::string status = std::to_string(response.status);
  if (auto limited = limit_error(response, where, limits, now)) return fail(std::move(*limited));
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return fail("InvalidProviderAnswer",
                where + " answered HTTP " + status + " with " +
                    std::to_string(response.body.size()) +
                    " bytes that are not a JSON object (garbage or truncated; starts with '" +
                    provider_text(response.body.substr(0, 40), redactor) +
                    "'): check the endpoint URL; retrying with backoff",
                response.status);
  }
  return body;
}

}  // namespace keyward::provider_detail
