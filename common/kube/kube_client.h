#pragma once
// KubeClient: KubeApi over an HttpTransport (HttplibTransport in production, the fake API server
// or ScriptedTransport in tests).
//
// - URLs: /api/v1/... for the core group, /apis/<group>/<version>/... otherwise; names,
//   namespaces and query values percent-encoded (everything but RFC 3986 unreserved characters).
// - Headers: Accept: application/json, User-Agent keyward/0.1, Authorization: Bearer <token>
//   when a BearerTokenSource is given; Content-Type per verb and patch type.
// - Errors: a Kubernetes Status body gives Error{reason, "<VERB> <url>: <message>", code}; a
//   non-JSON error page gives Error{"InvalidResponse", "<VERB> <url>: expected JSON from the API
//   server, got <content type> (HTTP <code>): <first 80 chars, sanitized>; check the server
//   address points at a Kubernetes API server"}.
// - 401: the token file is re-read at once and the request retried once if the token changed.
// - 429/503 with Retry-After (or Status details.retryAfterSeconds): Error::retry_after holds it
//   and the message ends with " (retry after N seconds)".
// - Watch: the stream is split into lines across chunk boundaries and decoded into WatchEvents;
//   a stop request ends it with ok().

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/io/filesystem.h"
#include "common/kube/bearer_token_source.h"
#include "common/kube/kube_api.h"
#include "common/kube/kube_config.h"

namespace keyward::kube {

struct KubeClientOptions {
  std::string server_url;  // for messages only: "https://10.0.0.1:6443"
  std::string base_path;   // prefix of every path, e.g. "/k8s/clusters/c-1" (rarely used)
  std::chrono::milliseconds request_timeout{30000};
  // Read timeout of a watch connection beyond the server-side timeoutSeconds; also the longest
  // a watch without any traffic (no events, no bookmarks) stays open.
  std::chrono::seconds watch_idle_timeout{330};
};

class KubeClient final : public KubeApi {
 public:
  // transport is not owned and must outlive the client; tokens may be null (no Authorization).
  KubeClient(HttpTransport& transport, std::shared_ptr<BearerTokenSource> tokens, Logger logger,
             KubeClientOptions options = {});
  KubeClient(std::unique_ptr<HttpTransport> transport, std::shared_ptr<BearerTokenSource> tokens,
             Logger logger, KubeClientOptions options = {});

  Result<Object> get(const ResourceType& type, const std::string& ns,
                     const std::string& name) override;
  Result<ObjectList> list(const ResourceType& type, const std::string& ns,
                          const ListOptions& options) override;
  Result<Object> create(const ResourceType& type, const std::string& ns,
                        const Object& object) override;
  Result<Object> update(const ResourceType& type, const Object& object) override;
  Result<Object> update_status(const ResourceType& type, const Object& object) override;
  Result<Object> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                       PatchType patch_type, const Object& patch,
                       bool status_subresource = false) override;
  Status remove(const ResourceType& type, const std::string& ns, const std::string& name,
                const DeleteOptions& options = {}) override;
  Result<Object> create_subresource(const ResourceType& type, const std::string& ns,
                                    const std::string& name, const std::string& subresource,
                                    const Object& body) override;
  Status watch(const ResourceType& type, const std::string& ns, const ListOptions& options,
               const std::function<bool(const WatchEvent&)>& on_event,
               std::stop_token stop) override;
  Result<Object> get_path(const std::string& path) override;

 private:
  Result<HttpResponse> execute(HttpRequest request);
  Result<Object> call(const std::string& method, const std::string& path, const Object* body,
                      const std::string& content_type = "application/json");
  [[nodiscard]] std::string describe(const std::string& method, const std::string& path) const;

  std::unique_ptr<HttpTransport> owned_transport_;
  HttpTransport& transport_;
  std::shared_ptr<BearerTokenSource> tokens_;
  Logger logger_;
  KubeClientOptions options_;
};

// Builds the HttplibTransport, the token source and the client for a loaded configuration, and
// logs the configuration's warnings (insecure-skip-tls-verify) at warn level.
Result<std::unique_ptr<KubeClient>> make_kube_client(const KubeConfig& config, const Filesystem& fs,
                                                     const Clock& clock, Logger logger);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_escape(std::string_view text);

// The path of a collection or object: "/apis/apps/v1/namespaces/bots/deployments/alpha".
// ns "" (or a cluster-scoped type) leaves out the namespace; name "" gives the collection.
std::string resource_path(const ResourceType& type, const std::string& ns,
                          const std::string& name = "", const std::string& subresource = "");

// The query string (with its leading '?', or "") for list/watch options.
std::string list_query(const ListOptions& options, bool watch);

// Turns a non-2xx response into the Error described above.
Error decode_error(const std::string& what, const HttpResponse& response);

}  // namespace keyward::kube
