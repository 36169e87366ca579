#pragma once
// HttplibTransport: the real HttpTransport, over cpp-httplib 0.11 with OpenSSL.
//
// Thread safety: every send() and stream() builds its own httplib client (and, for https, its
// own SSL_CTX from PEM material parsed once at creation), so concurrent calls share nothing
// mutable. The cost is one TCP (+TLS) connection per request; fine for an operator's request
// rate, and watch streams need their own connection anyway.
//
// Stopping a stream: a std::stop_callback on the caller's stop_token calls httplib's
// ClientImpl::stop(), which shuts the in-flight socket down under the client's socket mutex, so
// a read blocked on an open stream returns at once. The header and body callbacks also check
// the token. One window remains: httplib counts a request as in flight only after connect and
// the TLS handshake, so a stop requested during those is seen when the first response bytes
// arrive (a Kubernetes watch answers with headers at once) or, for a server that accepts and
// never answers, when the per-read timeout (HttpRequest::timeout) or the connect timeout
// expires. Callers that need a hard bound on stop latency keep those finite.
//
// tls-server-name: httplib verifies the certificate against, and sends SNI for, the host it
// was constructed with. When TlsClientConfig::server_name differs from the endpoint host, the
// client is built for server_name and told (set_hostname_addr_map) to connect to the
// endpoint host's address, resolved numerically at each request.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/core/http_transport.h"

namespace keyward {

struct HttplibTransportOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::string user_agent = "keyward/0.1";  // sent unless the request sets User-Agent itself
};

// An HttpTransportFactory of HttplibTransports: errors for a bad URL ("InvalidURL") or a CA
// bundle that does not parse ("InvalidCertificate", naming the bundle).
HttpTransportFactory httplib_transport_factory(HttplibTransportOptions options = {});

class HttplibTransport final : public HttpTransport {
 public:
  // Parses the PEM material in tls (CA bundle, client certificate and key) once. Errors:
  // "InvalidCertificate" naming which PEM field is bad; "InvalidURL" for a bad endpoint.
  static Result<std::unique_ptr<HttplibTransport>> create(HttpEndpoint endpoint,
                                                          TlsClientConfig tls,
                                                          HttplibTransportOptions options = {});

  ~HttplibTransport() override;

  Result<HttpResponse> send(const HttpRequest& request) override;
  Result<HttpResponse> stream(const HttpRequest& request,
                              const std::function<bool(std::string_view)>& on_chunk,
                              std::stop_token stop) override;

  [[nodiscard]] const HttpEndpoint& endpoint() const { return endpoint_; }

  struct ParsedTls;  // OpenSSL objects, RAII-owned (defined in the .cc)

 private:
  HttplibTransport(HttpEndpoint endpoint, TlsClientConfig tls, HttplibTransportOptions options,
                   std::unique_ptr<ParsedTls> parsed);

  Result<HttpResponse> perform(const HttpRequest& request,
                               const std::function<bool(std::string_view)>* on_chunk,
                               std::stop_token stop);

  HttpEndpoint endpoint_;
  TlsClientConfig tls_;
  HttplibTransportOptions options_;
  std::unique_ptr<ParsedTls> parsed_;  // immutable after create()
};

}  // namespace keyward
