#include "common/core/https_server.h"

#include <httplib.h>

#include "common/core/httplib_server_adapter.h"

namespace keyward {

HttpsServer::HttpsServer(HttpsServerConfig config, CertificateStore& certificates, Clock& clock,
                         Logger logger)
    : config_(std::move(config)),
      certificates_(certificates),
      clock_(clock),
      logger_(std::move(logger)) {}

HttpsServer::~HttpsServer() { stop(); }

void HttpsServer::add_route(HttpsRoute route) { routes_.push_back(std::move(route)); }

Status HttpsServer::start() {
  if (server_) return fail("AlreadyStarted", config_.name + " server already started");
  auto loaded = certificates_.reload();
  if (!loaded) return fail(loaded.error());

  server_ = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    certificates_.install_on(&ctx);
    return true;
  });
  if (!server_->is_valid()) {
    server_.reset();
    return fail("TlsSetupFailed", "could not create the " + config_.name + " server's TLS context");
  }
  server_->set_payload_max_length(config_.max_body_bytes);
  server_->set_keep_alive_timeout(config_.keep_alive_seconds);
  server_->set_tcp_nodelay(true);  // headers and body go out in separate writes
  // The API server keeps its connections to a webhook open (httplib's default of 5 requests
  // made every fifth admission pay a new TLS handshake); see kKeepAliveMaxRequests.
  server_->set_keep_alive_max_count(kKeepAliveMaxRequests);
  server_->set_read_timeout(config_.io_timeout.count(), 0);
  server_->set_write_timeout(config_.io_timeout.count(), 0);
  for (const HttpsRoute& route : routes_) {
    auto handler = [h = route.handler](const httplib::Request& req, httplib::Response& res) {
      write_to_httplib(h(request_from_httplib(req), req.remote_addr), res);
    };
    if (route.method == "GET") {
      server_->Get(route.path, handler);
    } else if (route.method == "POST") {
      server_->Post(route.path, handler);
    } else if (route.method == "PUT") {
      server_->Put(route.path, handler);
    } else {
      server_.reset();
      return fail("InvalidRoute", "unsupported method " + route.method + " for " + route.path);
    }
  }
  server_->set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, const std::exception_ptr& ep) {
        std::string what = "unknown";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        logger_.error(config_.name + " handler failed", {{"path", req.path}, {"error", what}});
        res.status = 500;
        res.set_header("Cache-Control", "no-store");
        res.set_content(R"({"reason":"InternalError","message":"the )" + config_.name +
                            R"( failed to handle the request"})",
                        "application/json");
      });

  if (config_.port == 0) {
    port_ = server_->bind_to_any_port(config_.host);
  } else {
    port_ = server_->bind_to_port(config_.host, config_.port) ? config_.port : -1;
  }
  if (port_ <= 0) {
    server_.reset();
    return fail("BindFailed", "cannot listen on " + config_.host + ":" +
                                  std::to_string(config_.port) + " for the " + config_.name +
                                  "; is the port in use?");
  }
  serve_thread_ = std::jthread([this] { server_->listen_after_bind(); });
  // httplib 0.11 has no ready signal; the socket already listens (connections queue), and stop()
  // needs the loop running to end it, so wait (bounded) for it to report running.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  reload_thread_ = std::jthread([this](std::stop_token st) { reload_loop(st); });
  logger_.info(config_.name + " server listening", {{"host", config_.host}, {"port", port_}});
  return ok();
}

void HttpsServer::reload_loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    auto reason = clock_.sleep_until(clock_.now() + config_.reload_interval, reload_wakeup_, stop);
    if (reason == WakeReason::Stopped) return;
    auto r = certificates_.reload();
    if (!r) {
      logger_.warn("could not reload the serving certificate",
                   {{"reason", r.error().reason}, {"error", r.error().message}});
    }
  }
}

void HttpsServer::stop() {
  if (reload_thread_.joinable()) {
    reload_thread_.request_stop();
    reload_thread_.join();
  }
  if (server_) {
    server_->stop();
    if (serve_thread_.joinable()) serve_thread_.join();
    server_.reset();
  }
}

}  // namespace keyward
