#include "operator/apikey/key_source.h"

#include <array>
#include <climits>
#include <vector>

#include "common/core/base64.h"
#include "operator/apikey/message_text.h"

namespace keyward::apikey {
namespace {

std::unexpected<Error> failure(std::string_view reason, std::string message, int status = 0) {
  return fail(std::string(reason), std::move(message), status);
}

// A short, redacted explanation from a provider's error answer: its JSON "message",
// "error_description" or "error" string, never the raw body (which may be HTML or echo a key).
std::string provider_explanation(const std::string& body, const Redactor& redactor) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return {};
  for (const char* field : {"message", "error_description", "error"}) {
    auto it = json.find(field);
    if (it != json.end() && it->is_string()) {
      return message_safe(redactor.redact(it->get<std::string>()), 200);
    }
  }
  return {};
}

// Where one field of the material is in a source's answer, per its spec: the location ("" for a
// field the spec does not name), the spec field naming it, and what it is (for messages).
struct FieldLocation {
  const std::string* location;
  const char* spec_field;
  const char* what;
};

// The material read field by field (key_fields() order: key, secret, passphrase); the key always,
// the others when the spec names them. The first field that cannot be read fails the whole.
template <class Read>
Result<KeyMaterial> read_material(Read& read, const std::array<FieldLocation, 3>& locations) {
  KeyMaterial material;
  const auto fields = key_fields();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const FieldLocation& at = locations[i];
    if (i > 0 && at.location->empty()) continue;
    auto value = read(*at.location, at.spec_field, at.what);
    if (!value) return fail(value.error());
    material.*fields[i].member = std::move(*value);
  }
  return material;
}

}  // namespace

GeneratedKeySource::GeneratedKeySource(KeyGenerator& generator, GenerateSource spec,
                                       Redactor& redactor)
    : generator_(generator), spec_(std::move(spec)), redactor_(redactor) {}

Result<KeyMaterial> GeneratedKeySource::obtain(const KeyRequest& /*request*/) {
  auto key = generator_.generate(spec_);
  if (!key) return fail(key.error());
  redactor_.add(*key);
  KeyMaterial material(std::move(*key));
  if (spec_.secret_length > 0) {
    GenerateSource secret_spec = spec_;
    secret_spec.prefix.clear();
    secret_spec.length = spec_.secret_length;
    auto secret = generator_.generate(secret_spec);
    if (!secret) return fail(secret.error());
    redactor_.add(*secret);
    material.api_secret = std::move(*secret);
  }
  return material;
}

SecretRefKeySource::SecretRefKeySource(kube::KubeApi& api, SecretRefSource spec, Redactor& redactor)
    : api_(api), spec_(std::move(spec)), redactor_(redactor) {}

Result<KeyMaterial> SecretRefKeySource::obtain(const KeyRequest& request) {
  const std::string where = "Secret " + request.ns + "/" + spec_.name +
                            " (spec.source.secretRef "
                            "of ApiKey " +
                            request.ns + "/" + request.apikey_name + ")";
  auto secret = api_.get(kube::ResourceType::secrets(), request.ns, spec_.name);
  if (!secret) {
    if (secret.error().http_status == 404 || secret.error().reason == "NotFound") {
      return failure(reason::kSourceSecretNotFound,
                     where + " does not exist; create it with the key under data." + spec_.key,
                     404);
    }
    Error e = secret.error();
    e.message = "reading " + where + ": " + e.message;
    return fail(std::move(e));
  }
  const auto data = secret->find("data");
  // One data key of the user's Secret; `spec_field` names the spec field that selects it.
  auto read = [&](const std::string& key, const char* spec_field,
                  const char* what) -> Result<std::string> {
    if (data == secret->end() || !data->is_object() || !data->contains(key)) {
      return failure(reason::kSourceSecretKeyMissing,
                     where + " has no data key \"" + key +
                         "\"; add it or set spec.source.secretRef." + spec_field +
                         " to the key that holds " + what);
    }
    const auto& encoded = (*data)[key];
    if (!encoded.is_string()) {
      return failure(reason::kSourceSecretKeyMissing,
                     where + ": data." + key + " is not a base64 string");
    }
    auto decoded = base64_decode(encoded.get<std::string>());
    if (!decoded) {
      return failure(reason::kSourceSecretKeyMissing,
                     where + ": data." + key + " is not valid base64");
    }
    if (decoded->empty()) {
      return failure(reason::kSourceSecretKeyMissing,
                     where + ": data." + key + " is empty; put " + what + " in it");
    }
    redactor_.add(*decoded);
    return std::move(*decoded);
  };
  return read_material(read, {{{&spec_.key, "key", "the API key"},
                               {&spec_.secret_key, "secretKey", "the API secret"},
                               {&spec_.passphrase_key, "passphraseKey", "the passphrase"}}});
}

HttpKeySource::HttpKeySource(HttpTransport& transport, HttpSource spec, Redactor& redactor)
    : transport_(transport), spec_(std::move(spec)), redactor_(redactor) {}

Result<KeyMaterial> HttpKeySource::obtain(const KeyRequest& request) {
  std::string path;
  if (auto ep = HttpEndpoint::parse(spec_.url, &path); !ep) {
    return failure(reason::kInvalidSpec, "spec.source.http.url: " + ep.error().message);
  }
  if (path.empty()) path = "/";
  if (!request.current_key || request.current_key->empty()) {
    return failure(reason::kNoCurrentKey,
                   "spec.source.http: the provider's regenerate endpoint needs the current key, "
                   "and ApiKey " +
                       request.ns + "/" + request.apikey_name +
                       " has none yet; create the operator Secret keyward-" + request.apikey_name +
                       " with data.apiKey set to the key you have now");
  }
  redactor_.add(*request.current_key);

  HttpRequest http;
  http.method = spec_.method;
  http.path = path;
  http.headers.emplace(spec_.auth_header, spec_.auth_scheme.empty()
                                              ? *request.current_key
                                              : spec_.auth_scheme + " " + *request.current_key);
  if (!request.idempotency_key.empty()) {
    http.headers.emplace("Idempotency-Key", request.idempotency_key);
  }
  http.headers.emplace("Accept", "application/json");
  http.max_response_bytes = kMaxProviderAnswerBytes;

  const std::string where = spec_.method + " " + spec_.url + " (spec.source.http of ApiKey " +
                            request.ns + "/" + request.apikey_name + ")";
  auto response = transport_.send(http);
  if (!response) {
    return failure(reason::kKeySourceUnreachable,
                   where +
                       " failed: " + message_safe(redactor_.redact(response.error().message), 500) +
                       "; the current key stays in force and the call is retried");
  }
  if (response->status < 200 || response->status >= 300) {
    std::string explanation = provider_explanation(response->body, redactor_);
    return failure(reason::kKeySourceRejected,
                   where + " answered HTTP " + std::to_string(response->status) +
                       (explanation.empty() ? "" : " (\"" + explanation + "\")") +
                       "; the current key stays in force",
                   response->status);
  }
  nlohmann::json json = nlohmann::json::parse(response->body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return failure(reason::kKeySourceInvalidResponse,
                   where + " answered HTTP " + std::to_string(response->status) +
                       " with a body that is not a JSON object (content type \"" +
                       message_safe(response->header("Content-Type").value_or(""), 100) +
                       "\"); check spec.source.http.url points at the API, not a web page");
  }
  // The string at a dotted path of the answer; `spec_field` names the spec field that selects it.
  auto field = [&](const std::string& dotted, const char* spec_field,
                   const char* what) -> Result<std::string> {
    const nlohmann::json* node = &json;
    std::size_t start = 0;
    while (true) {
      const auto dot = dotted.find('.', start);
      const std::string part =
          dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!node->is_object() || !node->contains(part)) {
        node = nullptr;
        break;
      }
      node = &(*node)[part];
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (node == nullptr || !node->is_string() || node->get_ref<const std::string&>().empty()) {
      // Do not show the body: the new key may be in it under another name.
      return failure(reason::kKeySourceInvalidResponse,
                     where + " answered without a non-empty string at \"" + dotted +
                         "\"; set spec.source.http." + spec_field + " to the field holding " +
                         what);
    }
    std::string value = node->get<std::string>();
    redactor_.add(value);
    return value;
  };
  // Every field is read before any is used: a provider that sends the key without its secret
  // rotated nothing the operator can store.
  return read_material(field,
                       {{{&spec_.response_field, "responseField", "the new key"},
                         {&spec_.secret_field, "secretField", "the new API secret"},
                         {&spec_.passphrase_field, "passphraseField", "the new passphrase"}}});
}

Status revoke_at_provider(HttpTransport& transport, const HttpSource& spec, const std::string& key,
                          const std::string& idempotency_key, const std::string& apikey,
                          Redactor& redactor) {
  std::string path;
  if (auto ep = HttpEndpoint::parse(spec.revoke_url, &path); !ep) {
    return failure(reason::kInvalidSpec, "spec.source.http.revokeUrl: " + ep.error().message);
  }
  if (path.empty()) path = "/";
  redactor.add(key);
  HttpRequest http;
  http.method = spec.revoke_method;
  http.path = path;
  http.headers.emplace(spec.auth_header,
                       spec.auth_scheme.empty() ? key : spec.auth_scheme + " " + key);
  http.headers.emplace("Idempotency-Key", idempotency_key);
  http.headers.emplace("Accept", "application/json");
  http.max_response_bytes = kMaxProviderAnswerBytes;
  const std::string where = spec.revoke_method + " " + spec.revoke_url +
                            " (spec.source.http.revokeUrl of ApiKey " + apikey + ")";
  auto response = transport.send(http);
  if (!response) {
    return failure(reason::kKeySourceUnreachable,
                   where +
                       " failed: " + message_safe(redactor.redact(response.error().message), 500) +
                       "; the previous key is no longer delivered and the call is retried");
  }
  const int status = response->status;
  // 410: the key is already gone. Not 404: a mistyped revokeUrl path answers that too, and the
  // key would be dropped while it still works at the provider.
  if ((status >= 200 && status < 300) || status == 410) return ok();
  std::string explanation = provider_explanation(response->body, redactor);
  return failure(reason::kKeySourceRejected,
                 where + " answered HTTP " + std::to_string(status) +
                     (explanation.empty() ? "" : " (\"" + explanation + "\")") +
                     "; the previous key is no longer delivered, and the call is retried",
                 status);
}

Result<std::unique_ptr<KeySource>> make_key_source(const SourceSpec& source,
                                                   const KeySourceDeps& deps) {
  if (const auto* g = std::get_if<GenerateSource>(&source)) {
    return std::make_unique<GeneratedKeySource>(deps.generator, *g, deps.redactor);
  }
  if (const auto* s = std::get_if<SecretRefSource>(&source)) {
    return std::make_unique<SecretRefKeySource>(deps.api, *s, deps.redactor);
  }
  const auto& h = std::get<HttpSource>(source);
  if (deps.http == nullptr) {
    return failure(reason::kInvalidSpec, "spec.source.http: no HTTP transport for " + h.url);
  }
  return std::make_unique<HttpKeySource>(*deps.http, h, deps.redactor);
}

}  // namespace keyward::apikey
