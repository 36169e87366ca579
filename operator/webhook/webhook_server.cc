#include "operator/webhook/webhook_server.h"

#include <chrono>

namespace keyward::webhook {

namespace {

HttpsServerConfig https_config(const WebhookServerConfig& c) {
  HttpsServerConfig h;
  h.name = "webhook";
  h.host = c.host;
  h.port = c.port;
  h.reload_interval = c.reload_interval;
  h.max_body_bytes = c.max_body_bytes;
  return h;
}

HttpResponse json_response(int status, std::string body) {
  HttpResponse res;
  res.status = status;
  res.body = std::move(body);
  res.headers.emplace("Content-Type", "application/json");
  return res;
}

}  // namespace

WebhookServer::WebhookServer(const WebhookServerConfig& config, CertificateStore& certificates,
                             const PodAdmissionHandler& pods, const ApiKeyValidator& apikeys,
                             Clock& clock, Logger logger, MetricsRegistry* metrics)
    : certificates_(certificates),
      pods_(pods),
      apikeys_(apikeys),
      admissions_(metrics == nullptr
                      ? nullptr
                      : &metrics->counter("keyward_webhook_admissions_total",
                                          "AdmissionReviews answered, by webhook "
                                          "(mutate-pods, validate-apikeys) and result (allowed, "
                                          "refused, error).")),
      admission_seconds_(metrics == nullptr
                             ? nullptr
                             : &metrics->histogram("keyward_webhook_admission_duration_seconds",
                                                   "Time to answer one AdmissionReview.",
                                                   {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1, 0.25, 0.5, 1, 2.5})),
      server_(https_config(config), certificates, clock, std::move(logger)) {
  for (const char* path : {"/mutate-pods", "/validate-apikeys"}) {
    server_.add_route(
        {"POST", path, [this, p = std::string(path)](const HttpRequest& req, const std::string&) {
           return review(p, req.body);
         }});
  }
  server_.add_route({"GET", "/healthz", [this](const HttpRequest&, const std::string&) {
                       const bool loaded = certificates_.current() != nullptr;
                       HttpResponse res;
                       res.status = loaded ? 200 : 503;
                       res.body = loaded ? "ok" : "no certificate";
                       res.headers.emplace("Content-Type", "text/plain");
                       return res;
                     }});
}

WebhookServer::~WebhookServer() { stop(); }

HttpResponse WebhookServer::review(const std::string& path, const std::string& body) const {
  const auto started = std::chrono::steady_clock::now();  // the duration metric only
  const auto count = [&](const char* result) {
    if (admissions_ != nullptr) {
      admissions_->inc({{"webhook", path == "/mutate-pods" ? "mutate-pods" : "validate-apikeys"},
                        {"result", result}});
    }
    if (admission_seconds_ != nullptr) {
      admission_seconds_->observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  };
  auto request = parse_admission_review(body);
  if (!request) {
    count("error");
    return json_response(400, nlohmann::json({{"reason", request.error().reason},
                                              {"message", request.error().message}})
                                  .dump());
  }
  AdmissionResult result =
      path == "/mutate-pods" ? pods_.handle(*request) : apikeys_.handle(*request);
  count(result.kind == AdmissionResult::Kind::Errored  ? "error"
        : result.kind == AdmissionResult::Kind::Denied ? "refused"
                                                       : "allowed");
  return json_response(200, make_admission_response(request->uid, result).dump());
}

Status WebhookServer::start() { return server_.start(); }

void WebhookServer::stop() { server_.stop(); }

}  // namespace keyward::webhook
