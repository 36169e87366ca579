#include "common/core/status_server.h"

#include <httplib.h>

#include "common/core/httplib_server_adapter.h"

namespace keyward {
namespace {

void write_probe(const Status& s, httplib::Response& res) {
  if (s) {
    res.status = 200;
    res.set_content("ok\n", "text/plain");
  } else {
    res.status = 503;
    res.set_content(s.error().reason + ": " + s.error().message + "\n", "text/plain");
  }
}

}  // namespace

StatusServer::StatusServer(Logger logger, const MetricsRegistry& metrics,
                           std::function<Status()> liveness, std::function<Status()> readiness,
                           StatusServerLimits limits)
    : logger_(std::move(logger)),
      metrics_(metrics),
      liveness_(std::move(liveness)),
      readiness_(std::move(readiness)),
      limits_(limits) {}

StatusServer::~StatusServer() { stop(); }

void StatusServer::add_route(Route route) { routes_.push_back(std::move(route)); }

Status StatusServer::start(const std::string& host, int port) {
  if (server_) return fail("AlreadyStarted", "status server already started");
  if (limits_.worker_threads < 1)
    return fail("InvalidLimits", "status server needs a worker thread");
  auto server = std::make_unique<httplib::Server>();
  const auto workers = static_cast<size_t>(limits_.worker_threads);
  // httplib's API: the server takes ownership of the raw pointer new_task_queue returns.
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): no gsl::owner in a foreign signature.
  server->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  server->set_keep_alive_max_count(1);
  server->set_read_timeout(limits_.io_timeout);
  server->set_write_timeout(limits_.io_timeout);
  server->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    write_probe(liveness_ ? liveness_() : ok(), res);
  });
  server->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    write_probe(readiness_ ? readiness_() : ok(), res);
  });
  server->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), MetricsRegistry::kContentType);
  });
  for (const Route& route : routes_) {
    auto handler = [h = route.handler](const httplib::Request& req, httplib::Response& res) {
      write_to_httplib(h(request_from_httplib(req)), res);
    };
    if (route.method == "GET")
      server->Get(route.path, handler);
    else if (route.method == "POST")
      server->Post(route.path, handler);
    else if (route.method == "PUT")
      server->Put(route.path, handler);
    else if (route.method == "DELETE")
      server->Delete(route.path, handler);
    else
      return fail("InvalidRoute", "unsupported method " + route.method + " for " + route.path);
  }
  int bound = port;
  if (port == 0) {
    bound = server->bind_to_any_port(host);
    if (bound <= 0) return fail("BindFailed", "cannot bind " + host + " to any port");
  } else if (!server->bind_to_port(host, port)) {
    return fail("BindFailed",
                "cannot listen on " + host + ":" + std::to_string(port) +
                    ": is another process using the port? choose another with --listen");
  }
  port_ = bound;
  server_ = std::move(server);
  thread_ = std::jthread([srv = server_.get()] { srv->listen_after_bind(); });
  // httplib's stop() does nothing until the accept loop runs, so a stop() right after start()
  // would hang in join(): return only once the loop is running.
  while (!server_->is_running() && thread_.joinable()) std::this_thread::yield();
  logger_.info("status server listening", {{"address", host + ":" + std::to_string(port_)}});
  return ok();
}

void StatusServer::stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace keyward
