#pragma once
// The small HTTP server every Keyward binary runs: /healthz, /readyz, /metrics and any extra
// routes a binary adds (the sidecar's /v1/status). One object owns the server and its thread;
// start() binds and returns once serving, stop() (and the destructor) shut it down promptly.
//
// Sized for probes and scrapes, not for traffic: a small worker pool (httplib's default is 8
// threads, each costing a stack and a malloc arena in every sidecar of a fleet), one request per
// connection (a keep-alive client such as a Prometheus scraper would otherwise hold a worker for
// the keep-alive timeout and starve the kubelet's probes), and short read/write timeouts so a
// stalled client cannot hold a worker either.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/result.h"

namespace httplib {
class Server;
}

namespace keyward {

struct Route {
  std::string method;  // "GET", "POST"
  std::string path;    // exact path
  std::function<HttpResponse(const HttpRequest&)> handler;
};

struct StatusServerLimits {
  int worker_threads = 2;  // concurrent requests; more wait in the accept queue
  Seconds io_timeout{2};   // per read and per write on a connection
};

class StatusServer {
 public:
  StatusServer(Logger logger, const MetricsRegistry& metrics, std::function<Status()> liveness,
               std::function<Status()> readiness, StatusServerLimits limits = {});
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;
  ~StatusServer();

  void add_route(Route route);  // before start()
  Status start(const std::string& host, int port);
  void stop();
  [[nodiscard]] int port() const { return port_; }

 private:
  Logger logger_;
  const MetricsRegistry& metrics_;
  std::function<Status()> liveness_;
  std::function<Status()> readiness_;
  StatusServerLimits limits_;
  std::vector<Route> routes_;
  std::unique_ptr<httplib::Server> server_;
  std::jthread thread_;
  int port_ = 0;
};

}  // namespace keyward
