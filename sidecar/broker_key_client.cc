#include "sidecar/broker_key_client.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "common/token/broker_protocol.h"

namespace keyward::sidecar {

BrokerKey::~BrokerKey() {
  for (auto& [_, value] : fields) OPENSSL_cleanse(value.data(), value.size());
}

BrokerKeyClient::BrokerKeyClient(HttpTransport& transport, BrokerTarget target,
                                 TokenReader service_account_token, Logger logger)
    : transport_(transport),
      target_(std::move(target)),
      sa_token_(std::move(service_account_token)),
      logger_(std::move(logger)) {}

Result<HttpResponse> BrokerKeyClient::call(const std::string& method, const std::string& endpoint,
                                           const std::string& body, std::int64_t held) {
  auto sa = read_service_account_token(sa_token_, logger_.redactor());
  if (!sa) return fail(sa.error());
  HttpRequest req;
  req.method = method;
  req.path = target_.base_path + "/v1/namespaces/" + target_.ns + "/apikeys/" + target_.apikey +
             "/" + endpoint;
  req.headers.emplace("Authorization", "Bearer " + *sa);
  req.headers.emplace("Accept", "application/json");
  req.max_response_bytes = kMaxProviderAnswerBytes;
  if (held > 0) {
    req.headers.emplace(std::string(broker_protocol::kHeldKeyVersionHeader), std::to_string(held));
  }
  if (!body.empty()) {
    req.content_type = "application/json";
    req.body = body;
  }
  return transport_.send(req);
}

Error BrokerKeyClient::refusal(const HttpResponse& response, const std::string& what,
                               const std::string& path) const {
  nlohmann::json b = nlohmann::json::parse(response.body, nullptr, false);
  const std::string reason = b.is_object() && b.contains("reason") && b["reason"].is_string()
                                 ? b["reason"].get<std::string>()
                                 : "HTTP" + std::to_string(response.status);
  const std::string message = b.is_object() && b.contains("message") && b["message"].is_string()
                                  ? b["message"].get<std::string>()
                                  : std::to_string(response.body.size()) + " bytes";
  return Error{reason,
               what + " (" + path + " answered " + std::to_string(response.status) + ", " + reason +
                   ": " + logger_.redactor().redact(message) + "); retrying",
               response.status};
}

Result<BrokerKey> BrokerKeyClient::fetch_key(std::int64_t held) {
  auto resp = call("GET", "key", "", held);
  if (!resp) return fail(resp.error());
  if (resp->status == 410) {
    const Error refused = refusal(*resp, "the key version held was revoked", "GET .../key");
    if (refused.reason == broker_protocol::kKeyVersionRevoked) {
      BrokerKey revoked;
      revoked.key_version = held;
      revoked.revoked = true;
      logger_.warn(refused.message, {{"reason", refused.reason}, {"keyVersion", held}});
      return revoked;
    }
  }
  if (resp->status != 200) {
    return fail(refusal(*resp, "the broker did not deliver the key", "GET .../key"));
  }
  nlohmann::json b = nlohmann::json::parse(resp->body, nullptr, false);
  OPENSSL_cleanse(resp->body.data(), resp->body.size());
  if (!b.is_object() || !b.contains("keyVersion") || !b["keyVersion"].is_number_integer() ||
      !b.contains("active") || !b["active"].is_boolean() || !b.contains("fields") ||
      !b["fields"].is_object()) {
    return fail("InvalidBrokerAnswer",
                "the broker's answer to GET .../key is not {keyVersion, active, fields}; is "
                "--report-url the operator's broker?");
  }
  BrokerKey key;
  key.key_version = b["keyVersion"].get<std::int64_t>();
  key.active = b["active"].get<bool>();
  for (auto& [field, value] : b["fields"].items()) {
    if (!value.is_string()) continue;
    auto& text = value.get_ref<std::string&>();
    logger_.redactor().add(text);
    key.fields.emplace(field, text);
    OPENSSL_cleanse(text.data(), text.size());
  }
  return key;
}

Status BrokerKeyClient::report(std::int64_t key_version) {
  auto resp = call("PUT", "key-version", nlohmann::json{{"keyVersion", key_version}}.dump());
  if (!resp) return fail(resp.error());
  if (resp->status == 200 || resp->status == 204) return ok();
  return fail(refusal(
      *resp,
      "the operator did not record key version " + std::to_string(key_version) + " for this pod",
      "PUT .../key-version"));
}

}  // namespace keyward::sidecar
