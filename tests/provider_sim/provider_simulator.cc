#include "tests/provider_sim/provider_simulator.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

#include "common/core/base64.h"

namespace keyward::sim {

namespace {

HttpResponse json_answer(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  r.headers.emplace("Content-Type", "application/json");
  return r;
}

std::string http_date(SystemTime t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string rfc3339(SystemTime t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);  // Tradovate sends millis
  return buf;
}

std::string form_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    const auto amp = body.find('&', pos);
    const std::string pair =
        body.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    const auto eq = pair.find('=');
    if (eq != std::string::npos)
      out[form_decode(pair.substr(0, eq))] = form_decode(pair.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

bool ends_with(const std::string& path, std::string_view suffix) {
  const auto q = path.find('?');
  const std::string_view p = std::string_view(path).substr(0, q);
  return p.ends_with(suffix);
}

}  // namespace

ProviderSimulator::ProviderSimulator(const Clock& clock, SimConfig config)
    : clock_(clock), config_(std::move(config)) {}

ProviderSimulator::~ProviderSimulator() { stop(); }

void ProviderSimulator::add_user(SimUser user) {
  std::lock_guard lock(mu_);
  if (user.user_id == 0) user.user_id = 1000 + static_cast<std::int64_t>(users_.size());
  users_[user.name] = std::move(user);
}

bool ProviderSimulator::down_locked(SystemTime now) const {
  if (outage_) return true;
  return std::any_of(outage_windows_.begin(), outage_windows_.end(),
                     [&](const auto& w) { return now >= w.first && now < w.second; });
}

bool ProviderSimulator::down() const {
  std::lock_guard lock(mu_);
  return down_locked(clock_.now());
}

void ProviderSimulator::set_outage(bool down) {
  std::lock_guard lock(mu_);
  outage_ = down;
}
void ProviderSimulator::add_outage_window(SystemTime from, SystemTime to) {
  std::lock_guard lock(mu_);
  outage_windows_.emplace_back(from, to);
}
void ProviderSimulator::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delay_ = delay;
}
void ProviderSimulator::queue_fault(Fault fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(fault);
}
void ProviderSimulator::penalize_next_login(Seconds wait, bool captcha) {
  std::lock_guard lock(mu_);
  next_penalty_ = std::make_pair(wait, captcha);
}
void ProviderSimulator::set_captcha(bool always) {
  std::lock_guard lock(mu_);
  captcha_always_ = always;
}
void ProviderSimulator::set_renewals_allowed(bool allowed) {
  std::lock_guard lock(mu_);
  config_.renewals_allowed = allowed;
}

void ProviderSimulator::rate_limit_next(int count, std::optional<std::string> retry_after) {
  std::lock_guard lock(mu_);
  rate_limit_count_ = count;
  rate_limit_retry_after_ = std::move(retry_after);
}

std::optional<HttpResponse> ProviderSimulator::rate_limited() {
  if (rate_limit_count_ <= 0) return std::nullopt;
  --rate_limit_count_;
  HttpResponse out = json_answer(429, {{"errorText", "Too Many Requests"}});
  if (rate_limit_retry_after_) out.headers.emplace("Retry-After", *rate_limit_retry_after_);
  return out;
}

int ProviderSimulator::requests(const std::string& user) const {
  std::lock_guard lock(mu_);
  auto it = stats_.find(user);
  return it == stats_.end() ? 0 : it->second.requests;
}
int ProviderSimulator::renewals(const std::string& user) const {
  std::lock_guard lock(mu_);
  auto it = stats_.find(user);
  return it == stats_.end() ? 0 : it->second.renewals;
}
int ProviderSimulator::failed_requests(const std::string& user) const {
  std::lock_guard lock(mu_);
  auto it = stats_.find(user);
  return it == stats_.end() ? 0 : it->second.failed;
}
int ProviderSimulator::live_sessions(const std::string& user) const {
  std::lock_guard lock(mu_);
  auto it = sessions_by_user_.find(user);
  return it == sessions_by_user_.end() ? 0 : static_cast<int>(it->second.size());
}
int ProviderSimulator::oauth2_requests(const std::string& client_id) const {
  std::lock_guard lock(mu_);
  auto it = oauth2_stats_.find(client_id);
  return it == oauth2_stats_.end() ? 0 : it->second;
}
int ProviderSimulator::total_requests() const {
  std::lock_guard lock(mu_);
  return total_;
}
bool ProviderSimulator::token_valid(const std::string& token) const {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return false;
  auto s = sessions_.find(it->second.session);
  return clock_.now() < it->second.expires_at && s != sessions_.end() && !s->second.closed;
}
std::string ProviderSimulator::last_token() const {
  std::lock_guard lock(mu_);
  return last_token_;
}

nlohmann::json ProviderSimulator::stats() const {
  std::lock_guard lock(mu_);
  nlohmann::json users = nlohmann::json::object();
  for (const auto& [name, st] : stats_) {
    auto live = sessions_by_user_.find(name);
    users[name] = {{"accessTokenRequests", st.requests},
                   {"failedRequests", st.failed},
                   {"renewals", st.renewals},
                   {"liveSessions",
                    live == sessions_by_user_.end() ? 0 : static_cast<int>(live->second.size())}};
  }
  nlohmann::json oauth2 = nlohmann::json::object();
  for (const auto& [client, n] : oauth2_stats_) oauth2[client] = n;
  return {{"users", users}, {"oauth2Requests", oauth2}, {"totalRequests", total_}};
}

HttpResponse ProviderSimulator::handle(const HttpRequest& request) {
  // The observer's endpoint: outside the provider's behaviour (no fault, outage or count).
  if (request.method == "GET" && request.path == "/_sim/stats") {
    HttpResponse out = json_answer(200, stats());
    out.headers.emplace("Cache-Control", "no-store");
    return out;
  }
  std::unique_lock lock(mu_);
  ++total_;
  const SystemTime now = clock_.now();
  HttpResponse out;
  if (down_locked(now)) {
    out = json_answer(503, {{"errorText", "Service Unavailable"}});
  } else if (!faults_.empty()) {
    const Fault f = faults_.front();
    faults_.pop_front();
    switch (f) {
      case Fault::Garbage:
        out.status = 200;
        out.body = "<html><body>502 Bad Gateway</body></html>";
        out.headers.emplace("Content-Type", "text/html");
        break;
      case Fault::Truncated:
        out.status = 200;
        out.body = R"({"accessToken":"eyJhbGciOi)";
        out.headers.emplace("Content-Type", "application/json");
        break;
      case Fault::ServerError:
        out = json_answer(500, {{"errorText", "Internal Server Error"}});
        break;
    }
  } else if (request.method == "POST" && ends_with(request.path, "/auth/accesstokenrequest")) {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      out = json_answer(400, {{"errorText", "Malformed request body"}});
    } else {
      out = login(body, now);
    }
  } else if (request.method == "GET" && ends_with(request.path, "/auth/renewaccesstoken")) {
    out = renew(request, now);
  } else if (request.method == "POST" && ends_with(request.path, "/oauth2/token")) {
    out = oauth2(request, now);
  } else {
    out = json_answer(404, {{"errorText", "Not found: " + request.path}});
  }
  out.headers.emplace("Date", http_date(now));
  return out;
}

HttpResponse ProviderSimulator::penalty(const std::string& user, Seconds wait, bool captcha,
                                        SystemTime now) {
  const std::string ticket = "ticket-" + std::to_string(next_id_++);
  tickets_[ticket] = PendingTicket{user, now + wait, captcha};
  nlohmann::json body{{"p-ticket", ticket}, {"p-time", wait.count()}};
  if (captcha) body["p-captcha"] = true;
  return json_answer(200, body);
}

std::string ProviderSimulator::issue(const std::string& user, std::uint64_t session, SystemTime now,
                                     nlohmann::json& answer) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08llx",
                static_cast<unsigned long long>(next_id_ * 2654435761ULL));
  std::string token = "sim-at-" + std::to_string(next_id_++) + "-" + buf;
  const std::string md = "sim-md-" + std::to_string(next_id_++) + "-" + buf;
  const SystemTime expires = now + config_.lifetime;
  tokens_[token] = Token{user, session, expires};
  last_token_ = token;
  answer["accessToken"] = token;
  answer["mdAccessToken"] = md;
  answer["expirationTime"] = rfc3339(expires);
  answer["userStatus"] = "Active";
  answer["name"] = user;
  answer["hasLive"] = false;
  return token;
}

HttpResponse ProviderSimulator::login(const nlohmann::json& body, SystemTime now) {
  const std::string name = body.value("name", std::string());
  UserStats& st = stats_[name];
  ++st.requests;
  while (!st.recent.empty() && st.recent.front() <= now - std::chrono::hours(1))
    st.recent.pop_front();
  st.recent.push_back(now);
  while (!st.recent_failures.empty() && st.recent_failures.front() <= now - std::chrono::hours(1))
    st.recent_failures.pop_front();
  if (auto limited = rate_limited()) {
    ++st.failed;
    return *limited;
  }
  if (st.locked_until && now < *st.locked_until) {
    ++st.failed;
    HttpResponse out = json_answer(
        423, {{"errorText", "Account is locked due to too many failed login attempts"}});
    out.headers.emplace("Retry-After",
                        std::to_string(std::chrono::ceil<Seconds>(*st.locked_until - now).count()));
    return out;
  }

  // A retry carrying a ticket: accepted once its wait is over (a captcha ticket never is).
  if (auto it = body.find("p-ticket"); it != body.end() && it->is_string()) {
    auto t = tickets_.find(it->get<std::string>());
    if (t == tickets_.end() || t->second.user != name) {
      ++st.failed;
      return json_answer(200, {{"errorText", "Invalid p-ticket"}});
    }
    if (t->second.captcha) {
      ++st.failed;
      return penalty(name, Seconds(0), true, now);
    }
    if (now < t->second.not_before) {
      ++st.failed;
      const auto left = std::chrono::ceil<Seconds>(t->second.not_before - now);
      return json_answer(200, {{"p-ticket", t->first}, {"p-time", left.count()}});
    }
    tickets_.erase(t);
  } else {
    if (captcha_always_) {
      ++st.failed;
      return penalty(name, Seconds(0), true, now);
    }
    if (next_penalty_) {
      auto [wait, captcha] = *next_penalty_;
      next_penalty_.reset();
      ++st.failed;
      return penalty(name, wait, captcha, now);
    }
    if (config_.request_budget_per_hour > 0 &&
        static_cast<int>(st.recent.size()) > config_.request_budget_per_hour) {
      ++st.failed;
      const auto frees =
          std::chrono::ceil<Seconds>(st.recent.front() + std::chrono::hours(1) - now);
      return penalty(name, std::min(config_.budget_penalty, frees), false, now);
    }
  }

  auto u = users_.find(name);
  const std::string cid =
      body.contains("cid")
          ? (body["cid"].is_string() ? body["cid"].get<std::string>() : body["cid"].dump())
          : "";
  if (u == users_.end() || body.value("password", std::string()) != u->second.password ||
      cid != u->second.cid || body.value("sec", std::string()) != u->second.sec) {
    ++st.failed;
    st.recent_failures.push_back(now);
    if (config_.lockout_after_failures > 0 &&
        static_cast<int>(st.recent_failures.size()) >= config_.lockout_after_failures) {
      st.locked_until = now + config_.lockout;
    }
    return json_answer(200, {{"errorText",
                              "Incorrect username or password. Please try again, noting that "
                              "passwords are case-sensitive."}});
  }
  // A new session; a third one closes the oldest.
  const std::uint64_t sid = next_id_++;
  sessions_[sid] = Session{name, sid, false};
  auto& list = sessions_by_user_[name];
  list.push_back(sid);
  while (static_cast<int>(list.size()) > config_.max_sessions) {
    sessions_[list.front()].closed = true;
    list.pop_front();
  }
  nlohmann::json answer{{"userId", u->second.user_id}};
  issue(name, sid, now, answer);
  return json_answer(200, answer);
}

HttpResponse ProviderSimulator::renew(const HttpRequest& request, SystemTime now) {
  if (auto limited = rate_limited()) return *limited;
  std::string auth;
  if (auto it = request.headers.find("Authorization"); it != request.headers.end())
    auth = it->second;
  if (!auth.starts_with("Bearer ")) return json_answer(401, {{"errorText", "Access is denied"}});
  auto t = tokens_.find(auth.substr(7));
  if (t == tokens_.end() || now >= t->second.expires_at || sessions_[t->second.session].closed) {
    return json_answer(401, {{"errorText", "Access is denied"}});
  }
  if (!config_.renewals_allowed) {
    return json_answer(200, {{"errorText", "Access token renewal is not allowed"}});
  }
  const Token old = t->second;
  ++stats_[old.user].renewals;
  nlohmann::json answer;
  issue(old.user, old.session, now, answer);
  answer.erase("mdAccessToken");  // renewal answers carry the access token only
  return json_answer(200, answer);
}

HttpResponse ProviderSimulator::oauth2(const HttpRequest& request, SystemTime now) {
  auto form = parse_form(request.body);
  std::string id, secret;
  if (auto it = request.headers.find("Authorization");
      it != request.headers.end() && it->second.starts_with("Basic ")) {
    const std::string decoded = base64_decode(it->second.substr(6)).value_or("");
    const auto colon = decoded.find(':');
    if (colon != std::string::npos) {
      id = form_decode(decoded.substr(0, colon));
      secret = form_decode(decoded.substr(colon + 1));
    }
  } else {
    id = form["client_id"];
    secret = form["client_secret"];
  }
  ++oauth2_stats_[id];
  if (form["grant_type"] != "client_credentials") {
    return json_answer(400, {{"error", "unsupported_grant_type"}});
  }
  if (config_.oauth2_client_id.empty() || id != config_.oauth2_client_id ||
      secret != config_.oauth2_client_secret) {
    return json_answer(
        401, {{"error", "invalid_client"}, {"error_description", "Client authentication failed"}});
  }
  nlohmann::json answer;
  const std::string token = issue(id, 0, now, answer);
  sessions_[0] = Session{id, 0, false};
  nlohmann::json out{
      {"access_token", token}, {"token_type", "Bearer"}, {"expires_in", config_.lifetime.count()}};
  if (form.contains("scope")) out["scope"] = form["scope"];
  return json_answer(200, out);
}

Result<int> ProviderSimulator::start_tls(const std::string& host, int port,
                                         const std::string& cert_file,
                                         const std::string& key_file) {
  auto server = std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str());
  if (!server->is_valid()) {
    return fail("TlsSetupFailed", "the provider simulator cannot use " + cert_file + " and " +
                                      key_file + " as its certificate and key");
  }
  server_ = std::move(server);
  tls_ = true;
  return start(host, port);
}

Result<int> ProviderSimulator::start(const std::string& host, int port) {
  if (!server_) server_ = std::make_unique<httplib::Server>();
  auto adapter = [this](const httplib::Request& req, httplib::Response& res) {
    std::chrono::milliseconds delay;
    {
      std::lock_guard lock(mu_);
      delay = delay_;
    }
    // A slow provider, for timeout tests: the HTTP thread really waits.
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    HttpRequest r;
    r.method = req.method;
    r.path = req.path;
    for (const auto& [k, v] : req.headers) r.headers.emplace(k, v);
    r.body = req.body;
    HttpResponse out = handle(r);
    res.status = out.status;
    std::string type = "application/json";
    for (const auto& [k, v] : out.headers) {
      if (k == "Content-Type")
        type = v;
      else
        res.set_header(k, v);
    }
    res.set_content(out.body, type);
  };
  server_->Post(R"(.*/auth/accesstokenrequest)", adapter);
  server_->Get(R"(.*/auth/renewaccesstoken)", adapter);
  server_->Post(R"(.*/oauth2/token)", adapter);
  server_->Get("/_sim/stats", adapter);
  const int bound =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    server_.reset();
    return fail("BindFailed", "the provider simulator could not listen on " + host + ":" +
                                  std::to_string(port) + ": is the port in use?");
  }
  host_ = host;
  port_ = bound;
  thread_ = std::jthread([this] { server_->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs; wait for it (bounded) so a quick
  // stop() after start() cannot leave the thread blocked in accept forever.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  return port_;
}

void ProviderSimulator::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

std::string ProviderSimulator::url() const {
  return (tls_ ? "https://" : "http://") + host_ + ":" + std::to_string(port_);
}

}  // namespace keyward::sim
