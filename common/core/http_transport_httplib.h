#pragma once
// HttplibTransport: the real HttpTransport, over cpp-httplib 0.11 with OpenSSL.
//
// Connections: send() reuses connections (HTTP/1.1 keep-alive). The transport keeps up to
// HttplibTransportOptions::max_idle_connections idle clients, each with its own SSL_CTX (the CA
// store is loaded once per pooled client, not per request) and its open socket. A call takes an
// idle client or builds one, so concurrent calls never share a client; after the answer the
// client goes back unless the pool is full or the call failed.
//
// A server closes idle connections on its own schedule, and over TLS httplib cannot see that it
// did (the peer's close_notify makes the socket look readable, so alive): a request on such a
// connection fails after it was sent. So a client idle longer than max_idle_time closes its
// socket and connects afresh (keeping its SSL_CTX); max_idle_time stays below the servers' idle
// timeouts (kube-apiserver: 90 s; the stand-in: 1 s). When a reused connection still breaks
// quickly (the server closed it at the same moment), a replayable request is sent once more on
// a fresh connection: GET, HEAD and OPTIONS, or any request with an Idempotency-Key header, as
// Go's net/http does. PUT, POST, PATCH and DELETE are not: the server may have applied them, and
// a replay would turn a success into a 409 or a 404. A failure that took the whole timeout is
// never retried. stream() (a watch) always opens a connection of its own and closes it at the
// end.
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
#include <mutex>
#include <string>
#include <vector>

#include "common/core/http_transport.h"

namespace httplib {
class ClientImpl;
}

namespace keyward {

struct HttplibTransportOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::string user_agent = "keyward/0.1";  // sent unless the request sets User-Agent itself
  // Idle connections kept for reuse by send(); 0 opens and closes one per request (a client that
  // calls a server once an hour should not hold one of its worker threads in between).
  std::size_t max_idle_connections = 4;
  // How long an idle connection is trusted (see above); older ones reconnect before use.
  std::chrono::milliseconds max_idle_time{500};
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

  struct Exchange;  // one request on one client: what httplib reported (defined in the .cc)

  Result<std::unique_ptr<httplib::ClientImpl>> new_client(bool keep_alive) const;
  Exchange exchange(httplib::ClientImpl& client, const HttpRequest& request,
                    const std::function<bool(std::string_view)>* on_chunk,
                    std::stop_token stop) const;
  Result<HttpResponse> answer(const HttpRequest& request, Exchange& done, bool streamed) const;
  std::unique_ptr<httplib::ClientImpl> take_idle();
  void give_back(std::unique_ptr<httplib::ClientImpl> client);

  HttpEndpoint endpoint_;
  TlsClientConfig tls_;
  HttplibTransportOptions options_;
  std::unique_ptr<ParsedTls> parsed_;  // immutable after create()

  struct Idle {
    std::unique_ptr<httplib::ClientImpl> client;
    std::chrono::steady_clock::time_point since;
  };
  std::mutex idle_mu_;  // guards idle_
  std::vector<Idle> idle_;
};

}  // namespace keyward
