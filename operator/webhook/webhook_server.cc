#include "operator/webhook/webhook_server.h"

#include <httplib.h>

namespace keyward::webhook {

WebhookServer::WebhookServer(WebhookServerConfig config, CertificateStore& certificates,
                             const PodAdmissionHandler& pods, const ApiKeyValidator& apikeys,
                             Clock& clock, Logger logger)
    : config_(std::move(config)),
      certificates_(certificates),
      pods_(pods),
      apikeys_(apikeys),
      clock_(clock),
      logger_(std::move(logger)) {}

WebhookServer::~WebhookServer() { stop(); }

std::string WebhookServer::review(const std::string& path, const std::string& body,
                                  int& status) const {
  auto request = parse_admission_review(body);
  if (!request) {
    status = 400;
    return nlohmann::json(
               {{"reason", request.error().reason}, {"message", request.error().message}})
        .dump();
  }
  AdmissionResult result =
      path == "/mutate-pods" ? pods_.handle(*request) : apikeys_.handle(*request);
  status = 200;
  return make_admission_response(request->uid, result).dump();
}

Status WebhookServer::start() {
  if (server_) return fail("AlreadyStarted", "webhook server already started");
  auto loaded = certificates_.reload();
  if (!loaded) return fail(loaded.error());

  server_ = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    certificates_.install_on(&ctx);
    return true;
  });
  if (!server_->is_valid()) {
    server_.reset();
    return fail("TlsSetupFailed", "could not create the webhook's TLS context");
  }
  server_->set_payload_max_length(config_.max_body_bytes);
  server_->set_keep_alive_timeout(30);
  for (const char* path : {"/mutate-pods", "/validate-apikeys"}) {
    server_->Post(
        path, [this, p = std::string(path)](const httplib::Request& req, httplib::Response& res) {
          int status = 200;
          std::string out = review(p, req.body, status);
          res.status = status;
          res.set_content(out, "application/json");
        });
  }
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    bool loaded_cert = certificates_.current() != nullptr;
    res.status = loaded_cert ? 200 : 503;
    res.set_content(loaded_cert ? "ok" : "no certificate", "text/plain");
  });
  server_->set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        logger_.error("webhook handler failed", {{"path", req.path}, {"error", what}});
        res.status = 500;
        res.set_content(
            R"({"reason":"InternalError","message":"the webhook failed to handle the request"})",
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
                                  std::to_string(config_.port) + "; is the port in use?");
  }
  serve_thread_ = std::jthread([this] { server_->listen_after_bind(); });
  // httplib 0.11 has no ready signal; the socket already listens (connections queue), and stop()
  // needs the loop running to end it, so wait (bounded) for it to report running.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  reload_thread_ = std::jthread([this](std::stop_token st) { reload_loop(st); });
  logger_.info("webhook server listening", {{"host", config_.host}, {"port", port_}});
  return ok();
}

void WebhookServer::reload_loop(std::stop_token stop) {
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

void WebhookServer::stop() {
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

}  // namespace keyward::webhook
