#include "common/token/token_refresher.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <future>
#include <thread>
#include <utility>

#include "common/token/provider_token_source.h"
#include "common/token/tradovate_provider.h"
#include "sidecar/credentials_loader.h"
#include "sidecar/file_token_sink.h"
#include "tests/provider_sim/simulator_transport.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_random.h"
#include "tests/support/faulty_filesystem.h"

namespace keyward::sidecar {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPassword = "correct-horse-battery-staple";
constexpr const char* kKey1 = "nt_key_one_0123456789abcdef";
constexpr const char* kKey2 = "nt_key_two_fedcba9876543210";

// Everything a sidecar in direct mode has, over a real temporary directory and the simulator.
class RefresherTest : public ::testing::Test {
 protected:
  RefresherTest() {
    sim.add_user({"alice", kPassword, "8", kKey1, 42});
    write_key(kKey1);
    PosixFilesystem real;
    EXPECT_TRUE(real.make_dirs(tmp / "creds", 0700));
    EXPECT_TRUE(real.write_new_file(tmp / "creds/username", "alice", 0600));
    EXPECT_TRUE(real.write_new_file(tmp / "creds/password", std::string(kPassword) + "\n", 0600));
    EXPECT_TRUE(real.write_new_file(tmp / "creds/clientId", "8", 0600));
    EXPECT_TRUE(real.write_new_file(tmp / "creds/appId", "Bot", 0600));
    start = clock.now();
  }

  void write_key(const std::string& key) {
    PosixFilesystem real;
    EXPECT_TRUE(real.make_dirs(tmp / "key", 0700));
    (void)real.remove_all(tmp / "key/apiKey");
    EXPECT_TRUE(real.write_new_file(tmp / "key/apiKey", key, 0600));
  }

  // One sidecar instance (a restart builds a second one over the same directory).
  struct Sidecar {
    Sidecar(RefresherTest& t, RefresherOptions options = {})
        : loader(t.fs, {t.tmp / "key", t.tmp / "creds", {}}, t.logger.redactor()),
          provider(t.transport, "/v1", t.clock, t.logger),
          source(
              provider, [this] { return loader.load(); }, t.logger),
          writer(t.fs, t.clock, t.tmp / "tokens", t.logger),
          files(writer, {}),
          sink(files),
          refresher(source, sink, t.random, metrics, t.logger, std::move(options)) {}
    CredentialsLoader loader;
    TradovateProvider provider;
    ProviderTokenSource source;
    AtomicWriter writer;
    TokenFileWriter files;
    FileTokenSink sink;
    MetricsRegistry metrics;
    TokenRefresher refresher;
  };

  TokenRecord on_disk() {
    auto r = read_token_record(fs, tmp / "tokens");
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : TokenRecord{};
  }
  std::string token_file() {
    auto t = fs.read_file(tmp / "tokens/token");
    return t ? *t : "<missing>";
  }

  // Drives the sidecar like its run loop would, in `tick` steps of fake time until `until`,
  // calling step() whenever it is due; `each` runs at every tick.
  void drive(Sidecar& s, SystemTime until, Seconds tick, const std::function<void()>& each = {}) {
    SystemTime next = clock.now();
    while (clock.now() < until) {
      if (clock.now() >= next) next = s.refresher.step(clock.now());
      if (each) each();
      clock.advance(std::min<std::chrono::system_clock::duration>(
          tick, std::max<std::chrono::system_clock::duration>(next - clock.now(), 1s)));
    }
  }

  keyward::testing::TempDir tmp;
  keyward::testing::FaultyFilesystem fs;
  keyward::testing::FakeClock clock;
  keyward::testing::FakeRandom random;
  std::shared_ptr<MemorySink> sink = std::make_shared<MemorySink>();
  Logger logger{"sidecar", sink, std::make_shared<Redactor>(), LogLevel::Debug, &clock};
  sim::ProviderSimulator sim{clock,
                             sim::SimConfig{.lifetime = 90min, .request_budget_per_hour = 5}};
  sim::SimulatorTransport transport{sim};
  SystemTime start;
};

// A broker as the source: it answers from memory, so the sidecar may ask often.
class MemorySource final : public TokenSource {
 public:
  explicit MemorySource(const keyward::testing::FakeClock& clock) : clock_(clock) {}
  Result<FetchResult> fetch(const AccessToken*) override {
    ++fetches;
    FetchResult r;
    if (inactive) {
      r.kind = FetchResult::Kind::Inactive;
      r.message = "inactive";
      return r;
    }
    r.token.token = token;
    r.token.provider = "broker";
    r.token.issued_at = clock_.now();
    r.token.expires_at = expires_at;
    return r;
  }
  void credentials_changed() override {}
  [[nodiscard]] bool accepts_cached(const Delivery&) const override { return true; }
  [[nodiscard]] std::string fingerprint() const override { return ""; }
  [[nodiscard]] std::string provider() const override { return "broker"; }

  const keyward::testing::FakeClock& clock_;
  std::string token = "broker-token-one";
  SystemTime expires_at;
  bool inactive = false;
  int fetches = 0;
};

// A refresher in broker mode (options.recheck 30 s) fed by `source`, writing token files to dir.
struct Rechecking {
  Rechecking(Filesystem& fs, Clock& clock, Random& random, Logger& logger, const std::string& dir,
             MemorySource& source)
      : writer(fs, clock, dir, logger),
        files(writer, {}),
        sink(files),
        refresher(source, sink, random, metrics, logger, options()) {}
  static RefresherOptions options() {
    RefresherOptions o;
    o.recheck = 30s;
    return o;
  }
  AtomicWriter writer;
  TokenFileWriter files;
  MetricsRegistry metrics;
  FileTokenSink sink;
  TokenRefresher refresher;
};

// A token said to live ten years is refused and the one in place kept (it would never be
// refreshed, so a session the provider ended would go unnoticed); so is one already expired.
TEST_F(RefresherTest, ATokenTenYearsAheadOrAlreadyPastIsRefusedAndTheOldOneKept) {
  MemorySource source(clock);
  source.expires_at = clock.now() + 90min;
  Rechecking broker(fs, clock, random, logger, tmp / "tokens", source);
  auto& refresher = broker.refresher;
  auto& metrics = broker.metrics;
  refresher.step(clock.now());
  ASSERT_EQ(token_file(), "broker-token-one");
  for (const auto expiry : {clock.now() + std::chrono::hours(24 * 3650), clock.now() - 1min}) {
    source.token = "broker-token-bad";
    source.expires_at = expiry;
    clock.advance(30s);
    refresher.step(clock.now());
    EXPECT_EQ(token_file(), "broker-token-one") << "the old token was replaced";
    EXPECT_EQ(on_disk().state, TokenState::Valid);
  }
  EXPECT_EQ(metrics.counter("keyward_sidecar_refresh_failures_total", "")
                .value({{"reason", "InvalidProviderAnswer"}}),
            2);
  EXPECT_NE(sink->joined().find("h Keyward accepts; check the provider's answer and clock"),
            std::string::npos);
}

// options.recheck (broker mode): the source is asked at least every 30 s while the token is
// fresh; the same token is not written again, a new one or a deactivation is taken at once.
TEST_F(RefresherTest, RecheckAsksTheBrokerOftenAndWritesOnlyWhatChanged) {
  MemorySource source(clock);
  source.expires_at = clock.now() + 90min;
  Rechecking broker(fs, clock, random, logger, tmp / "tokens", source);
  auto& refresher = broker.refresher;
  auto& metrics = broker.metrics;
  SystemTime next = refresher.step(clock.now());
  EXPECT_EQ(source.fetches, 1);
  EXPECT_EQ(token_file(), "broker-token-one");
  EXPECT_EQ(next, clock.now() + 30s);
  const int writes = fs.writes();
  clock.advance(30s);
  next = refresher.step(clock.now());
  EXPECT_EQ(source.fetches, 2);
  EXPECT_EQ(fs.writes(), writes) << "the same token was written again";
  EXPECT_EQ(next, clock.now() + 30s);
  // The broker logged in with a rotated key: the next recheck brings its token.
  source.token = "broker-token-two";
  clock.advance(30s);
  refresher.step(clock.now());
  EXPECT_EQ(token_file(), "broker-token-two");
  // Deactivated, then reactivated: both within one recheck.
  source.inactive = true;
  clock.advance(30s);
  refresher.step(clock.now());
  EXPECT_EQ(on_disk().state, TokenState::Inactive);
  source.inactive = false;
  clock.advance(30s);
  refresher.step(clock.now());
  EXPECT_EQ(on_disk().state, TokenState::Valid);
  // Without recheck (direct mode): nothing until the refresh time.
  RefresherOptions quiet;
  MemorySource once(clock);
  once.expires_at = clock.now() + 90min;
  FileTokenSink direct_sink(broker.files);
  TokenRefresher direct(once, direct_sink, random, metrics, logger, quiet);
  direct.step(clock.now());
  clock.advance(30min);
  direct.step(clock.now());
  EXPECT_EQ(once.fetches, 1);
}

TEST_F(RefresherTest, NinetyMinuteTokenIsRefreshedAtEightyFiveMinutes) {
  Sidecar s(*this);
  const SystemTime next = s.refresher.step(clock.now());
  EXPECT_EQ(next, start + 85min);
  const auto first = on_disk();
  EXPECT_EQ(first.state, TokenState::Valid);
  EXPECT_EQ(first.token.token, sim.last_token());
  EXPECT_EQ(token_file(), first.token.token);
  EXPECT_TRUE(s.refresher.ready(clock.now()));

  clock.set(start + 85min - 1s);
  EXPECT_EQ(s.refresher.step(clock.now()), start + 85min) << "not due yet: nothing happens";
  EXPECT_EQ(sim.requests("alice") + sim.renewals("alice"), 1);

  clock.set(start + 85min);
  EXPECT_EQ(s.refresher.step(clock.now()), start + 85min + 85min);
  EXPECT_NE(on_disk().token.token, first.token.token);
  EXPECT_EQ(s.metrics.counter("keyward_sidecar_refreshes_total", "").value({{"kind", "renew"}}), 1);
}

TEST_F(RefresherTest, JitterMovesTheRefreshEarlierWithinTenPercentOfTheLead) {
  random.set(0.5);
  Sidecar s(*this);
  EXPECT_EQ(s.refresher.step(clock.now()), start + 85min - 15s);
}

TEST_F(RefresherTest, RenewalIsPreferredOverANewLogin) {
  Sidecar s(*this);
  drive(s, start + 6h, 60s);
  EXPECT_EQ(sim.requests("alice"), 1) << "one login, then only renewals";
  EXPECT_GE(sim.renewals("alice"), 4);
  EXPECT_EQ(sim.live_sessions("alice"), 1);
  EXPECT_TRUE(s.refresher.ready(clock.now()));
}

TEST_F(RefresherTest, RefusedRenewalFallsBackToALogin) {
  Sidecar s(*this);
  s.refresher.step(clock.now());
  sim.set_renewals_allowed(false);
  clock.set(start + 85min);
  s.refresher.step(clock.now());
  EXPECT_EQ(sim.requests("alice"), 2);
  EXPECT_EQ(on_disk().token.token, sim.last_token());
}

TEST_F(RefresherTest, PenaltyIsHonouredAndRetriedWithTheTicket) {
  sim.penalize_next_login(30s);
  Sidecar s(*this);
  EXPECT_EQ(s.refresher.step(clock.now()), start + 30s);
  EXPECT_FALSE(s.refresher.ready(clock.now()));
  clock.set(start + 29s);
  s.refresher.step(clock.now());
  EXPECT_EQ(sim.requests("alice"), 1) << "no retry before p-time";
  clock.set(start + 30s);
  s.refresher.step(clock.now());
  EXPECT_EQ(sim.requests("alice"), 2);
  EXPECT_EQ(sim.failed_requests("alice"), 1) << "the retry with the ticket succeeded";
  EXPECT_TRUE(s.refresher.ready(clock.now()));
  EXPECT_EQ(s.metrics.counter("keyward_sidecar_penalties_total", "").value({{"kind", "p-ticket"}}),
            1);
}

TEST_F(RefresherTest, CaptchaStopsRetriesAndSaysAPersonMustLogIn) {
  sim.set_captcha(true);
  Sidecar s(*this);
  EXPECT_EQ(s.refresher.step(clock.now()), SystemTime::max());
  clock.advance(3h);
  s.refresher.step(clock.now());
  EXPECT_EQ(sim.requests("alice"), 1);
  auto r = s.refresher.ready(clock.now());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "CaptchaRequired");
  EXPECT_NE(r.error().message.find("a person must log in"), std::string::npos);
  EXPECT_TRUE(s.refresher.status().needs_person);
  // A person fixed it and the Secret changed: retries resume.
  sim.set_captcha(false);
  s.refresher.credentials_changed();
  s.refresher.step(clock.now());
  EXPECT_TRUE(s.refresher.ready(clock.now()));
}

TEST_F(RefresherTest, RateLimitedWaitsExactlyTheRetryAfterEvenPastExpiry) {
  Sidecar s(*this);
  s.refresher.step(clock.now());
  ASSERT_TRUE(s.refresher.ready(clock.now()));
  // At the refresh (85 min) the provider answers 429 Retry-After: 600, past the expiry (90 min).
  sim.rate_limit_next(1, "600");
  clock.set(start + 85min);
  s.refresher.step(clock.now());
  const int sent = sim.total_requests();
  const auto st = s.refresher.status();
  EXPECT_EQ(st.provider_state.reason, "RateLimited");
  EXPECT_FALSE(st.provider_state.ready);
  ASSERT_TRUE(st.provider_state.until);
  EXPECT_EQ(*st.provider_state.until, start + 95min);
  clock.set(start + 86min);
  s.refresher.credentials_changed();  // a rotation meanwhile does not cut the wait short
  drive(s, start + 95min - 1s, 1s);
  EXPECT_EQ(sim.total_requests(), sent) << "nothing before Retry-After, not even at expiry";
  auto r = s.refresher.ready(clock.now());
  ASSERT_FALSE(r) << "the token expired meanwhile";
  EXPECT_NE(r.error().message.find("RateLimited"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("next request at"), std::string::npos);
  drive(s, start + 96min, 1s);
  EXPECT_TRUE(s.refresher.ready(clock.now()));
  EXPECT_EQ(s.refresher.status().provider_state.reason, "TokenIssued");
}

TEST_F(RefresherTest, RejectedCredentialsAreNotRetriedUntilTheSecretChanges) {
  PosixFilesystem real;
  (void)real.remove_all(tmp / "creds/password");
  ASSERT_TRUE(real.write_new_file(tmp / "creds/password", "wrong-password-123", 0600));
  Sidecar s(*this);
  drive(s, start + 3h, 30s);
  EXPECT_EQ(sim.requests("alice"), 1) << "one refusal, then silence (not 0, 1, 4, 11 s...)";
  const auto st = s.refresher.status();
  EXPECT_TRUE(st.blocked_until_credentials_change);
  EXPECT_EQ(st.provider_state.reason, "CredentialsRejected");
  EXPECT_NE(st.provider_state.message.find("fix username and password"), std::string::npos);
  auto r = s.refresher.ready(clock.now());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "CredentialsRejected");
  EXPECT_NE(r.error().message.find("nothing is sent until the credentials change"),
            std::string::npos);
  // Someone fixes the Secret: one login, and the token is there.
  (void)real.remove_all(tmp / "creds/password");
  ASSERT_TRUE(real.write_new_file(tmp / "creds/password", kPassword, 0600));
  s.refresher.credentials_changed();
  s.refresher.step(clock.now());
  EXPECT_TRUE(s.refresher.ready(clock.now()));
  EXPECT_EQ(sim.requests("alice"), 2);
  EXPECT_EQ(sink->joined().find("wrong-password-123"), std::string::npos);
}

TEST_F(RefresherTest, AClosedSessionsTokenIsTakenOutOfServiceWhenNoNewOneComes) {
  Sidecar s(*this);
  s.refresher.step(clock.now());
  const std::string first = on_disk().token.token;
  // Two other clients log in as alice: the simulator, like Tradovate, closes the oldest session.
  for (int i = 0; i < 2; ++i) {
    sim::SimulatorTransport t(sim);
    TradovateProvider other(t, "/v1", clock, logger);
    Credentials c;
    c.username = "alice";
    c.password = kPassword;
    c.client_id = "8";
    c.api_key = kKey1;
    ASSERT_TRUE(other.request(c));
  }
  EXPECT_FALSE(sim.token_valid(first));
  sim.penalize_next_login(10min);  // ... and the login that follows must wait
  clock.set(start + 85min);
  s.refresher.step(clock.now());
  EXPECT_EQ(on_disk().state, TokenState::Expired) << "a revoked token is not served";
  EXPECT_EQ(token_file(), "");
  EXPECT_FALSE(s.refresher.ready(clock.now()));
  EXPECT_NE(sink->joined().find("another client logged in as the same user"), std::string::npos);
  drive(s, start + 96min, 10s);
  EXPECT_TRUE(s.refresher.ready(clock.now()));
  EXPECT_NE(on_disk().token.token, first);
}

TEST_F(RefresherTest, ThirtyMinuteOutageLeavesNoGap) {
  Sidecar s(*this);
  sim.add_outage_window(start + 58min, start + 88min);
  SystemTime first_invalid = SystemTime::max();
  drive(s, start + 4h, 10s, [&] {
    if (!s.refresher.ready(clock.now()) && first_invalid == SystemTime::max())
      first_invalid = clock.now();
  });
  EXPECT_EQ(first_invalid, SystemTime::max()) << "invalid from " << format_rfc3339(first_invalid);
  EXPECT_EQ(sim.requests("alice"), 1) << "the outage burned no login budget";
  EXPECT_GT(s.metrics.counter("keyward_sidecar_refresh_failures_total", "")
                .value({{"reason", "Unreachable"}}),
            0);
}

TEST_F(RefresherTest, TokenExpiresWithNoReplacementFilesSaySoAndReadinessFails) {
  Sidecar s(*this);
  s.refresher.step(clock.now());
  sim.set_outage(true);
  drive(s, start + 95min, 30s);
  const auto rec = on_disk();
  EXPECT_EQ(rec.state, TokenState::Expired);
  EXPECT_EQ(token_file(), "");
  auto r = s.refresher.ready(clock.now());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "TokenExpired");
  // The provider comes back: a fresh login (the old session cannot renew an expired token).
  sim.set_outage(false);
  drive(s, start + 100min, 30s);
  EXPECT_TRUE(s.refresher.ready(clock.now()));
  EXPECT_EQ(on_disk().state, TokenState::Valid);
}

TEST_F(RefresherTest, SecretRotatedMidLifeFetchesANewTokenAtOnce) {
  Sidecar s(*this);
  s.refresher.step(clock.now());
  const auto before = on_disk();
  clock.set(start + 30min);
  write_key(kKey2);
  sim.add_user({"alice", kPassword, "8", kKey2, 42});  // the provider knows the new key
  s.refresher.credentials_changed();
  s.refresher.step(clock.now());
  const auto after = on_disk();
  EXPECT_NE(after.token.token, before.token.token);
  EXPECT_NE(after.credentials_fingerprint, before.credentials_fingerprint);
  EXPECT_EQ(sim.requests("alice"), 2) << "a new login with the new key, not a renewal";
  EXPECT_EQ(sim.renewals("alice"), 0);
}

TEST_F(RefresherTest, RestartReusesTheCachedToken) {
  {
    Sidecar first(*this);
    first.refresher.step(clock.now());
  }
  clock.set(start + 20min);
  Sidecar second(*this);
  auto cached = read_token_record(fs, tmp / "tokens");
  ASSERT_TRUE(cached);
  EXPECT_TRUE(second.refresher.adopt_cached(to_delivery(*cached), clock.now()));
  EXPECT_EQ(second.refresher.step(clock.now()), start + 85min);
  EXPECT_EQ(sim.requests("alice"), 1) << "the request counter did not move";
  EXPECT_TRUE(second.refresher.ready(clock.now()));
  EXPECT_TRUE(second.refresher.status().reused_cached_token);
  // At refresh time the cached token is renewed, not replaced by a login.
  clock.set(start + 85min);
  second.refresher.step(clock.now());
  EXPECT_EQ(sim.requests("alice"), 1);
  EXPECT_EQ(sim.renewals("alice"), 1);
}

TEST_F(RefresherTest, CachedTokenOfOtherCredentialsOrExpiredIsNotReused) {
  {
    Sidecar first(*this);
    first.refresher.step(clock.now());
  }
  auto cached = *read_token_record(fs, tmp / "tokens");
  write_key(kKey2);
  Sidecar other_key(*this);
  EXPECT_FALSE(other_key.refresher.adopt_cached(to_delivery(cached), clock.now()));
  write_key(kKey1);
  Sidecar late(*this);
  EXPECT_FALSE(late.refresher.adopt_cached(to_delivery(cached), start + 91min));
}

TEST_F(RefresherTest, GarbageAndTruncatedAnswersBackOffThenRecover) {
  sim.queue_fault(sim::Fault::Garbage);
  sim.queue_fault(sim::Fault::Truncated);
  Sidecar s(*this);
  const SystemTime r1 = s.refresher.step(clock.now());
  EXPECT_EQ(r1, start + 1s) << "first backoff: 2s x jitter factor 0.5";
  clock.set(r1);
  const SystemTime r2 = s.refresher.step(clock.now());
  EXPECT_EQ(r2, r1 + 2s) << "exponential: 4s x 0.5";
  clock.set(r2);
  s.refresher.step(clock.now());
  EXPECT_TRUE(s.refresher.ready(clock.now()));
  EXPECT_EQ(s.metrics.counter("keyward_sidecar_refresh_failures_total", "")
                .value({{"reason", "InvalidProviderAnswer"}}),
            2);
}

TEST_F(RefresherTest, BackoffIsCapped) {
  sim.set_outage(true);
  Sidecar s(*this, RefresherOptions{.backoff_initial = 2s, .backoff_max = 60s});
  random.set(0.999);
  SystemTime prev = clock.now();
  std::chrono::system_clock::duration largest{};
  for (int i = 0; i < 12; ++i) {
    const SystemTime next = s.refresher.step(clock.now());
    largest = std::max(largest, next - prev);
    clock.set(next);
    prev = next;
  }
  EXPECT_LE(largest, 60s);
  EXPECT_GE(largest, 59s);
}

TEST_F(RefresherTest, DiskFullKeepsTheOldTokenAndCostsNoExtraRequest) {
  Sidecar s(*this);
  s.refresher.step(clock.now());
  const auto before = on_disk();
  clock.set(start + 85min);
  fs.fail_writes(ENOSPC);
  const SystemTime retry = s.refresher.step(clock.now());
  EXPECT_EQ(sim.renewals("alice"), 1);
  EXPECT_EQ(on_disk().token.token, before.token.token) << "the old token stays in place";
  EXPECT_EQ(token_file(), before.token.token);
  EXPECT_TRUE(s.refresher.ready(clock.now())) << "the old token still has life";
  EXPECT_NE(s.refresher.status().last_error.find("sizeLimit"), std::string::npos)
      << s.refresher.status().last_error;
  fs.fail_writes(0);
  clock.set(retry);
  s.refresher.step(clock.now());
  EXPECT_EQ(sim.renewals("alice"), 1) << "the renewed token was written, not fetched again";
  EXPECT_EQ(sim.requests("alice"), 1);
  EXPECT_NE(on_disk().token.token, before.token.token);
}

// A full tmpfs that outlasts the token in hand (and the one fetched but not written): when space
// returns, the files are told at once that the old token expired, a new token is fetched (the
// unwritten one ran out too) and delivery resumes by itself; the files never claim a validity
// that has ended once they can be written.
TEST_F(RefresherTest, AFullTmpfsThatOutlastsTheTokenResumesByItself) {
  Sidecar s(*this);
  s.refresher.step(clock.now());
  fs.fail_writes(ENOSPC);
  drive(s, start + 180min, 30s);
  EXPECT_FALSE(s.refresher.ready(clock.now())) << "ready with every token expired";
  fs.fail_writes(0);
  bool claimed = false;
  drive(s, start + 185min, 30s, [&] {
    auto rec = read_token_record(fs, tmp / "tokens");
    if (rec && rec->state == TokenState::Valid && rec->token.expires_at <= clock.now())
      claimed = true;
  });
  EXPECT_FALSE(claimed) << "the files said Valid for an expired token after space returned";
  EXPECT_TRUE(s.refresher.ready(clock.now())) << s.refresher.status().last_error;
  const auto rec = on_disk();
  EXPECT_EQ(rec.state, TokenState::Valid);
  EXPECT_GT(rec.token.expires_at, clock.now());
}

TEST_F(RefresherTest, ClockSkewIsMeasuredAndCorrected) {
  // The provider's clock runs 2 minutes behind ours: its Date header says now-120s and its
  // expiry is 90 minutes after *its* now. Our refresh must happen 85 minutes after issue.
  struct Skewed final : Clock {
    explicit Skewed(const Clock& c) : base(c) {}
    SystemTime now() const override { return base.now() - 120s; }
    WakeReason sleep_until(SystemTime, Wakeup&, std::stop_token) override {
      return WakeReason::Deadline;
    }
    const Clock& base;
  } provider_clock(clock);
  sim::ProviderSimulator skewed_sim(provider_clock, sim::SimConfig{.lifetime = 90min});
  skewed_sim.add_user({"alice", kPassword, "8", kKey1, 42});
  sim::SimulatorTransport skewed_transport(skewed_sim);
  CredentialsLoader loader(fs, {tmp / "key", tmp / "creds", {}}, logger.redactor());
  TradovateProvider provider(skewed_transport, "/v1", clock, logger);
  ProviderTokenSource source(
      provider, [&] { return loader.load(); }, logger);
  AtomicWriter writer(fs, clock, tmp / "tokens", logger);
  TokenFileWriter files(writer, {});
  MetricsRegistry metrics;
  FileTokenSink file_sink(files);
  TokenRefresher refresher(source, file_sink, random, metrics, logger, {});
  // Corrected by 120s minus the 1s the Date header's resolution may add: errs 1s early.
  EXPECT_EQ(refresher.step(clock.now()), start + 85min - 1s);
  EXPECT_DOUBLE_EQ(refresher.status().clock_skew_seconds, 120.0);
  EXPECT_DOUBLE_EQ(metrics.gauge("keyward_sidecar_clock_skew_seconds", "").value(), 120.0);
  EXPECT_NE(sink->joined().find("clocks disagree"), std::string::npos) << "large skew logged";
}

// A source whose fetch blocks until the test releases it.
class BlockingSource final : public TokenSource {
 public:
  explicit BlockingSource(const Clock& clock) : clock_(clock) {}
  Result<FetchResult> fetch(const AccessToken*) override {
    entered.set_value();
    release.get_future().wait();
    FetchResult r;
    r.token.token = "blocking-token-" + std::to_string(++n_);
    r.token.expires_at = clock_.now() + std::chrono::minutes(90);
    r.token.provider = "test";
    return r;
  }
  void credentials_changed() override {}
  bool accepts_cached(const Delivery&) const override { return false; }
  std::string fingerprint() const override { return ""; }
  std::string provider() const override { return "test"; }
  std::promise<void> entered;
  std::promise<void> release;

 private:
  const Clock& clock_;
  int n_ = 0;
};

TEST_F(RefresherTest, ReadinessAnswersWhileAFetchHangsAndAChangedSecretDiscardsTheAnswer) {
  BlockingSource source(clock);
  AtomicWriter writer(fs, clock, tmp / "tokens", logger);
  TokenFileWriter files(writer, {});
  MetricsRegistry metrics;
  FileTokenSink file_sink(files);
  TokenRefresher refresher(source, file_sink, random, metrics, logger, {});
  std::jthread loop([&] { refresher.step(clock.now()); });
  source.entered.get_future().wait();
  // The fetch is in flight: status and readiness do not wait for it.
  EXPECT_EQ(refresher.ready(clock.now()).error().reason, "NoToken");
  EXPECT_EQ(refresher.status().state, "Starting");
  refresher.credentials_changed();
  source.release.set_value();
  loop.join();
  EXPECT_FALSE(refresher.has_valid_token(clock.now()))
      << "an answer for the old credentials is dropped";
  EXPECT_FALSE(fs.exists(tmp / "tokens/token"));
}

TEST_F(RefresherTest, SecretsNeverReachTheLogs) {
  sim.penalize_next_login(5s);
  Sidecar s(*this);
  drive(s, start + 4h, 60s);
  write_key(kKey2);
  sim.add_user({"alice", kPassword, "8", kKey2, 42});
  s.refresher.credentials_changed();
  s.refresher.step(clock.now());
  const std::string logs = sink->joined();
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(logs.find(kPassword), std::string::npos);
  EXPECT_EQ(logs.find(kKey1), std::string::npos);
  EXPECT_EQ(logs.find(kKey2), std::string::npos);
  EXPECT_EQ(logs.find("sim-at-"), std::string::npos) << "no access token in the logs";
  EXPECT_EQ(logs.find("sim-md-"), std::string::npos);
  EXPECT_EQ(logs.find("ticket-"), std::string::npos);
}

}  // namespace
}  // namespace keyward::sidecar
