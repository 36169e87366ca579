#pragma once
// HTTP behind a small interface. The Kubernetes client, the token providers and the sidecar's
// broker client all talk through HttpTransport; tests substitute ScriptedTransport
// (tests/support/scripted_transport.h) or point the real transport at an in-process server.
// The real implementation (HttplibTransport, http_transport_httplib.h) is the only code outside
// servers that includes httplib.h.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/core/result.h"

namespace keyward {

// Header names compare case-insensitively.
struct CaseInsensitiveLess {
  bool operator()(std::string_view a, std::string_view b) const;
};
using HttpHeaders = std::multimap<std::string, std::string, CaseInsensitiveLess>;

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // path plus query string, already escaped: "/api/v1/namespaces/x/pods?watch=1"
  HttpHeaders headers;
  std::string body;
  std::string content_type;                  // sent as Content-Type when body is not empty
  std::chrono::milliseconds timeout{30000};  // read timeout; for streams, per read
  // The largest answer body taken (send() only; 0: no limit). A longer one is cut off and the
  // call fails with ResponseTooLarge, so an endpoint from outside cannot make the caller hold
  // an unbounded body.
  std::size_t max_response_bytes = 0;
};

// The limit for answers of token endpoints, regenerate/revoke endpoints and the broker: a token
// answer is a few hundred bytes.
inline constexpr std::size_t kMaxProviderAnswerBytes = 1 << 20;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

// TLS settings for a client. PEM text, not file names: callers read files (and re-read them
// when they rotate).
struct TlsClientConfig {
  std::string ca_pem;           // trust these CAs; empty means the system store
  std::string client_cert_pem;  // mutual TLS, optional
  std::string client_key_pem;
  bool insecure_skip_verify = false;
  std::string server_name;  // SNI / verification host override, optional
};

// Where a transport connects: "https://host:port" or "http://host:port" (no path).
struct HttpEndpoint {
  std::string scheme = "https";
  std::string host;
  int port = 443;

  // Parses "https://host[:port][/base/path]"; the path, if any, goes to base_path.
  static Result<HttpEndpoint> parse(std::string_view url, std::string* base_path = nullptr);
  [[nodiscard]] std::string to_string() const;
};

class HttpTransport;

// Builds a client for one URL's scheme, host and port (the path is ignored), trusting the CA
// certificates in ca_pem (PEM; empty: the system store). The operator's http key sources and
// the broker's provider sessions get their clients from one of these; tests pass fakes.
using HttpTransportFactory = std::function<Result<std::unique_ptr<HttpTransport>>(
    const std::string& url, const std::string& ca_pem)>;

class HttpTransport {
 public:
  HttpTransport() = default;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;
  virtual ~HttpTransport() = default;

  // One request, whole response. Network failures come back as Error{"Unreachable", ...} with a
  // message naming the endpoint; an HTTP error status is NOT an Error here (callers judge it).
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;

  // A streamed response (watch). on_chunk gets body bytes as they arrive and returns false to
  // stop. Returns the status and headers once the stream ends (by the server, by on_chunk, or
  // by a stop request); the body field holds the body only when the status is not 2xx.
  virtual Result<HttpResponse> stream(const HttpRequest& request,
                                      const std::function<bool(std::string_view)>& on_chunk,
                                      std::stop_token stop) = 0;
};

}  // namespace keyward
