#include "operator/broker/session.h"

#include <utility>

#include "common/token/provider_factory.h"

namespace keyward::broker {

Status TokenSlot::deliver(const Delivery& delivery) {
  std::lock_guard lock(mu_);
  if (delivery.state == DeliveryState::Valid) {
    token_ = delivery.token;
  } else {
    token_.reset();
  }
  return ok();
}

std::optional<AccessToken> TokenSlot::current() const {
  std::lock_guard lock(mu_);
  return token_;
}

void TokenSlot::wipe() {
  std::lock_guard lock(mu_);
  token_.reset();
}

Credentials session_credentials(const apikey::ApiKey& key, const apikey::KeyMaterial& material,
                                std::int64_t key_version,
                                const std::map<std::string, std::string>& login_fields_data) {
  Credentials c;
  for (const auto& [name, member] : login_fields()) {
    if (auto it = login_fields_data.find(std::string(name)); it != login_fields_data.end()) {
      c.*member = it->second;
    }
  }
  c.api_key = material.api_key;  // the key Secret's, never the login Secret's
  // A key pair's secret and passphrase rotate with the key: the key Secret's win.
  if (!material.api_secret.empty()) c.api_secret = material.api_secret;
  if (!material.passphrase.empty()) c.passphrase = material.passphrase;
  c.key_version = key_version;
  if (const auto& t = key.spec.token_exchange.tradovate) {
    if (!t->app_id.empty()) c.app_id = t->app_id;
    if (c.app_version.empty()) c.app_version = t->app_version;
  }
  if (c.device_id.empty()) c.device_id = "keyward-" + key.metadata.uid;
  return c;
}

Status StoringSink::deliver(const Delivery& delivery) {
  Status delivered = slot_.deliver(delivery);
  if (store_ != nullptr && delivery.state == DeliveryState::Valid &&
      !delivery.token.token.empty()) {
    std::lock_guard lock(mu_);
    if (delivery.token.token != last_stored_) pending_ = delivery;
  }
  return delivered;
}

void StoringSink::store_pending() {
  std::optional<Delivery> next;
  {
    std::lock_guard lock(mu_);
    next.swap(pending_);
    if (next) last_stored_ = next->token.token;
  }
  if (next) store_->save(owner_, *next);
}

Session::Session(SessionConfig config, SessionDeps deps)
    : config_(std::move(config)), deps_(std::move(deps)), creds_(config_.credentials) {}

Session::~Session() { stop(); }

Result<std::unique_ptr<Session>> Session::create(SessionConfig config, SessionDeps deps) {
  std::unique_ptr<Session> s(new Session(std::move(config), std::move(deps)));
  if (auto st = s->build(); !st) return fail(st.error());
  return s;
}

Status Session::build() {
  const std::string object = config_.ns + "/" + config_.name;
  const Logger log = deps_.logger;
  creds_.register_secrets(log.redactor());
  const auto& ex = config_.exchange;
  if (ex.provider == apikey::TokenProvider::None) {
    return fail("NoExchange", "ApiKey " + object +
                                  " has tokenExchange.provider none: there is no token to broker");
  }
  if (!deps_.transports) {
    return fail("NoTransport", "the broker has no HTTP client for providers (a wiring error)");
  }
  std::string base;
  if (auto ep = HttpEndpoint::parse(ex.endpoint, &base); !ep) {
    return fail("InvalidSpec", "ApiKey " + object + ": spec.tokenExchange.endpoint: " +
                                   ep.error().message + "; fix the URL");
  }
  auto transport = deps_.transports(ex.endpoint, ex.ca_bundle);
  if (!transport) return fail(transport.error());
  transport_ = std::move(*transport);
  ProviderSettings settings;
  settings.kind =
      ex.provider == apikey::TokenProvider::Tradovate ? "tradovate" : "oauth2ClientCredentials";
  settings.base_path = base;
  settings.lifetime = Seconds(ex.lifetime_seconds);
  if (ex.oauth2) {
    settings.oauth2_client_auth = ex.oauth2->client_auth == apikey::OAuth2ClientAuth::Body
                                      ? keyward::OAuth2ClientAuth::Body
                                      : keyward::OAuth2ClientAuth::Basic;
    settings.oauth2_scope = ex.oauth2->scope;
  }
  auto made = make_token_provider(settings, transport_.get(), deps_.clock, log);
  if (!made) return fail(made.error());
  upstream_ = std::move(*made);
  const ProviderLimits limits = upstream_->limits();
  const std::string account =
      upstream_account(settings.kind, ex.endpoint,
                       settings.kind == "tradovate" ? creds_.username : creds_.client_id);
  std::shared_ptr<RequestBudget> budget =
      deps_.budgets
          ? deps_.budgets->for_account(account, limits)
          : std::make_shared<RequestBudget>(limits.logins_per_hour, limits.renewals_per_hour);
  budget_ = budget;
  provider_ =
      std::make_unique<BudgetedProvider>(*upstream_, std::move(budget), deps_.clock, account);
  source_ = std::make_unique<ProviderTokenSource>(
      *provider_,
      [this]() -> Result<Credentials> {
        std::lock_guard lock(creds_mu_);
        return creds_;
      },
      log.child("source"));
  RefresherOptions options = deps_.refresher;
  options.refresh_lead = Seconds(ex.refresh_lead_seconds);
  options.metric_prefix = "keyward_broker_upstream";
  options.metric_labels = {{"namespace", config_.ns}, {"name", config_.name}};
  const SessionOwner owner{config_.ns, config_.name, config_.uid};
  sink_ = std::make_unique<StoringSink>(slot_, deps_.store, owner);
  refresher_ =
      std::make_unique<TokenRefresher>(*source_, *sink_, deps_.random, deps_.metrics, log, options);
  return ok();
}

void Session::start() {
  if (loop_.joinable()) return;
  loop_ = std::jthread([this](std::stop_token st) { run(st); });
}

void Session::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    const SystemTime next = step(deps_.clock.now());
    deps_.clock.sleep_until(next, wakeup_, stop);
  }
}

SystemTime Session::step(SystemTime now) {
  if (!store_checked_ && deps_.store != nullptr) {
    // A session a previous leader held: continue it (serve its token, renew when due).
    store_checked_ = true;
    const std::string object = config_.ns + "/" + config_.name;
    if (auto stored = deps_.store->load(SessionOwner{config_.ns, config_.name, config_.uid})) {
      if (refresher_->adopt_cached(*stored, now)) {
        (void)slot_.deliver(*stored);
        deps_.logger.info("continuing the upstream session the previous leader held: no new login",
                          {{"object", object}, {"keyVersion", stored->token.key_version}});
      } else {
        deps_.logger.info(
            "the stored upstream session is not usable (expired, other key or credentials); "
            "logging in",
            {{"object", object}});
      }
    }
  }
  const SystemTime next = refresher_->step(now);
  sink_->store_pending();
  refresher_->update_gauges(deps_.clock.now());
  update_budget_gauges(deps_.clock.now());
  if (deps_.provider_states) {
    const std::string key = config_.ns + "/" + config_.name;
    if (deps_.provider_states->set(key, refresher_->status().provider_state) &&
        deps_.on_provider_state) {
      deps_.on_provider_state(key);
    }
  }
  return next;
}

void Session::update_budget_gauges(SystemTime now) const {
  auto& spent = deps_.metrics.gauge("keyward_broker_upstream_requests_last_hour",
                                    "Logins and renewals sent in the last rolling hour, by kind.");
  auto& limit = deps_.metrics.gauge(
      "keyward_broker_upstream_requests_per_hour_limit",
      "The request budget per rolling hour Keyward allows itself for the account, by kind.");
  for (const auto& [kind, label] : {std::pair{RequestBudget::Kind::Login, "login"},
                                    std::pair{RequestBudget::Kind::Renewal, "renewal"}}) {
    const Labels labels{{"namespace", config_.ns}, {"name", config_.name}, {"kind", label}};
    spent.set(labels, budget_->spent(kind, now));
    limit.set(labels, budget_->limit(kind));
  }
}

void Session::stop() {
  slot_.wipe();
  if (loop_.joinable()) {
    loop_.request_stop();
    loop_.join();
  }
  slot_.wipe();  // a fetch that was in flight may have delivered meanwhile
  const Labels mine{{"namespace", config_.ns}, {"name", config_.name}};
  for (const char* gauge :
       {"keyward_broker_upstream_token_valid", "keyward_broker_upstream_token_expiry_seconds",
        "keyward_broker_upstream_clock_skew_seconds", "keyward_broker_upstream_requests_last_hour",
        "keyward_broker_upstream_requests_per_hour_limit"}) {
    deps_.metrics.gauge(gauge, "").erase_matching(mine);
  }
}

bool Session::update_credentials(const Credentials& credentials) {
  bool rotated = false;
  {
    std::lock_guard lock(creds_mu_);
    if (creds_ == credentials) return false;
    rotated = creds_.secret_for_exchange() != credentials.secret_for_exchange() ||
              creds_.key_version != credentials.key_version;
    creds_ = credentials;
  }
  credentials.register_secrets(deps_.logger.redactor());
  if (rotated) slot_.wipe();  // no client gets the old key's token any more
  deps_.logger.info(
      rotated ? "the key rotated: logging in with the new key now"
              : "the login credentials changed: logging in again now",
      {{"object", config_.ns + "/" + config_.name}, {"keyVersion", credentials.key_version}});
  refresher_->credentials_changed();
  wakeup_.notify();
  return true;
}

std::optional<AccessToken> Session::token(SystemTime now) const {
  auto t = slot_.current();
  if (!t || t->token.empty()) return std::nullopt;
  if (t->expires() && local_expiry(*t, std::chrono::seconds(0)) <= now) return std::nullopt;
  return t;
}

std::int64_t Session::key_version() const {
  std::lock_guard lock(creds_mu_);
  return creds_.key_version;
}

}  // namespace keyward::broker
