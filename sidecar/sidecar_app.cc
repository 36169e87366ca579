#include "sidecar/sidecar_app.h"

#include "common/token/provider_factory.h"
#include "common/token/provider_limits.h"
#include "common/token/provider_token_source.h"
#include "sidecar/broker_token_source.h"

namespace keyward::sidecar {

namespace {

nlohmann::json time_or_null(const std::optional<SystemTime>& t) {
  return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
}

}  // namespace

SidecarApp::SidecarApp(SidecarConfig config, SidecarDeps deps)
    : config_(std::move(config)), deps_(std::move(deps)) {}

SidecarApp::~SidecarApp() { stop(); }

Result<std::unique_ptr<SidecarApp>> SidecarApp::create(SidecarConfig config, SidecarDeps deps) {
  std::unique_ptr<SidecarApp> app(new SidecarApp(std::move(config), std::move(deps)));
  if (auto s = app->build(); !s) return fail(s.error());
  return app;
}

Status SidecarApp::build() {
  const Logger& log = deps_.logger;
  writer_ =
      std::make_unique<AtomicWriter>(deps_.fs, deps_.clock, config_.out_dir, log.child("files"));
  files_ = std::make_unique<TokenFileWriter>(
      *writer_, TokenFileNames{config_.token_file, config_.env_var_name});

  if (config_.mode == Mode::Broker) {
    std::string base;
    auto t = transport_for(config_.broker_url, config_.ca_file, base);
    if (!t) return fail(t.error());
    transport_ = std::move(*t);
    source_ = std::make_unique<BrokerTokenSource>(
        *transport_, BrokerTarget{base, config_.ns, config_.apikey}, service_account_token(),
        deps_.clock, log.child("broker"));
  } else {
    if (!config_.report_url.empty()) {
      std::string base;
      auto t = transport_for(config_.report_url, config_.report_ca_file, base);
      if (!t) return fail(t.error());
      report_transport_ = std::move(*t);
      broker_key_client_ = std::make_unique<BrokerKeyClient>(
          *report_transport_, BrokerTarget{base, config_.ns, config_.apikey},
          service_account_token(), log.child("broker"));
    }
    CredentialSources sources{config_.key_dir, config_.credentials_dir, config_.credentials};
    if (config_.key_from_broker) {
      // The first key must be there before anything starts (one clear error otherwise).
      if (auto s = fetch_broker_key(); !s) return fail(s.error());
      sources.broker_key = [this]() -> std::optional<BrokerKey> {
        std::lock_guard lock(key_mu_);
        return broker_key_;
      };
    }
    ProviderSettings settings;
    loader_ = std::make_unique<CredentialsLoader>(deps_.fs, std::move(sources), log.redactor());
    config_.credentials.register_secrets(log.redactor());
    if (config_.provider != "none") {
      std::string base;
      auto t = transport_for(config_.endpoint, config_.ca_file, base);
      if (!t) return fail(t.error());
      transport_ = std::move(*t);
      settings.base_path = base;
    }
    settings.kind = config_.provider;
    settings.oauth2_client_auth = config_.oauth2_client_auth;
    settings.oauth2_scope = config_.oauth2_scope;
    settings.lifetime = config_.lifetime;
    auto made = make_token_provider(settings, transport_.get(), deps_.clock, log);
    if (!made) return fail(made.error());
    upstream_ = std::move(*made);
    provider_ = upstream_.get();
    // Fail fast on unreadable or incomplete credentials (one clear message at start; nothing
    // is sent to the provider with a missing password).
    auto creds = loader_->load();
    if (!creds) return fail(creds.error());
    if (auto complete = upstream_->check_credentials(*creds); !complete) {
      return fail(complete.error());
    }
    last_credentials_ = *creds;
    // The client-side request budget of the upstream account (Tradovate: 5 logins and 15
    // renewals per rolling hour): this sidecar never sends more, whatever the provider answers.
    const ProviderLimits limits = upstream_->limits();
    if (limits.logins_per_hour > 0 || limits.renewals_per_hour > 0) {
      const std::string account =
          upstream_account(config_.provider, config_.endpoint,
                           config_.provider == "tradovate" ? creds->username : creds->client_id);
      budgeted_ = std::make_unique<BudgetedProvider>(
          *upstream_,
          std::make_shared<RequestBudget>(limits.logins_per_hour, limits.renewals_per_hour),
          deps_.clock, account);
      provider_ = budgeted_.get();
    }
    CredentialsLoader* loader = loader_.get();
    source_ = std::make_unique<ProviderTokenSource>(
        *provider_, [loader] { return loader->load(); }, log.child("direct"));
  }
  RefresherOptions options;
  options.refresh_lead = config_.refresh_lead;
  // Broker mode: ask the broker (memory, never the provider) at least this often, so a
  // deactivation or a rotation reaches the files within it rather than at the next refresh.
  if (config_.mode == Mode::Broker) options.recheck = config_.recheck;
  sink_ = std::make_unique<FileTokenSink>(*files_);
  refresher_ = std::make_unique<TokenRefresher>(*source_, *sink_, deps_.random, deps_.metrics,
                                                log.child("refresher"), options);
  return ok();
}

BrokerTokenSource::TokenReader SidecarApp::service_account_token() const {
  Filesystem& fs = deps_.fs;
  return [&fs, file = config_.service_account_token_file]() { return fs.read_file(file); };
}

Result<std::unique_ptr<HttpTransport>> SidecarApp::transport_for(const std::string& url,
                                                                 const std::string& ca_file,
                                                                 std::string& base_path) {
  auto endpoint = HttpEndpoint::parse(url, &base_path);
  if (!endpoint) return fail(endpoint.error());
  std::string ca_pem;
  if (!ca_file.empty()) {
    auto ca = deps_.fs.read_file(ca_file);
    if (!ca) {
      return fail("InvalidCertificate", "cannot read the CA bundle " + ca_file + " for " +
                                            endpoint->to_string() + ": " + ca.error().message);
    }
    ca_pem = std::move(*ca);
  }
  return deps_.make_transport(*endpoint, ca_pem);
}

std::optional<SystemTime> SidecarApp::report_key_version(SystemTime now) {
  if (!broker_key_client_ || version_reported_) return std::nullopt;
  // Only what was delivered counts: the apps start on the first delivery, not before.
  if (!refresher_->has_valid_token(now)) return std::nullopt;
  if (next_report_ && now < *next_report_) return next_report_;
  const std::int64_t version = refresher_->status().key_version;
  if (auto s = broker_key_client_->report(version); s) {
    version_reported_ = true;
    deps_.logger.info("the operator has recorded the key version this pod runs",
                      {{"keyVersion", version}});
    return std::nullopt;
  } else {
    deps_.logger.warn(s.error().message, {{"reason", s.error().reason}});
  }
  next_report_ = now + report_backoff_;
  report_backoff_ = std::min(report_backoff_ * 2, Seconds(60));
  return next_report_;
}

Status SidecarApp::fetch_broker_key() {
  std::int64_t held = 0;
  {
    std::lock_guard lock(key_mu_);
    if (broker_key_) held = broker_key_->key_version;
  }
  auto key = broker_key_client_->fetch_key(held);
  if (!key) return fail(key.error());
  std::lock_guard lock(key_mu_);
  broker_key_ = std::move(*key);
  return ok();
}

SystemTime SidecarApp::check_broker_key(SystemTime now) {
  if (next_key_check_ && now < *next_key_check_) return *next_key_check_;
  next_key_check_ = now + config_.recheck;
  std::optional<BrokerKey> before;
  {
    std::lock_guard lock(key_mu_);
    before = broker_key_;
  }
  if (auto s = fetch_broker_key(); !s) {
    deps_.logger.warn("the broker did not deliver the key; keeping the last one",
                      {{"reason", s.error().reason}, {"error", s.error().message}});
    return *next_key_check_;
  }
  bool changed = false;
  {
    std::lock_guard lock(key_mu_);
    changed = broker_key_ != before;
  }
  if (changed) on_secret_change();
  return *next_key_check_;
}

void SidecarApp::on_secret_change() {
  if (!loader_) {
    // Broker mode: the key rotated; ask the broker for the new token now.
    deps_.logger.info("the key Secret changed; asking the broker for the current token now");
    refresher_->credentials_changed();
    wakeup_.notify();
    return;
  }
  auto creds = loader_->load();
  if (!creds) {
    deps_.logger.warn("a Secret directory changed but could not be read; keeping the current token",
                      {{"error", creds.error().message}});
    return;
  }
  {
    std::lock_guard lock(creds_mu_);
    if (last_credentials_ && *last_credentials_ == *creds) return;  // an unrelated file event
    last_credentials_ = *creds;
  }
  deps_.logger.info("the credentials changed; fetching a new token now");
  refresher_->credentials_changed();
  wakeup_.notify();
}

nlohmann::json SidecarApp::status_json() const {
  const RefresherStatus s = refresher_->status();
  const SystemTime now = deps_.clock.now();
  nlohmann::json j{{"state", s.state},
                   {"mode", config_.mode == Mode::Broker ? "broker" : "direct"},
                   {"provider", s.provider.empty() ? source_->provider() : s.provider},
                   {"keyVersion", s.key_version},
                   {"expirationTime", time_or_null(s.expires_at)},
                   {"secondsToExpiry", nullptr},
                   {"issuedAt", time_or_null(s.issued_at)},
                   {"lastRefreshTime", time_or_null(s.last_refresh)},
                   {"lastAttemptTime", time_or_null(s.last_attempt)},
                   {"nextAttemptTime", time_or_null(s.next_attempt)},
                   {"lastError", s.last_error},
                   {"needsPerson", s.needs_person},
                   {"blockedUntilCredentialsChange", s.blocked_until_credentials_change},
                   {"providerState",
                    {{"ready", s.provider_state.ready},
                     {"reason", s.provider_state.reason},
                     {"message", s.provider_state.message},
                     {"until", time_or_null(s.provider_state.until)}}},
                   {"consecutiveFailures", s.consecutive_failures},
                   {"clockSkewSeconds", s.clock_skew_seconds},
                   {"reusedCachedToken", s.reused_cached_token},
                   {"lastUsedTime", time_or_null(use_monitor_ ? use_monitor_->last_use()
                                                              : std::optional<SystemTime>{})},
                   {"tokenDirectory", config_.out_dir}};
  if (s.expires_at)
    j["secondsToExpiry"] = std::chrono::duration_cast<Seconds>(*s.expires_at - now).count();
  return j;
}

Status SidecarApp::start(std::function<void(int)> on_once_done) {
  on_once_done_ = std::move(on_once_done);
  const Logger& log = deps_.logger;

  // Reuse a token an earlier run left on the same tmpfs.
  if (auto cached = read_token_record(deps_.fs, config_.out_dir); cached) {
    if (!refresher_->adopt_cached(to_delivery(*cached), deps_.clock.now())) {
      log.info("the token left by an earlier run is not reusable (expired, other key or provider)");
    }
  }

  for (const std::string* dir : {&config_.key_dir, &config_.credentials_dir}) {
    if (dir->empty() || !deps_.make_watcher) continue;
    auto w = deps_.make_watcher();
    if (auto s = w->start(*dir, [this] { on_secret_change(); }); !s) return s;
    watchers_.push_back(std::move(w));
  }

  if (deps_.make_use_monitor) {
    // Not fatal: last use is for people; a missing inotify instance must not stop the tokens.
    Status s = deps_.fs.make_dirs(config_.out_dir, AtomicWriter::kDirMode);
    if (s) {
      use_monitor_ = deps_.make_use_monitor(config_.out_dir);
      s = use_monitor_->start();
    }
    if (!s) {
      log.warn(
          "last use of the token is not tracked (lastUsedTime stays null): " + s.error().message +
              "; if inotify instances ran out, raise fs.inotify.max_user_instances on the node",
          {{"reason", s.error().reason}});
      use_monitor_.reset();
    }
  }

  if (config_.listen_port >= 0) {
    TokenRefresher* r = refresher_.get();
    Clock& clock = deps_.clock;
    server_ = std::make_unique<StatusServer>(
        log.child("status"), deps_.metrics, [] { return ok(); },
        [r, &clock]() -> Status {
          r->update_gauges(clock.now());
          return r->ready(clock.now());
        });
    server_->add_route(Route{"GET", "/v1/status", [this](const HttpRequest&) {
                               refresher_->update_gauges(deps_.clock.now());
                               HttpResponse res;
                               res.status = 200;
                               res.body = status_json().dump();
                               res.headers.emplace("Content-Type", "application/json");
                               return res;
                             }});
    if (auto s = server_->start(config_.listen_host, config_.listen_port); !s) return s;
  }

  loop_ = std::jthread([this](std::stop_token st) { run(st); });
  log.info("keyward-sidecar started",
           {{"mode", config_.mode == Mode::Broker ? "broker" : "direct"},
            {"out", config_.out_dir},
            {"listen", config_.listen_port >= 0
                           ? config_.listen_host + ":" + std::to_string(status_port())
                           : "off"},
            {"settings", config_.sources}});
  return ok();
}

void SidecarApp::run(std::stop_token stop) {
  bool announced = false;
  while (!stop.stop_requested()) {
    SystemTime next = refresher_->step(deps_.clock.now());
    refresher_->update_gauges(deps_.clock.now());
    if (auto retry = report_key_version(deps_.clock.now()); retry && *retry < next) next = *retry;
    if (config_.key_from_broker) next = std::min(next, check_broker_key(deps_.clock.now()));
    if (!announced && on_once_done_) {
      if (refresher_->has_valid_token(deps_.clock.now())) {
        announced = true;
        on_once_done_(0);
      } else if (refresher_->status().needs_person) {
        announced = true;
        on_once_done_(kExitNeedsPerson);
      } else if (refresher_->status().blocked_until_credentials_change) {
        announced = true;
        on_once_done_(kExitCredentialsRejected);
      }
    }
    deps_.clock.sleep_until(next, wakeup_, stop);
  }
  std::lock_guard lock(loop_mu_);
  loop_done_ = true;
  loop_cv_.notify_all();
}

bool SidecarApp::stop_within(Millis limit) {
  if (server_) server_->stop();
  for (auto& w : watchers_) w->stop();
  if (use_monitor_) use_monitor_->stop();
  if (!loop_.joinable()) return true;
  loop_.request_stop();
  std::unique_lock lock(loop_mu_);
  if (!loop_cv_.wait_for(lock, limit, [&] { return loop_done_; })) return false;
  lock.unlock();
  loop_.join();
  return true;
}

void SidecarApp::stop() {
  if (loop_.joinable()) {
    loop_.request_stop();
    loop_.join();
  }
  for (auto& w : watchers_) w->stop();
  if (use_monitor_) use_monitor_->stop();
  if (server_) server_->stop();
}

}  // namespace keyward::sidecar
