#pragma once
// A Tradovate-compatible token server for tests and the demo.
//
//   POST /auth/accesstokenrequest   (also under any base path, e.g. /v1/auth/...)
//   GET  /auth/renewaccesstoken     Bearer <accessToken>
//   POST /oauth2/token              RFC 6749 4.4 client credentials (Basic or body)
//   GET  /_sim/stats                read-only counters for scripts (see stats()); not a
//                                   provider endpoint: exact path, never faulted nor counted
//
// Time comes from the Clock it is given, so a FakeClock drives token expiry, penalty waits,
// outage windows and the hourly request budget. handle() answers in-process (tests wrap it in
// an HttpTransport, see simulator_transport.h); start() serves the same over HTTP.
//
// Behaviours: configurable lifetime; renewals on or off; outages (scheduled windows or on/off),
// slow answers, garbage and truncated answers; penalty tickets (p-ticket/p-time, the retry
// carrying the ticket is accepted after the wait) and captcha; per-user request counters and
// a budget per rolling hour; at most `max_sessions` sessions per user: a further login closes
// the oldest, whose tokens stop renewing (renewal answers 401); wrong passwords
// ("Incorrect username or password"), a lockout (HTTP 423 + Retry-After) after too many of
// them, and HTTP 429 with or without Retry-After.

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/result.h"

namespace httplib {
class Server;
}

namespace keyward::sim {

struct SimUser {
  std::string name;
  std::string password;
  std::string cid;
  std::string sec;
  std::int64_t user_id = 0;
};

struct SimConfig {
  Seconds lifetime{5400};
  bool renewals_allowed = true;
  int max_sessions = 2;
  int request_budget_per_hour = 0;  // 0 = unlimited; over budget earns a p-ticket penalty
  Seconds budget_penalty{3600};     // p-time of a budget penalty, at most until the window frees
  // Failed logins (wrong password) per user within an hour after which the user is locked out:
  // every login answers HTTP 423 with Retry-After until `lockout` has passed. 0: never.
  int lockout_after_failures = 0;
  Seconds lockout{900};
  std::string oauth2_client_id{};  // empty: the OAuth2 endpoint refuses everyone
  std::string oauth2_client_secret{};
};

enum class Fault { Garbage, Truncated, ServerError };

class ProviderSimulator {
 public:
  ProviderSimulator(const Clock& clock, SimConfig config);
  ~ProviderSimulator();
  ProviderSimulator(const ProviderSimulator&) = delete;
  ProviderSimulator& operator=(const ProviderSimulator&) = delete;

  void add_user(SimUser user);

  // The whole server as a function (base path prefixes are ignored).
  HttpResponse handle(const HttpRequest& request);

  // --- faults -------------------------------------------------------------------------------
  void set_outage(bool down);  // every answer: connection refused / 503
  void add_outage_window(SystemTime from, SystemTime to);
  [[nodiscard]] bool down() const;                  // at the clock's now()
  void set_delay(std::chrono::milliseconds delay);  // slow answers (real time, HTTP only)
  void queue_fault(Fault fault);                    // the next answers, in order
  void penalize_next_login(Seconds wait, bool captcha = false);
  void set_captcha(bool always);  // every login earns a captcha penalty
  void set_renewals_allowed(bool allowed);
  // The next `count` logins or renewals answer HTTP 429, with this Retry-After header value
  // (seconds or an HTTP-date; nullopt: no header).
  void rate_limit_next(int count, std::optional<std::string> retry_after);

  // --- assertions ---------------------------------------------------------------------------
  [[nodiscard]] int requests(const std::string& user) const;  // access token requests
  [[nodiscard]] int renewals(const std::string& user) const;  // successful renewals
  [[nodiscard]] int failed_requests(const std::string& user) const;
  [[nodiscard]] int live_sessions(const std::string& user) const;
  [[nodiscard]] int oauth2_requests(const std::string& client_id) const;
  [[nodiscard]] int total_requests() const;
  // Whether a token is currently accepted by the server (not expired, session open).
  [[nodiscard]] bool token_valid(const std::string& token) const;
  // The last token issued (tests use it to check what was delivered).
  [[nodiscard]] std::string last_token() const;
  // The counters above as JSON, what GET /_sim/stats answers (no token, password or key):
  // {"users": {"<name>": {"accessTokenRequests", "failedRequests", "renewals", "liveSessions"}},
  //  "oauth2Requests": {"<client id>": n}, "totalRequests": n}
  [[nodiscard]] nlohmann::json stats() const;

  // --- HTTP ---------------------------------------------------------------------------------
  Result<int> start(const std::string& host, int port);  // port 0 = any; returns the port
  // The same over HTTPS with this certificate and key (PEM files); url() says https.
  Result<int> start_tls(const std::string& host, int port, const std::string& cert_file,
                        const std::string& key_file);
  void stop();
  [[nodiscard]] std::string url() const;

 private:
  struct Session {
    std::string user;
    std::uint64_t id = 0;
    bool closed = false;
  };
  struct Token {
    std::string user;
    std::uint64_t session = 0;
    SystemTime expires_at;
  };
  struct PendingTicket {
    std::string user;
    SystemTime not_before;
    bool captcha = false;
  };
  struct UserStats {
    int requests = 0;
    int renewals = 0;
    int failed = 0;
    std::deque<SystemTime> recent;           // request times within the last hour
    std::deque<SystemTime> recent_failures;  // failed logins within the last hour
    std::optional<SystemTime> locked_until;
  };

  HttpResponse login(const nlohmann::json& body, SystemTime now);
  HttpResponse renew(const HttpRequest& request, SystemTime now);
  HttpResponse oauth2(const HttpRequest& request, SystemTime now);
  HttpResponse penalty(const std::string& user, Seconds wait, bool captcha, SystemTime now);
  std::optional<HttpResponse> rate_limited();  // when rate_limit_next is in force
  std::string issue(const std::string& user, std::uint64_t session, SystemTime now,
                    nlohmann::json& answer);
  bool down_locked(SystemTime now) const;

  const Clock& clock_;
  mutable std::mutex mu_;  // guards everything below but server_/thread_/port_
  SimConfig config_;
  std::map<std::string, SimUser> users_;
  std::map<std::string, UserStats> stats_;
  std::map<std::string, int> oauth2_stats_;
  std::map<std::string, std::deque<std::uint64_t>> sessions_by_user_;
  std::map<std::uint64_t, Session> sessions_;
  std::map<std::string, Token> tokens_;
  std::map<std::string, PendingTicket> tickets_;
  std::deque<Fault> faults_;
  std::vector<std::pair<SystemTime, SystemTime>> outage_windows_;
  bool outage_ = false;
  std::optional<std::pair<Seconds, bool>> next_penalty_;
  bool captcha_always_ = false;
  int rate_limit_count_ = 0;
  std::optional<std::string> rate_limit_retry_after_;
  std::chrono::milliseconds delay_{0};
  std::uint64_t next_id_ = 1;
  std::string last_token_;
  int total_ = 0;

  std::unique_ptr<httplib::Server> server_;
  std::jthread thread_;
  int port_ = 0;
  std::string host_;
  bool tls_ = false;
};

}  // namespace keyward::sim
