#include "common/kube/kube_client.h"

#include <cctype>
#include <charconv>

#include "common/core/http_transport_httplib.h"
#include "common/kube/object_meta.h"
#include "common/kube/status_reason.h"
#include "common/kube/watch_stream.h"

namespace keyward::kube {

namespace {

bool is_success(int status) { return status >= 200 && status < 300; }

std::string reason_for_code(int code) {
  const std::string_view reason = status_reason_for_code(code);
  return reason.empty() ? "UnexpectedStatus" : std::string(reason);
}

// The first 80 printable ASCII characters of text, whitespace runs collapsed.
std::string sanitize_snippet(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool printable = u >= 0x20 && u < 0x7f;
    if (!printable || c == ' ') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
    if (out.size() >= 80) break;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<Object> parse_object(const std::string& what, const HttpResponse& response) {
  if (response.body.empty()) return Object::object();
  Object j = Object::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    const std::string type = response.header("Content-Type").value_or("no content type");
    return fail("InvalidResponse",
                what + ": expected JSON from the API server, got " + type + " (HTTP " +
                    std::to_string(response.status) + "): " + sanitize_snippet(response.body) +
                    "; check the server address points at a Kubernetes API server",
                response.status);
  }
  return j;
}

}  // namespace

std::string url_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string resource_path(const ResourceType& type, const std::string& ns, const std::string& name,
                          const std::string& subresource) {
  std::string path = type.group.empty()
                         ? "/api/" + url_escape(type.version)
                         : "/apis/" + url_escape(type.group) + "/" + url_escape(type.version);
  if (type.namespaced && !ns.empty()) path += "/namespaces/" + url_escape(ns);
  path += "/" + url_escape(type.plural);
  if (!name.empty()) path += "/" + url_escape(name);
  if (!subresource.empty()) path += "/" + url_escape(subresource);
  return path;
}

std::string list_query(const ListOptions& options, bool watch) {
  std::string q;
  auto add = [&q](const std::string& key, const std::string& value) {
    q += (q.empty() ? "?" : "&") + key + "=" + url_escape(value);
  };
  if (watch) add("watch", "1");
  if (!options.label_selector.empty()) add("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) add("fieldSelector", options.field_selector);
  if (!options.resource_version.empty()) add("resourceVersion", options.resource_version);
  if (watch) {
    if (options.timeout_seconds > 0) add("timeoutSeconds", std::to_string(options.timeout_seconds));
    if (options.allow_bookmarks) add("allowWatchBookmarks", "true");
  } else {
    if (options.limit > 0) add("limit", std::to_string(options.limit));
    if (!options.continue_token.empty()) add("continue", options.continue_token);
  }
  return q;
}

Error decode_error(const std::string& what, const HttpResponse& response) {
  Error error;
  error.http_status = response.status;
  Object j = Object::parse(response.body, nullptr, /*allow_exceptions=*/false);
  std::optional<int> retry_after;
  if (!j.is_discarded() && j.is_object()) {
    std::string message;
    if (j.value("kind", "") == "Status") {
      error.reason = j.value("reason", "");
      message = j.value("message", "");
      if (const auto code = j.find("code"); code != j.end() && code->is_number_integer()) {
        error.http_status = code->get<int>();
      }
      if (const auto d = j.find("details"); d != j.end() && d->is_object()) {
        if (const auto ra = d->find("retryAfterSeconds");
            ra != d->end() && ra->is_number_integer()) {
          retry_after = ra->get<int>();
        }
      }
    }
    if (error.reason.empty()) error.reason = reason_for_code(error.http_status);
    if (message.empty())
      message = "the API server answered HTTP " + std::to_string(response.status);
    error.message = what + ": " + message;
  } else {
    const std::string type = response.header("Content-Type").value_or("no content type");
    error.reason = "InvalidResponse";
    error.message = what + ": expected JSON from the API server, got " + type + " (HTTP " +
                    std::to_string(response.status) + "): " + sanitize_snippet(response.body) +
                    "; check the server address points at a Kubernetes API server";
  }
  if (auto header = response.header("Retry-After")) {
    if (auto seconds = parse_int(*header)) retry_after = *seconds;
  }
  if (retry_after && *retry_after > 0 && (response.status == 429 || response.status == 503)) {
    error.message += " (retry after " + std::to_string(*retry_after) + " seconds)";
    error.retry_after = std::chrono::seconds(*retry_after);
  }
  return error;
}

KubeClient::KubeClient(HttpTransport& transport, std::shared_ptr<BearerTokenSource> tokens,
                       Logger logger, KubeClientOptions options)
    : transport_(transport),
      tokens_(std::move(tokens)),
      logger_(std::move(logger)),
      options_(std::move(options)) {}

KubeClient::KubeClient(std::unique_ptr<HttpTransport> transport,
                       std::shared_ptr<BearerTokenSource> tokens, Logger logger,
                       KubeClientOptions options)
    : owned_transport_(std::move(transport)),
      transport_(*owned_transport_),
      tokens_(std::move(tokens)),
      logger_(std::move(logger)),
      options_(std::move(options)) {}

std::string KubeClient::describe(const std::string& method, const std::string& path) const {
  const auto q = path.find('?');
  return method + " " + options_.server_url + (q == std::string::npos ? path : path.substr(0, q));
}

Result<HttpResponse> KubeClient::execute(HttpRequest request) {
  request.path = options_.base_path + request.path;
  request.headers.emplace("Accept", "application/json");
  if (tokens_) request.headers.emplace("Authorization", "Bearer " + tokens_->token());
  auto response = transport_.send(request);
  if (response && response->status == 401 && tokens_ && tokens_->reload()) {
    request.headers.erase("Authorization");
    request.headers.emplace("Authorization", "Bearer " + tokens_->token());
    response = transport_.send(request);
  }
  return response;
}

Result<Object> KubeClient::call(const std::string& method, const std::string& path,
                                const Object* body, const std::string& content_type) {
  HttpRequest request;
  request.method = method;
  request.path = path;
  request.timeout = options_.request_timeout;
  if (body != nullptr) {
    request.body = body->dump();
    request.content_type = content_type;
  }
  const std::string what = describe(method, path);
  auto response = execute(std::move(request));
  if (!response) return fail(response.error());
  if (!is_success(response->status)) {
    Error e = decode_error(what, *response);
    e.message = logger_.redactor().redact(e.message);
    return fail(std::move(e));
  }
  auto object = parse_object(what, *response);
  if (!object) {
    Error e = object.error();
    e.message = logger_.redactor().redact(e.message);
    return fail(std::move(e));
  }
  return object;
}

Result<Object> KubeClient::get(const ResourceType& type, const std::string& ns,
                               const std::string& name) {
  return call("GET", resource_path(type, ns, name), nullptr);
}

Result<ObjectList> KubeClient::list(const ResourceType& type, const std::string& ns,
                                    const ListOptions& options) {
  const std::string path = resource_path(type, ns) + list_query(options, false);
  auto j = call("GET", path, nullptr);
  if (!j) return fail(j.error());
  ObjectList out;
  const auto items = j->find("items");
  if (items != j->end() && !items->is_array() && !items->is_null()) {
    return fail("InvalidResponse", describe("GET", path) + ": the list has no items array");
  }
  if (items != j->end() && items->is_array()) {
    out.items.reserve(items->size());
    for (auto& item : *items) {
      // Lists leave out apiVersion and kind on their items; put them back.
      if (item.is_object()) {
        if (!item.contains("apiVersion")) item["apiVersion"] = type.api_version();
        if (!item.contains("kind")) item["kind"] = type.kind;
      }
      out.items.push_back(std::move(item));
    }
  }
  if (const auto m = j->find("metadata"); m != j->end() && m->is_object()) {
    out.resource_version = m->value("resourceVersion", "");
    out.continue_token = m->value("continue", "");
  }
  return out;
}

Result<Object> KubeClient::create(const ResourceType& type, const std::string& ns,
                                  const Object& object) {
  return call("POST", resource_path(type, ns), &object);
}

Result<Object> KubeClient::update(const ResourceType& type, const Object& object) {
  return call(
      "PUT",
      resource_path(type, metadata_string(object, "namespace"), metadata_string(object, "name")),
      &object);
}

Result<Object> KubeClient::update_status(const ResourceType& type, const Object& object) {
  return call("PUT",
              resource_path(type, metadata_string(object, "namespace"),
                            metadata_string(object, "name"), "status"),
              &object);
}

Result<Object> KubeClient::patch(const ResourceType& type, const std::string& ns,
                                 const std::string& name, PatchType patch_type, const Object& patch,
                                 bool status_subresource) {
  std::string content_type;
  switch (patch_type) {
    case PatchType::Merge:
      content_type = "application/merge-patch+json";
      break;
    case PatchType::JsonPatch:
      content_type = "application/json-patch+json";
      break;
    case PatchType::StrategicMerge:
      content_type = "application/strategic-merge-patch+json";
      break;
  }
  return call("PATCH", resource_path(type, ns, name, status_subresource ? "status" : ""), &patch,
              content_type);
}

Status KubeClient::remove(const ResourceType& type, const std::string& ns, const std::string& name,
                          const DeleteOptions& options) {
  Object body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (options.precondition_uid) body["preconditions"]["uid"] = *options.precondition_uid;
  if (options.precondition_resource_version) {
    body["preconditions"]["resourceVersion"] = *options.precondition_resource_version;
  }
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  auto r = call("DELETE", resource_path(type, ns, name), &body);
  if (!r) return fail(r.error());
  return ok();
}

Result<Object> KubeClient::create_subresource(const ResourceType& type, const std::string& ns,
                                              const std::string& name,
                                              const std::string& subresource, const Object& body) {
  return call("POST", resource_path(type, ns, name, subresource), &body);
}

Result<Object> KubeClient::get_path(const std::string& path) { return call("GET", path, nullptr); }

Status KubeClient::watch(const ResourceType& type, const std::string& ns,
                         const ListOptions& options,
                         const std::function<bool(const WatchEvent&)>& on_event,
                         std::stop_token stop) {
  const std::string path = resource_path(type, ns) + list_query(options, true);
  const std::string what = describe("GET", path);
  HttpRequest request;
  request.path = options_.base_path + path;
  request.timeout =
      options.timeout_seconds > 0
          ? std::chrono::seconds(options.timeout_seconds) + std::chrono::seconds(30)
          : std::chrono::duration_cast<std::chrono::milliseconds>(options_.watch_idle_timeout);
  request.headers.emplace("Accept", "application/json");

  for (int attempt = 0; attempt < 2; ++attempt) {
    request.headers.erase("Authorization");
    if (tokens_) request.headers.emplace("Authorization", "Bearer " + tokens_->token());
    LineSplitter splitter;
    std::optional<Error> stream_error;
    auto on_chunk = [&](std::string_view chunk) {
      auto outcome = splitter.feed(chunk, [&](std::string_view line) {
        auto event = parse_watch_event(line);
        if (!event) {
          stream_error = Error{event.error().reason, what + ": " + event.error().message, 0};
          return false;
        }
        return on_event(*event);
      });
      if (!outcome) {
        stream_error = Error{outcome.error().reason, what + ": " + outcome.error().message, 0};
        return false;
      }
      return *outcome == LineSplitter::Outcome::Continue;
    };
    auto response = transport_.stream(request, on_chunk, stop);
    if (stop.stop_requested()) return ok();
    if (!response) return fail(response.error());
    if (stream_error) return fail(*stream_error);
    if (response->status == 401 && attempt == 0 && tokens_ && tokens_->reload()) continue;
    if (!is_success(response->status)) {
      Error e = decode_error(what, *response);
      e.message = logger_.redactor().redact(e.message);
      return fail(std::move(e));
    }
    return ok();
  }
  return ok();
}

Result<std::unique_ptr<KubeClient>> make_kube_client(const KubeConfig& config, const Filesystem& fs,
                                                     const Clock& clock, Logger logger) {
  for (const auto& warning : config.warnings) logger.warn(warning);
  if (!config.tls.client_key_pem.empty()) logger.redactor().add(config.tls.client_key_pem);
  auto transport = HttplibTransport::create(config.endpoint, config.tls);
  if (!transport) {
    Error e = transport.error();
    e.message = config.origin + ": " + e.message;
    return fail(std::move(e));
  }
  std::shared_ptr<BearerTokenSource> tokens;
  if (!config.token_file.empty()) {
    auto source = BearerTokenSource::from_file(config.token_file, fs, clock, logger);
    if (!source) return fail(source.error());
    tokens = std::move(*source);
  } else if (!config.token.empty()) {
    tokens = BearerTokenSource::fixed(config.token, logger);
  }
  KubeClientOptions options;
  options.server_url = config.endpoint.to_string();
  options.base_path = config.base_path;
  logger.info("Kubernetes client configured",
              {{"server", config.server}, {"origin", config.origin}});
  return std::make_unique<KubeClient>(std::move(*transport), std::move(tokens), std::move(logger),
                                      std::move(options));
}

}  // namespace keyward::kube
