#include "sidecar/key_version_reporter.h"

#include <nlohmann/json.hpp>

namespace keyward::sidecar {

KeyVersionReporter::KeyVersionReporter(HttpTransport& transport, BrokerTarget target,
                                       TokenReader service_account_token, Logger logger)
    : transport_(transport),
      target_(std::move(target)),
      sa_token_(std::move(service_account_token)),
      logger_(std::move(logger)) {}

Status KeyVersionReporter::report(std::int64_t key_version) {
  auto sa = sa_token_();
  if (!sa) {
    return fail("MissingServiceAccountToken",
                "cannot read the pod's service account token to report the key version (" +
                    sa.error().message + ")");
  }
  while (!sa->empty() && (sa->back() == '\n' || sa->back() == '\r')) sa->pop_back();
  logger_.redactor().add(*sa);
  HttpRequest req;
  req.method = "PUT";
  req.path = target_.base_path + "/v1/namespaces/" + target_.ns + "/apikeys/" + target_.apikey +
             "/key-version";
  req.headers.emplace("Authorization", "Bearer " + *sa);
  req.headers.emplace("Accept", "application/json");
  req.content_type = "application/json";
  req.body = nlohmann::json{{"keyVersion", key_version}}.dump();
  auto resp = transport_.send(req);
  if (!resp) return fail(resp.error());
  if (resp->status == 200 || resp->status == 204) return ok();
  nlohmann::json b = nlohmann::json::parse(resp->body, nullptr, false);
  const std::string reason = b.is_object() && b.contains("reason") && b["reason"].is_string()
                                 ? b["reason"].get<std::string>()
                                 : "HTTP" + std::to_string(resp->status);
  const std::string message = b.is_object() && b.contains("message") && b["message"].is_string()
                                  ? b["message"].get<std::string>()
                                  : std::to_string(resp->body.size()) + " bytes";
  return fail(reason,
              "the operator did not record key version " + std::to_string(key_version) +
                  " for this pod (PUT " + req.path + " answered " + std::to_string(resp->status) +
                  ", " + reason + ": " + logger_.redactor().redact(message) + "); retrying",
              resp->status);
}

}  // namespace keyward::sidecar
