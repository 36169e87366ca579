// SidecarApp end to end in one process: the real run loop on a FakeClock, the real status
// server on port 0, real inotify on a temporary key directory, the simulator in-process.

#include "sidecar/sidecar_app.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "tests/provider_sim/simulator_transport.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_random.h"
#include "tests/support/faulty_filesystem.h"
#include "tests/support/scripted_transport.h"

namespace keyward::sidecar {
namespace {

using namespace std::chrono_literals;

// Waits until pred holds, re-checking every millisecond, for at most `limit`: a bounded wait
// on a condition (the fake clock, inotify and the run loop are on other threads).
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

class SidecarAppTest : public ::testing::Test {
 protected:
  SidecarAppTest() {
    sim.add_user({"alice", "pw-0123456789", "8", "key-one-0123456789", 42});
    // The kubelet's Secret volume layout: ..v1/apiKey, ..data -> ..v1, apiKey -> ..data/apiKey.
    PosixFilesystem real;
    EXPECT_TRUE(real.make_dirs(tmp / "key/..v1", 0700));
    EXPECT_TRUE(real.write_new_file(tmp / "key/..v1/apiKey", "key-one-0123456789", 0600));
    EXPECT_TRUE(real.symlink("..v1", tmp / "key/..data"));
    EXPECT_TRUE(real.symlink("..data/apiKey", tmp / "key/apiKey"));
  }

  SidecarConfig config() {
    SidecarConfig c;
    c.mode = Mode::Direct;
    c.provider = "tradovate";
    c.endpoint = "http://sim.invalid/v1";
    c.out_dir = tmp / "tokens";
    c.key_dir = tmp / "key";
    c.credentials.username = "alice";
    c.credentials.password = "pw-0123456789";
    c.credentials.client_id = "8";
    c.listen_port = 0;
    return c;
  }

  SidecarDeps deps() {
    return SidecarDeps{
        fs,
        clock,
        random,
        metrics,
        logger,
        [this](const HttpEndpoint&, const std::string&) -> Result<std::unique_ptr<HttpTransport>> {
          return std::unique_ptr<HttpTransport>(std::make_unique<sim::SimulatorTransport>(sim));
        },
        [this]() -> std::unique_ptr<DirectoryWatcher> {
          return std::make_unique<InotifyDirectoryWatcher>(logger);
        },
        [this](const std::string& dir) {
          return std::make_unique<TokenUseMonitor>(dir, clock, metrics, logger);
        }};
  }

  std::string get(int port, const std::string& path, int* status = nullptr) {
    httplib::Client cli("127.0.0.1", port);
    auto res = cli.Get(path.c_str());
    if (!res) return "<no answer>";
    if (status) *status = res->status;
    return res->body;
  }

  testing::TempDir tmp;
  testing::FaultyFilesystem fs;
  keyward::testing::FakeClock clock;
  keyward::testing::FakeRandom random;
  MetricsRegistry metrics;
  std::shared_ptr<MemorySink> sink = std::make_shared<MemorySink>();
  Logger logger{"sidecar", sink, std::make_shared<Redactor>(), LogLevel::Debug, &clock};
  sim::ProviderSimulator sim{clock, sim::SimConfig{.lifetime = 90min}};
};

TEST_F(SidecarAppTest, ServesStatusReadinessAndMetricsAndFollowsTheClock) {
  auto app = SidecarApp::create(config(), deps());
  ASSERT_TRUE(app) << app.error().message;
  ASSERT_TRUE((*app)->start());
  const int port = (*app)->status_port();
  ASSERT_TRUE(eventually([&] { return clock.sleepers() == 1 && sim.requests("alice") == 1; }));

  int status = 0;
  get(port, "/readyz", &status);
  EXPECT_EQ(status, 200);
  auto st = nlohmann::json::parse(get(port, "/v1/status"));
  EXPECT_EQ(st["state"], "Valid");
  EXPECT_EQ(st["provider"], "tradovate");
  EXPECT_EQ(st["secondsToExpiry"], 5400);
  EXPECT_EQ(clock.next_deadline(), clock.now() + 85min)
      << "the loop sleeps until the refresh, no polling";
  const std::string metrics_text = get(port, "/metrics");
  EXPECT_NE(metrics_text.find("keyward_sidecar_refreshes_total{kind=\"request\"} 1"),
            std::string::npos)
      << metrics_text;
  EXPECT_NE(metrics_text.find("keyward_sidecar_token_expiry_seconds"), std::string::npos);

  // 85 minutes later the loop wakes and renews.
  clock.advance(85min);
  ASSERT_TRUE(eventually([&] { return sim.renewals("alice") == 1 && clock.sleepers() == 1; }));
  EXPECT_EQ(sim.requests("alice"), 1);

  // No secret in /v1/status or the logs.
  const std::string all = get(port, "/v1/status") + get(port, "/metrics") + sink->joined();
  for (const std::string& s :
       {std::string("pw-0123456789"), std::string("key-one-0123456789"), sim.last_token()}) {
    EXPECT_EQ(all.find(s), std::string::npos) << s;
  }
  (*app)->stop();
}

TEST_F(SidecarAppTest, SecretRotatedOnDiskFetchesANewTokenAtOnce) {
  auto app = SidecarApp::create(config(), deps());
  ASSERT_TRUE(app) << app.error().message;
  ASSERT_TRUE((*app)->start());
  ASSERT_TRUE(eventually([&] { return sim.requests("alice") == 1 && clock.sleepers() == 1; }));
  clock.advance(30min);
  ASSERT_TRUE(eventually([&] { return clock.sleepers() == 1; }));

  // The kubelet's way: a new timestamped dir, then a ..data swap. The events before the swap
  // (new dir, new file) find the credentials unchanged and cause no fetch.
  sim.add_user({"alice", "pw-0123456789", "8", "key-two-0123456789", 42});
  PosixFilesystem real;
  ASSERT_TRUE(real.make_dirs(tmp / "key/..v2", 0700));
  ASSERT_TRUE(real.write_new_file(tmp / "key/..v2/apiKey", "key-two-0123456789", 0600));
  ASSERT_TRUE(real.symlink("..v2", tmp / "key/..data_tmp"));
  ASSERT_TRUE(real.rename(tmp / "key/..data_tmp", tmp / "key/..data"));

  ASSERT_TRUE(eventually([&] { return sim.requests("alice") == 2; }))
      << "no new login after the rotation";
  EXPECT_EQ(sim.renewals("alice"), 0);
  ASSERT_TRUE(eventually([&] {
    auto r = read_token_record(fs, tmp / "tokens");
    return r && r->token.token == sim.last_token();
  }));
  EXPECT_EQ(sink->joined().find("key-two-0123456789"), std::string::npos);
  (*app)->stop();
}

TEST_F(SidecarAppTest, RestartReusesTheCachedTokenWithoutARequest) {
  {
    auto first = SidecarApp::create(config(), deps());
    ASSERT_TRUE(first);
    ASSERT_TRUE((*first)->start());
    ASSERT_TRUE(eventually([&] { return sim.requests("alice") == 1 && clock.sleepers() == 1; }));
    // StatusServer::stop() hangs if called before httplib's accept loop runs (see the report);
    // one answered request proves it runs.
    get((*first)->status_port(), "/healthz");
    (*first)->stop();
  }
  clock.advance(10min);
  auto second = SidecarApp::create(config(), deps());
  ASSERT_TRUE(second);
  ASSERT_TRUE((*second)->start());
  ASSERT_TRUE(eventually([&] { return clock.sleepers() == 1; }));
  EXPECT_EQ(sim.requests("alice"), 1);
  EXPECT_TRUE((*second)->refresher().status().reused_cached_token);
  int status = 0;
  get((*second)->status_port(), "/readyz", &status);
  EXPECT_EQ(status, 200);
  (*second)->stop();
}

TEST_F(SidecarAppTest, UnreadableCredentialsStopTheStartWithOneMessage) {
  auto c = config();
  c.key_dir = tmp / "missing";
  auto app = SidecarApp::create(c, deps());
  ASSERT_FALSE(app);
  EXPECT_EQ(app.error().reason, "MissingCredentials");
  EXPECT_NE(app.error().message.find(tmp / "missing"), std::string::npos);
}

}  // namespace
}  // namespace keyward::sidecar

namespace keyward::sidecar {
namespace {

// Hands requests to a ScriptedTransport the test owns.
class Forwarding final : public HttpTransport {
 public:
  explicit Forwarding(HttpTransport& to) : to_(to) {}
  Result<HttpResponse> send(const HttpRequest& r) override { return to_.send(r); }
  Result<HttpResponse> stream(const HttpRequest& r, const std::function<bool(std::string_view)>& f,
                              std::stop_token s) override {
    return to_.stream(r, f, s);
  }

 private:
  HttpTransport& to_;
};

// Broker mode for ApiKey bots/alpha-bot, the pod's token in `sa_token_file`.
SidecarConfig in_broker_mode(SidecarConfig c, const std::string& sa_token_file) {
  c.mode = Mode::Broker;
  c.broker_url = "https://broker.invalid";
  c.apikey = "alpha-bot";
  c.ns = "bots";
  c.service_account_token_file = sa_token_file;
  EXPECT_TRUE(PosixFilesystem().write_new_file(sa_token_file, "sa-0123456789", 0600));
  return c;
}

// Every HTTP client the app makes talks to `broker`.
SidecarDeps through(SidecarDeps d, HttpTransport& broker) {
  d.make_transport = [&broker](const HttpEndpoint&,
                               const std::string&) -> Result<std::unique_ptr<HttpTransport>> {
    return std::unique_ptr<HttpTransport>(std::make_unique<Forwarding>(broker));
  };
  return d;
}

TEST_F(SidecarAppTest, BrokerModeInactiveThenActiveAndKeyRotationAsksAtOnce) {
  keyward::testing::ScriptedTransport broker;  // answers in order; the last one repeats
  const std::string expiry = format_rfc3339(clock.now() + 91min);
  broker.push(409, R"({"reason":"Inactive"})");
  broker.push(200, R"({"accessToken":"broker-at-0123456789","expirationTime":")" + expiry +
                       R"(","keyVersion":2,"provider":"tradovate","active":true})");
  broker.push(200, R"({"accessToken":"broker-at-rotated-0123","expirationTime":")" + expiry +
                       R"(","keyVersion":3,"provider":"tradovate","active":true})");
  auto c = in_broker_mode(config(), tmp / "sa-token");
  PosixFilesystem real;
  auto d = through(deps(), broker);
  auto app = SidecarApp::create(c, d);
  ASSERT_TRUE(app) << app.error().message;
  ASSERT_TRUE((*app)->start());
  const int port = (*app)->status_port();
  ASSERT_TRUE(eventually([&] { return broker.requests().size() == 1 && clock.sleepers() == 1; }));
  int status = 0;
  EXPECT_NE(get(port, "/readyz", &status).find("Inactive"), std::string::npos);
  EXPECT_EQ(status, 503);
  EXPECT_EQ(read_token_record(fs, tmp / "tokens")->state, TokenState::Inactive);

  // The key becomes active: the next poll (60s later) gets a token.
  clock.advance(60s);
  ASSERT_TRUE(eventually([&] { return broker.requests().size() == 2 && clock.sleepers() == 1; }));
  get(port, "/readyz", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(read_token_record(fs, tmp / "tokens")->token.key_version, 2);

  // The key Secret rotates: the broker is asked at once, not at the refresh time.
  ASSERT_TRUE(real.make_dirs(tmp / "key/..v2", 0700));
  ASSERT_TRUE(real.write_new_file(tmp / "key/..v2/apiKey", "key-two-0123456789", 0600));
  ASSERT_TRUE(real.symlink("..v2", tmp / "key/..data_tmp"));
  ASSERT_TRUE(real.rename(tmp / "key/..data_tmp", tmp / "key/..data"));
  ASSERT_TRUE(eventually([&] {
    auto r = read_token_record(fs, tmp / "tokens");
    return r && r->token.key_version == 3;
  }));
  EXPECT_EQ(sink->joined().find("sa-0123456789"), std::string::npos);
  EXPECT_EQ(sink->joined().find("broker-at-"), std::string::npos);
  (*app)->stop();
}

// A broker that says the key version this sidecar holds was revoked (410 KeyVersionRevoked, as
// it does when it cannot give a current token yet): the token in place is withdrawn at once,
// although it still lives, readiness says why, and the current token is delivered when ready.
TEST_F(SidecarAppTest, BrokerModeWithdrawsATokenOfARevokedKeyVersion) {
  keyward::testing::ScriptedTransport broker;
  const std::string expiry = format_rfc3339(clock.now() + 91min);
  broker.push(200, R"({"accessToken":"broker-at-v2-0123456789","expirationTime":")" + expiry +
                       R"(","keyVersion":2,"provider":"tradovate","active":true})");
  HttpResponse revoked;
  revoked.status = 410;
  revoked.headers.emplace("Retry-After", "5");
  revoked.body =
      R"json({"reason":"KeyVersionRevoked","message":"key version 2 was revoked, only 3 is valid"})json";
  broker.push(revoked);
  broker.push(200, R"({"accessToken":"broker-at-v3-0123456789","expirationTime":")" + expiry +
                       R"(","keyVersion":3,"provider":"tradovate","active":true})");
  auto c = in_broker_mode(config(), tmp / "sa-token");
  c.recheck = Seconds(30);
  PosixFilesystem real;
  auto d = through(deps(), broker);
  auto app = SidecarApp::create(c, d);
  ASSERT_TRUE(app) << app.error().message;
  ASSERT_TRUE((*app)->start());
  const int port = (*app)->status_port();
  ASSERT_TRUE(eventually([&] { return broker.requests().size() == 1 && clock.sleepers() == 1; }));
  EXPECT_EQ(read_token_record(fs, tmp / "tokens")->token.key_version, 2);
  EXPECT_EQ(broker.requests().at(0).headers.count("X-Keyward-Key-Version"), 0u)
      << "nothing held yet";

  clock.advance(30s);  // the recheck: it tells the broker it holds version 2
  ASSERT_TRUE(eventually([&] { return broker.requests().size() == 2 && clock.sleepers() == 1; }));
  const auto asked = broker.requests().at(1);
  ASSERT_EQ(asked.headers.count("X-Keyward-Key-Version"), 1u);
  EXPECT_EQ(asked.headers.find("X-Keyward-Key-Version")->second, "2");
  auto record = read_token_record(fs, tmp / "tokens");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, TokenState::Revoked);
  EXPECT_EQ(record->token.token, "") << "a token of a revoked key version stayed in place";
  EXPECT_EQ(*real.read_file(tmp / "tokens/token"), "");
  int status = 0;
  EXPECT_NE(get(port, "/readyz", &status).find("KeyVersionRevoked"), std::string::npos);
  EXPECT_EQ(status, 503);

  clock.advance(5s);  // Retry-After: the current token
  ASSERT_TRUE(eventually([&] {
    auto r = read_token_record(fs, tmp / "tokens");
    return r && r->state == TokenState::Valid && r->token.key_version == 3;
  }));
  get(port, "/readyz", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(sink->joined().find("broker-at-v"), std::string::npos);
  (*app)->stop();
}

}  // namespace
}  // namespace keyward::sidecar
