#include "operator/broker/session_manager.h"

#include "operator/apikey/key_secret.h"

namespace keyward::broker {

SessionManager::SessionManager(const kube::Store& apikeys, const kube::Store& secrets,
                               SessionDeps deps, bool run_sessions)
    : apikeys_(apikeys),
      secrets_(secrets),
      deps_(std::move(deps)),
      run_sessions_(run_sessions),
      sessions_gauge_(deps_.metrics.gauge("keyward_broker_sessions",
                                          "Upstream sessions the broker runs, by whether they "
                                          "hold a token with life left (state=valid|waiting)")) {}

SessionManager::~SessionManager() { stop_all(); }

SessionManager::Desired SessionManager::desired(const std::string& key) const {
  Desired d;
  auto object = apikeys_.get(key);
  if (!object) {
    d.message = "ApiKey " + key + " does not exist";
    return d;
  }
  auto parsed = apikey::parse_apikey(*object);
  if (!parsed) {
    d.without = TokenLookup::Kind::NoToken;
    d.message = "ApiKey " + key + " does not parse (" + parsed.error().message + ")";
    return d;
  }
  const apikey::ApiKey& a = *parsed;
  if (!a.spec.active) {
    d.without = TokenLookup::Kind::Inactive;
    d.message = "ApiKey " + key + " is inactive (spec.active: false)";
    return d;
  }
  if (a.spec.token_exchange.provider == apikey::TokenProvider::None) {
    d.without = TokenLookup::Kind::NoExchange;
    d.message = "ApiKey " + key +
                " has tokenExchange.provider none: the broker has no token to give; such keys "
                "are delivered in direct mode (the webhook renders it)";
    return d;
  }
  d.without = TokenLookup::Kind::NoToken;
  Redactor& redactor = deps_.logger.redactor();
  auto key_object = secrets_.get(a.metadata.ns + "/" + apikey::secret_name_for(a.metadata.name));
  if (!key_object) {
    d.message = "the key Secret " + apikey::secret_name_for(a.metadata.name) +
                " does not exist yet (the operator creates it)";
    return d;
  }
  auto key_secret =
      apikey::read_key_secret(*key_object, redactor, deps_.sealer,
                              apikey::KeyOwner{a.metadata.ns, a.metadata.name, a.metadata.uid});
  if (!key_secret) {
    d.message = "the key Secret cannot be used: " + key_secret.error().message;
    const std::string& why = key_secret.error().reason;
    d.keep_running_session = why == apikey::reason::kKekMissing ||
                             why == apikey::reason::kKekWrong ||
                             why == apikey::reason::kSealedDataTampered;
    return d;
  }
  std::map<std::string, std::string> login;
  if (const auto& ref = a.spec.token_exchange.credentials_secret_ref) {
    auto creds_object = secrets_.get(a.metadata.ns + "/" + ref->name);
    if (!creds_object) {
      d.message = "the credentials Secret " + ref->name +
                  " (spec.tokenExchange.credentialsSecretRef) does not exist; create it";
      return d;
    }
    auto fields = apikey::read_secret_fields(*creds_object, redactor);
    if (!fields) {
      d.message = "the credentials Secret " + ref->name + ": " + fields.error().message;
      return d;
    }
    login = std::move(*fields);
  }
  d.config = SessionConfig{a.metadata.ns, a.metadata.name, a.spec.token_exchange,
                           session_credentials(a, key_secret->current, key_secret->version, login),
                           a.metadata.uid};
  return d;
}

void SessionManager::sync(const std::string& key) {
  std::unique_ptr<Session> retired;  // destroyed outside the lock (joins its thread)
  {
    std::lock_guard lock(mu_);
    if (!leading_) return;
    Desired d = desired(key);
    auto it = sessions_.find(key);
    if (!d.config && d.keep_running_session && it != sessions_.end()) {
      deps_.logger.warn("the key Secret cannot be opened; the running session keeps its token",
                        {{"object", key}, {"why", d.message}});
    } else if (!d.config) {
      reasons_[key] = {d.without, d.message};
      if (it != sessions_.end()) {
        // Out of the map: no request gets its token from here on; stop() below wipes it.
        retired = std::move(it->second);
        sessions_.erase(it);
        deps_.logger.info("upstream session stopped; its token is wiped from memory",
                          {{"object", key}, {"why", d.message}});
      }
    } else if (it != sessions_.end() && it->second->config().exchange == d.config->exchange) {
      it->second->update_credentials(d.config->credentials);
    } else {
      if (it != sessions_.end()) {
        retired = std::move(it->second);
        sessions_.erase(it);
      }
      auto session = Session::create(*d.config, deps_);
      if (!session) {
        reasons_[key] = {TokenLookup::Kind::NoToken, session.error().message};
        deps_.logger.warn("cannot start an upstream session",
                          {{"object", key}, {"error", session.error().message}});
      } else {
        reasons_.erase(key);
        if (run_sessions_) (*session)->start();
        sessions_[key] = std::move(*session);
        deps_.logger.info("upstream session started",
                          {{"object", key},
                           {"provider", apikey::to_string(d.config->exchange.provider)},
                           {"keyVersion", d.config->credentials.key_version}});
      }
    }
  }
  if (retired) retired->stop();  // wipes the token, then waits for a request in flight
  retired.reset();
  forget_state_without_session(key);
  update_gauge(deps_.clock.now());
}

void SessionManager::forget_state_without_session(const std::string& key) {
  if (!deps_.provider_states) return;
  {
    std::lock_guard lock(mu_);
    if (sessions_.contains(key)) return;
  }
  if (deps_.provider_states->forget(key) && deps_.on_provider_state) deps_.on_provider_state(key);
}

void SessionManager::set_leading(bool leading) {
  {
    std::lock_guard lock(mu_);
    if (leading_ == leading) return;
    leading_ = leading;
  }
  if (!leading) {
    stop_all();
    return;
  }
  for (const auto& a : apikeys_.list()) sync(kube::object_key(*a));
}

void SessionManager::stop_all() {
  std::map<std::string, std::unique_ptr<Session>> retired;
  {
    std::lock_guard lock(mu_);
    retired.swap(sessions_);
    reasons_.clear();
  }
  for (auto& [key, s] : retired) s->stop();
  for (auto& [key, s] : retired) forget_state_without_session(key);
  retired.clear();
  update_gauge(deps_.clock.now());
}

TokenLookup SessionManager::lookup(const std::string& key, SystemTime now) const {
  TokenLookup out;
  std::lock_guard lock(mu_);
  if (!leading_) {
    out.kind = TokenLookup::Kind::NotLeading;
    out.message = "this operator replica is a standby; the leader serves tokens";
    return out;
  }
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    if (auto r = reasons_.find(key); r != reasons_.end()) {
      out.kind = r->second.first;
      out.message = r->second.second;
    } else {
      out.kind = TokenLookup::Kind::NoApiKey;
      out.message = "ApiKey " + key + " does not exist";
    }
    return out;
  }
  if (auto t = it->second->token(now)) {
    out.kind = TokenLookup::Kind::Token;
    out.token = std::move(*t);
    out.key_version = it->second->key_version();
    return out;
  }
  out.kind = TokenLookup::Kind::NoToken;
  const RefresherStatus st = it->second->status();
  const ProviderState& p = st.provider_state;
  if (st.needs_person) {
    out.message =
        "the provider demands a captcha: a person must log in at the provider once from the "
        "operator's network";
  } else if (!p.ready && !p.reason.empty()) {
    out.message = "no token: " + p.reason + ": " + p.message;
    if (p.until) out.message += " (next request at " + format_rfc3339(*p.until) + ")";
  } else {
    out.message = st.last_error.empty() ? "the broker is logging in"
                                        : "no token yet; last error: " + st.last_error;
  }
  return out;
}

std::size_t SessionManager::session_count() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

std::size_t SessionManager::sessions_with_token(SystemTime now) const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [key, s] : sessions_) n += s->token(now) ? 1 : 0;
  return n;
}

Session* SessionManager::session(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void SessionManager::update_gauge(SystemTime now) const {
  std::size_t total = 0;
  std::size_t valid = 0;
  {
    std::lock_guard lock(mu_);
    total = sessions_.size();
    // The budgets move by the minute (a rolling hour): refreshed at most every 10 s, not with
    // every answer, which would walk every session's budget per request.
    const bool budgets = now - budgets_updated_ >= kBudgetGaugeInterval;
    if (budgets) budgets_updated_ = now;
    for (const auto& [key, s] : sessions_) {
      valid += s->token(now) ? 1 : 0;
      if (budgets) s->update_budget_gauges(now);
    }
  }
  sessions_gauge_.set({{"state", "valid"}}, static_cast<double>(valid));
  sessions_gauge_.set({{"state", "waiting"}}, static_cast<double>(total - valid));
}

}  // namespace keyward::broker
