#include "sidecar/accept_app.h"

#include "common/core/name_list.h"

namespace keyward::sidecar {

AcceptApp::AcceptApp(SidecarConfig config, SidecarDeps deps)
    : config_(std::move(config)), deps_(std::move(deps)) {}

AcceptApp::~AcceptApp() { stop(); }

Result<std::unique_ptr<AcceptApp>> AcceptApp::create(SidecarConfig config, SidecarDeps deps) {
  std::unique_ptr<AcceptApp> app(new AcceptApp(std::move(config), std::move(deps)));
  const SidecarConfig& c = app->config_;
  std::string base_path;
  auto endpoint = HttpEndpoint::parse(c.broker_url, &base_path);
  if (!endpoint) return fail(endpoint.error());
  std::string ca_pem;
  if (!c.ca_file.empty()) {
    auto ca = app->deps_.fs.read_file(c.ca_file);
    if (!ca) {
      return fail("InvalidCertificate", "cannot read the CA bundle " + c.ca_file + " for " +
                                            endpoint->to_string() + ": " + ca.error().message);
    }
    ca_pem = std::move(*ca);
  }
  auto transport = app->deps_.make_transport(*endpoint, ca_pem);
  if (!transport) return fail(transport.error());
  app->transport_ = std::move(*transport);
  Logger log = app->deps_.logger;
  app->writer_ = std::make_unique<AtomicWriter>(app->deps_.fs, app->deps_.clock, c.out_dir,
                                                log.child("write"));
  Filesystem& fs = app->deps_.fs;
  app->publisher_ = std::make_unique<KeyDigestPublisher>(
      *app->transport_, base_path, c.ns, split_name_list(c.apikey),
      [&fs, file = c.service_account_token_file]() { return fs.read_file(file); }, *app->writer_,
      log.child("digests"));
  return app;
}

Status AcceptApp::start() {
  if (config_.listen_port >= 0) {
    KeyDigestPublisher* p = publisher_.get();
    server_ = std::make_unique<StatusServer>(
        deps_.logger.child("status"), deps_.metrics, [] { return ok(); },
        [p]() -> Status { return p->ready(); });
    if (auto s = server_->start(config_.listen_host, config_.listen_port); !s) return s;
  }
  loop_ = std::jthread([this](std::stop_token st) { run(st); });
  deps_.logger.info("keyward-sidecar started", {{"mode", "accept"},
                                                {"apikeys", split_name_list(config_.apikey)},
                                                {"out", config_.out_dir},
                                                {"settings", config_.sources}});
  return ok();
}

void AcceptApp::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    const SystemTime next = publisher_->publish(deps_.clock.now(), config_.recheck);
    deps_.clock.sleep_until(next, wakeup_, stop);
  }
}

void AcceptApp::stop() {
  if (loop_.joinable()) {
    loop_.request_stop();
    loop_.join();
  }
  if (server_) server_->stop();
}

}  // namespace keyward::sidecar
