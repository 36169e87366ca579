#pragma once
// HttpsServer: the operator's TLS server (cpp-httplib SSLServer over OpenSSL, TLS 1.2+), shared
// by the admission webhook and the token broker. The certificate comes from a CertificateStore;
// a reload thread re-reads the source every reload_interval (through the Clock) and swaps the
// pair in for new handshakes, without dropping open connections. start()/stop() own both
// threads. Routes are registered before start(); each handler gets the request (path with query,
// headers, body) and the client's address, and returns the response.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/core/certificate_store.h"
#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/result.h"

namespace httplib {
class SSLServer;
}

namespace keyward {

struct HttpsServerConfig {
  std::string name = "https";  // for logs and errors: "webhook", "broker"
  std::string host = "0.0.0.0";
  int port = 8443;  // 0 = any free port (tests)
  std::chrono::seconds reload_interval{10};
  std::size_t max_body_bytes = std::size_t{4} * 1024 * 1024;
  // An idle kept-alive connection is closed after this long. Short on purpose: httplib's stop()
  // waits for idle connections to time out, and a shutdown must finish well inside a pod's
  // termination grace period (the API server reconnects at its next request).
  int keep_alive_seconds = 5;
  Seconds io_timeout{10};  // per read and per write on a connection
};

struct HttpsRoute {
  std::string method;  // GET | POST
  std::string path;    // a regular expression over the path (httplib's matching)
  std::function<HttpResponse(const HttpRequest&, const std::string& client_address)> handler;
};

class HttpsServer {
 public:
  // Requests per kept-alive connection. Each close costs the client a full TLS handshake (about
  // 4 ms here: at 100 it was every admission p99 at 500/s); finite so that httplib's pool threads,
  // each serving one connection until it closes, still turn over between clients.
  static constexpr std::size_t kKeepAliveMaxRequests = 10000;

  HttpsServer(HttpsServerConfig config, CertificateStore& certificates, Clock& clock,
              Logger logger);
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;
  ~HttpsServer();

  void add_route(HttpsRoute route);  // before start()
  // Loads the certificate (it must be valid), binds and starts serving.
  Status start();
  // Stops serving and joins both threads; returns promptly. Safe to call twice.
  void stop();
  [[nodiscard]] int port() const { return port_; }

 private:
  void reload_loop(std::stop_token stop);

  HttpsServerConfig config_;
  CertificateStore& certificates_;
  Clock& clock_;
  Logger logger_;
  std::vector<HttpsRoute> routes_;
  std::unique_ptr<httplib::SSLServer> server_;
  int port_ = 0;
  Wakeup reload_wakeup_;
  std::jthread serve_thread_;
  std::jthread reload_thread_;
};

}  // namespace keyward
