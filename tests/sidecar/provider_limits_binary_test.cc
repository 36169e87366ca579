// Provider limits through the real keyward-sidecar binary in direct mode against the provider
// simulator over HTTP: a wrong password is sent once and named until the Secret changes, a
// missing one stops the sidecar before anything is sent, a 429 with Retry-After is honoured to
// the second and one without it means Tradovate's hour, a 423 lockout is waited out, and a
// session closed by another login is reported as such. /readyz and /v1/status say the same, and
// no secret appears in anything the binary printed.

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "common/core/clock.h"
#include "common/io/filesystem.h"
#include "common/token/tradovate_provider.h"
#include "tests/provider_sim/provider_simulator.h"
#include "tests/provider_sim/simulator_transport.h"
#include "tests/support/child_process.h"
#include "tests/support/faulty_filesystem.h"
#include "tests/support/wait_and_files.h"

namespace keyward::sidecar {
namespace {

using namespace std::chrono_literals;
using Process = keyward::testing::ChildProcess;
using keyward::testing::eventually;
using keyward::testing::slurp;

constexpr const char* kPassword = "demo-password-123";
constexpr const char* kSec = "demo-sec-0123456789";
constexpr const char* kWrong = "wrong-password-456";

// Another client's login as the sidecar's user, with the given password.
Credentials demo_login(const std::string& password) {
  Credentials c;
  c.username = "demo";
  c.password = password;
  c.client_id = "8";
  c.api_key = kSec;
  return c;
}

class ProviderLimitsBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim.add_user({"demo", kPassword, "8", kSec, 0});
    auto port = sim.start("127.0.0.1", 0);
    ASSERT_TRUE(port);
    ASSERT_TRUE(fs.make_dirs(tmp / "creds", 0700));
    set_file("username", "demo");
    set_file("password", kPassword);
    set_file("clientId", "8");
    set_file("apiKey", kSec);
  }
  void TearDown() override { sim.stop(); }

  // Replaces a credentials file in one step, as the kubelet swaps a Secret volume.
  void set_file(const std::string& name, const std::string& value) {
    const std::string staged = tmp / (".staged-" + name);
    (void)fs.remove_all(staged);
    ASSERT_TRUE(fs.write_new_file(staged, value, 0600));
    std::filesystem::rename(staged, tmp / ("creds/" + name));
  }

  std::vector<std::string> args(std::vector<std::string> extra = {}) {
    std::vector<std::string> a{KEYWARD_SIDECAR_BINARY,
                               "run",
                               "--provider",
                               "tradovate",
                               "--endpoint",
                               sim.url() + "/v1",
                               "--credentials-dir",
                               tmp / "creds",
                               "--out",
                               tmp / "out",
                               "--listen",
                               "127.0.0.1:0"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // Starts the sidecar and connects to its status server.
  // Starts the sidecar (against `endpoint`, default the fixture's simulator) and connects to
  // its status server.
  void start(std::vector<std::string> extra = {}, const std::string& endpoint = "") {
    auto a = args(std::move(extra));
    if (!endpoint.empty()) a[5] = endpoint;
    process = std::make_unique<Process>(a, std::vector<std::string>{}, tmp / "log");
    ASSERT_TRUE(process->started());
    std::smatch m;
    std::string log;
    ASSERT_TRUE(eventually([&] {
      log = slurp(tmp / "log");
      return std::regex_search(log, m, std::regex(R"re("address":"127\.0\.0\.1:([0-9]+)")re"));
    })) << log;
    client = std::make_unique<httplib::Client>("127.0.0.1", std::stoi(m[1]));
  }

  nlohmann::json status() {
    auto res = client->Get("/v1/status");
    return res ? nlohmann::json::parse(res->body, nullptr, false) : nlohmann::json::object();
  }
  std::pair<int, std::string> readyz() {
    auto res = client->Get("/readyz");
    return res ? std::make_pair(res->status, res->body) : std::make_pair(0, std::string());
  }
  std::string provider_reason() {
    auto s = status();
    return s.contains("providerState") ? s["providerState"].value("reason", "") : "";
  }

  void expect_no_secret_printed() {
    const std::string log = slurp(tmp / "log");
    for (const std::string& s : {std::string(kPassword), std::string(kSec), std::string(kWrong)}) {
      EXPECT_EQ(log.find(s), std::string::npos) << s << " leaked: " << log;
    }
  }

  keyward::testing::TempDir tmp;
  PosixFilesystem fs;
  RealClock clock;
  sim::ProviderSimulator sim{clock, sim::SimConfig{.lifetime = 1h}};
  std::unique_ptr<Process> process;
  std::unique_ptr<httplib::Client> client;
};

TEST_F(ProviderLimitsBinaryTest, AWrongPasswordIsSentOnceAndNamedUntilTheSecretChanges) {
  set_file("password", kWrong);
  start();
  ASSERT_TRUE(eventually([&] { return provider_reason() == "CredentialsRejected"; }))
      << status().dump() << slurp(tmp / "log");
  std::this_thread::sleep_for(3s);  // today's loop would have sent four more by now
  EXPECT_EQ(sim.requests("demo"), 1) << "no login again with the refused password";
  auto s = status();
  EXPECT_TRUE(s["blockedUntilCredentialsChange"].get<bool>()) << s.dump();
  EXPECT_NE(s["providerState"]["message"].get<std::string>().find("fix username and password"),
            std::string::npos)
      << s.dump();
  EXPECT_TRUE(s["nextAttemptTime"].is_null()) << "none planned: " << s.dump();
  auto [code, body] = readyz();
  EXPECT_EQ(code, 503);
  EXPECT_NE(body.find("CredentialsRejected"), std::string::npos) << body;

  set_file("password", kPassword);  // a person fixes the Secret
  ASSERT_TRUE(eventually([&] { return status().value("state", "") == "Valid"; }))
      << status().dump() << slurp(tmp / "log");
  EXPECT_EQ(sim.requests("demo"), 2);
  EXPECT_EQ(readyz().first, 200);
  expect_no_secret_printed();
}

TEST_F(ProviderLimitsBinaryTest, AMissingPasswordStopsItBeforeAnythingIsSent) {
  (void)fs.remove_all(tmp / "creds/password");
  Process p(args(), {}, tmp / "log");
  ASSERT_TRUE(p.started());
  auto code = p.wait_exit(5000ms);
  ASSERT_TRUE(code) << slurp(tmp / "log");
  EXPECT_NE(*code, 0);
  const std::string log = slurp(tmp / "log");
  EXPECT_NE(log.find("CredentialsIncomplete"), std::string::npos) << log;
  EXPECT_NE(log.find("the credentials have no password"), std::string::npos) << log;
  EXPECT_EQ(sim.total_requests(), 0) << "no login with \"password\":\"\"";
}

TEST_F(ProviderLimitsBinaryTest, TooManyRequestsWithRetryAfterIsHonouredToTheSecond) {
  sim.rate_limit_next(1, "4");
  const auto t0 = std::chrono::steady_clock::now();
  start();
  ASSERT_TRUE(eventually([&] { return provider_reason() == "RateLimited"; }))
      << status().dump() << slurp(tmp / "log");
  auto s = status();
  EXPECT_FALSE(s["providerState"]["until"].is_null()) << s.dump();
  EXPECT_NE(readyz().second.find("RateLimited"), std::string::npos) << readyz().second;
  while (std::chrono::steady_clock::now() - t0 < 3s) {
    EXPECT_EQ(sim.requests("demo"), 1) << "a request inside Retry-After";
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(eventually([&] { return status().value("state", "") == "Valid"; }, 10s))
      << status().dump();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 4s);
  EXPECT_EQ(sim.requests("demo"), 2);
}

TEST_F(ProviderLimitsBinaryTest, TooManyRequestsWithoutRetryAfterWaitsTradovatesHour) {
  sim.rate_limit_next(1, std::nullopt);
  start();
  ASSERT_TRUE(eventually([&] { return provider_reason() == "RateLimited"; }))
      << status().dump() << slurp(tmp / "log");
  auto s = status();
  SystemTime next;
  ASSERT_TRUE(s["nextAttemptTime"].is_string()) << s.dump();
  ASSERT_NO_THROW(next = parse_rfc3339(s["nextAttemptTime"].get<std::string>()).value());
  EXPECT_GT(next - std::chrono::system_clock::now(), 3590s) << s.dump();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(sim.requests("demo"), 1);
}

TEST_F(ProviderLimitsBinaryTest, ALockoutIsWaitedOutWithItsEndTimeShown) {
  sim::ProviderSimulator strict(clock, sim::SimConfig{.lockout_after_failures = 1, .lockout = 4s});
  strict.add_user({"demo", kPassword, "8", kSec, 0});
  ASSERT_TRUE(strict.start("127.0.0.1", 0));
  // Someone else failed a login as demo: the account is locked for a few seconds.
  sim::SimulatorTransport t(strict);
  TradovateProvider other(t, "/v1", clock, make_null_logger());
  ASSERT_EQ(other.request(demo_login(kWrong)).error().reason, "CredentialsRejected");

  start({}, strict.url() + "/v1");
  ASSERT_TRUE(eventually([&] { return provider_reason() == "LockedOut"; }))
      << status().dump() << slurp(tmp / "log");
  auto s = status();
  EXPECT_NE(s["providerState"]["message"].get<std::string>().find("locked out"), std::string::npos)
      << s.dump();
  ASSERT_TRUE(s["providerState"]["until"].is_string()) << s.dump();
  SystemTime until;
  ASSERT_NO_THROW(until = parse_rfc3339(s["providerState"]["until"].get<std::string>()).value());
  EXPECT_GT(until - std::chrono::system_clock::now(), 1s) << "the lockout's end: " << s.dump();
  EXPECT_NE(readyz().second.find("LockedOut"), std::string::npos) << readyz().second;
  EXPECT_EQ(strict.requests("demo"), 2) << "one refused login of the other client, one 423";
  // When the lockout ends, the login goes through.
  ASSERT_TRUE(eventually([&] { return status().value("state", "") == "Valid"; }, 15s))
      << status().dump();
  EXPECT_EQ(strict.requests("demo"), 3);
  strict.stop();
  expect_no_secret_printed();
}

TEST_F(ProviderLimitsBinaryTest, ASessionClosedByAnotherLoginIsReportedAndReplaced) {
  sim::ProviderSimulator quick(clock, sim::SimConfig{.lifetime = 8s});
  quick.add_user({"demo", kPassword, "8", kSec, 0});
  ASSERT_TRUE(quick.start("127.0.0.1", 0));
  start({}, quick.url() + "/v1");
  ASSERT_TRUE(eventually([&] { return quick.requests("demo") == 1; })) << slurp(tmp / "log");
  // Two other clients log in as demo; the oldest session, the sidecar's, is closed.
  sim::SimulatorTransport t(quick);
  TradovateProvider other(t, "/v1", clock, make_null_logger());
  ASSERT_TRUE(other.request(demo_login(kPassword)));
  ASSERT_TRUE(other.request(demo_login(kPassword)));
  // At its renewal (half of 8 s) the sidecar learns it, warns, and logs in again.
  ASSERT_TRUE(eventually(
      [&] { return slurp(tmp / "log").find("SessionReplaced") != std::string::npos; }, 15s))
      << slurp(tmp / "log");
  ASSERT_TRUE(eventually([&] { return quick.requests("demo") == 4; })) << slurp(tmp / "log");
  const std::string log = slurp(tmp / "log");
  EXPECT_TRUE(std::regex_search(
      log, std::regex(R"("level":"warn"[^\n]*another client logged in as the same user)")))
      << log;
  ASSERT_TRUE(eventually([&] { return provider_reason() == "SessionReplaced"; }))
      << status().dump();
  EXPECT_TRUE(status()["providerState"]["ready"].get<bool>()) << "a new token came";
  auto token = fs.read_file(tmp / "out/token");
  ASSERT_TRUE(eventually([&] {
    token = fs.read_file(tmp / "out/token");
    return token && quick.token_valid(*token);
  })) << "the file holds a token that works";
  quick.stop();
  expect_no_secret_printed();
}

// The client-side budget: the sixth login within an hour is not sent, and the wait shows.
TEST_F(ProviderLimitsBinaryTest, TheSixthLoginInAnHourWaitsAndSaysUntilWhen) {
  start();
  ASSERT_TRUE(eventually([&] { return status().value("state", "") == "Valid"; }))
      << slurp(tmp / "log");
  // Each change of the Secret is a login: refused, accepted, refused, accepted (a password
  // refused before is not sent again, so each wrong one is new).
  const std::string passwords[] = {std::string(kWrong) + "-1", kPassword,
                                   std::string(kWrong) + "-2", kPassword,
                                   std::string(kWrong) + "-3"};
  for (int i = 0; i < 4; ++i) {
    set_file("password", passwords[i]);
    ASSERT_TRUE(eventually([&] { return sim.requests("demo") == i + 2; }))
        << i << " " << status().dump() << slurp(tmp / "log");
  }
  set_file("password", passwords[4]);
  ASSERT_TRUE(eventually([&] { return provider_reason() == "RequestBudgetExhausted"; }))
      << status().dump() << slurp(tmp / "log");
  auto s = status();
  EXPECT_NE(s["providerState"]["message"].get<std::string>().find("5 logins of user demo"),
            std::string::npos)
      << s.dump();
  SystemTime next;
  ASSERT_TRUE(s["nextAttemptTime"].is_string()) << s.dump();
  ASSERT_NO_THROW(next = parse_rfc3339(s["nextAttemptTime"].get<std::string>()).value());
  EXPECT_GT(next - std::chrono::system_clock::now(), 3500s) << s.dump();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(sim.requests("demo"), 5) << "the sixth was not sent";
  EXPECT_NE(slurp(tmp / "log").find(R"("reason":"RequestBudgetExhausted")"), std::string::npos);
  expect_no_secret_printed();
}

}  // namespace
}  // namespace keyward::sidecar
