#include "common/token/provider_answer.h"

namespace keyward::provider_detail {

std::string provider_text(const std::string& text, const Redactor& redactor) {
  std::string out = redactor.redact(text);
  if (out.size() > 300) out = out.substr(0, 300) + "...";
  return out;
}

Result<std::string> string_member(const nlohmann::json& body, const char* key,
                                  const std::string& where, bool numbers_as_text) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (numbers_as_text && it->is_number_integer()) return it->dump();
  return fail("InvalidProviderAnswer", where + " answered " + std::string(key) + " as " +
                                           it->type_name() +
                                           ", not a string; the provider's API may have changed "
                                           "(retrying with backoff)");
}

std::string body_shape(const HttpResponse& response) {
  const std::string& body = response.body;
  const auto first = body.find_first_not_of(" \t\r\n");
  std::string looks;
  if (first == std::string::npos) {
    looks = "empty";
  } else if (body[first] == '<') {
    looks = "HTML or XML";
  } else {
    const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
    if (!parsed.is_discarded()) {
      looks = std::string("a JSON ") + parsed.type_name();
    } else if (body[first] == '{' || body[first] == '[') {
      looks = "JSON cut off or malformed";
    } else {
      looks = "text";
    }
  }
  const auto type = response.header("Content-Type");
  return std::to_string(body.size()) + " bytes of " +
         (type && !type->empty() ? *type : std::string("no Content-Type")) + " (" + looks + ")";
}

Result<nlohmann::json> json_body(const HttpResponse& response, const std::string& where,
                                 const ProviderLimits& limits, SystemTime now) {
  const std::string status = std::to_string(response.status);
  if (auto limited = limit_error(response, where, limits, now)) return fail(std::move(*limited));
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return fail("InvalidProviderAnswer",
                where + " answered HTTP " + status + " with " + body_shape(response) +
                    ", not a JSON object (only the shape is quoted: a cut-off answer can hold a "
                    "token): check the endpoint URL; retrying with backoff",
                response.status);
  }
  return body;
}

}  // namespace keyward::provider_detail
