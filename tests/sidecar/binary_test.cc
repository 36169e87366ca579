// The real keyward-sidecar binary: SIGTERM ends it within a second, --once against the
// simulator over HTTP, a restart reuses the cached token, and the exec shim.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "common/io/unique_fd.h"
#include "sidecar/exec_shim.h"
#include "sidecar/shim_installer.h"
#include "sidecar/token_files.h"
#include "tests/provider_sim/provider_simulator.h"
#include "tests/support/child_process.h"
#include "tests/support/faulty_filesystem.h"

extern char** environ;

namespace keyward::sidecar {
namespace {

using namespace std::chrono_literals;

using Process = keyward::testing::ChildProcess;

std::string slurp(const std::string& path) {
  PosixFilesystem fs;
  auto r = fs.read_file(path);
  return r ? *r : "";
}

class BinaryTest : public ::testing::Test {
 protected:
  Status wait_token(const std::string& dir) {
    RealClock clock;
    std::stop_source never;
    return wait_for_valid_token(fs, clock, dir, 10s, never.get_token(), make_null_logger());
  }
  testing::TempDir tmp;
  PosixFilesystem fs;
};

TEST_F(BinaryTest, SigtermEndsItWithinASecond) {
  ASSERT_TRUE(fs.make_dirs(tmp / "out", 0750));
  Process p({KEYWARD_SIDECAR_BINARY, "run", "--provider", "none", "--out", tmp / "out", "--listen",
             "127.0.0.1:0"},
            {"KEYWARD_API_KEY=static-key-0123456789"}, tmp / "log");
  ASSERT_TRUE(p.started());
  ASSERT_TRUE(wait_token(tmp / "out")) << slurp(tmp / "log");
  EXPECT_EQ(slurp(tmp / "out/token"), "static-key-0123456789");
  const auto t0 = std::chrono::steady_clock::now();
  p.signal(SIGTERM);
  auto code = p.wait_exit(1000ms);
  ASSERT_TRUE(code.has_value()) << "still running 1s after SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  const std::string log = slurp(tmp / "log");
  EXPECT_EQ(log.find("static-key-0123456789"), std::string::npos) << log;
  EXPECT_NE(log.find("\"settings\""), std::string::npos)
      << "startup log lists the settings' sources";
  EXPECT_NE(log.find(R"({"setting":"api-key","source":"environment"})"), std::string::npos) << log;
}

// "Last use": an app opening the token file shows up in /v1/status and /metrics.
TEST_F(BinaryTest, StatusShowsWhenAnAppLastReadTheToken) {
  ASSERT_TRUE(fs.make_dirs(tmp / "out", 0750));
  Process p({KEYWARD_SIDECAR_BINARY, "run", "--provider", "none", "--out", tmp / "out", "--listen",
             "127.0.0.1:0"},
            {"KEYWARD_API_KEY=static-key-0123456789"}, tmp / "log");
  ASSERT_TRUE(p.started());
  // Not wait_token(): it reads token.json, which is a use. Watch the status endpoint instead.
  std::smatch m;
  std::string log;
  for (int i = 0; i < 500; ++i) {
    log = slurp(tmp / "log");
    if (std::regex_search(log, m, std::regex(R"re("address":"127\.0\.0\.1:([0-9]+)")re"))) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_FALSE(m.empty()) << "no status server address in the log: " << log;
  httplib::Client client("127.0.0.1", std::stoi(m[1]));
  auto status = [&] {
    auto res = client.Get("/v1/status");
    return res ? nlohmann::json::parse(res->body) : nlohmann::json::object();
  };
  for (int i = 0; i < 500 && status().value("state", "") != "Valid"; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(status().value("state", ""), "Valid") << status().dump();
  ASSERT_TRUE(status().contains("lastUsedTime")) << status().dump();
  EXPECT_TRUE(status()["lastUsedTime"].is_null()) << "nobody has read the token yet";

  EXPECT_EQ(slurp(tmp / "out/token"), "static-key-0123456789");  // the app reads its token
  nlohmann::json s;
  for (int i = 0; i < 500; ++i) {
    s = status();
    if (s["lastUsedTime"].is_string()) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(s["lastUsedTime"].is_string()) << s.dump();
  SystemTime used;
  ASSERT_NO_THROW(used = parse_rfc3339(s["lastUsedTime"].get<std::string>()).value());
  EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - used), 60s);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_TRUE(std::regex_search(
      metrics->body, std::regex("keyward_sidecar_token_last_use_timestamp_seconds [1-9]")))
      << metrics->body;
}

// spec.active: false reaches a direct-mode sidecar through the key Secret (data.active, as the
// kubelet projects it): the files go Inactive, readiness says so, the process keeps running (the
// bot's exit logic runs on), and reactivation resumes delivery. Provider none: the key itself.
TEST_F(BinaryTest, DeactivationStopsDeliveryAndReactivationResumesIt) {
  const std::string key_dir = tmp / "key";
  ASSERT_TRUE(fs.make_dirs(key_dir, 0750));
  // As the kubelet updates a Secret volume: a new file renamed over the old.
  auto put = [&](const std::string& name, const std::string& value) {
    ASSERT_TRUE(fs.write_new_file(key_dir + "/." + name + ".tmp", value, 0640));
    ASSERT_TRUE(fs.rename(key_dir + "/." + name + ".tmp", key_dir + "/" + name));
  };
  put("apiKey", "nt_direct-key-0123456789abcdef");
  put("keyVersion", "3");
  put("active", "true");
  ASSERT_TRUE(fs.make_dirs(tmp / "out", 0750));
  Process p({KEYWARD_SIDECAR_BINARY, "run", "--provider", "none", "--key-dir", key_dir, "--out",
             tmp / "out", "--listen", "127.0.0.1:0"},
            {}, tmp / "log");
  ASSERT_TRUE(p.started());
  ASSERT_TRUE(wait_token(tmp / "out")) << slurp(tmp / "log");
  EXPECT_EQ(slurp(tmp / "out/token"), "nt_direct-key-0123456789abcdef");
  std::smatch m;
  const std::string started = slurp(tmp / "log");
  ASSERT_TRUE(std::regex_search(started, m, std::regex(R"re("address":"127\.0\.0\.1:([0-9]+)")re")))
      << started;
  httplib::Client client("127.0.0.1", std::stoi(m[1]));
  auto state = [&] {
    auto j = nlohmann::json::parse(slurp(tmp / "out/token.json"), nullptr, false);
    return j.is_discarded() ? std::string() : j.value("state", "");
  };
  auto eventually = [](auto pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  };

  put("active", "false");
  ASSERT_TRUE(eventually([&] { return state() == "Inactive"; })) << slurp(tmp / "log");
  EXPECT_EQ(slurp(tmp / "out/token"), "") << "an inactive key is not delivered";
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("Inactive"), std::string::npos) << ready->body;
  EXPECT_FALSE(p.wait_exit(100ms)) << "the sidecar must keep running while inactive";

  put("active", "true");
  ASSERT_TRUE(eventually([&] { return state() == "Valid"; })) << slurp(tmp / "log");
  EXPECT_EQ(slurp(tmp / "out/token"), "nt_direct-key-0123456789abcdef");
  ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(slurp(tmp / "log").find("nt_direct-key-0123456789abcdef"), std::string::npos);
}

TEST_F(BinaryTest, BadSettingsStopItWithOneLine) {
  Process p({KEYWARD_SIDECAR_BINARY, "run", "--mode", "broker", "--provider", "tradovate"}, {},
            tmp / "log");
  ASSERT_TRUE(p.started());
  auto code = p.wait_exit(5000ms);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 2);
  const std::string log = slurp(tmp / "log");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  EXPECT_NE(log.find("MissingSetting"), std::string::npos) << log;
}

TEST_F(BinaryTest, OnceAgainstTheSimulatorThenARestartReusesTheToken) {
  RealClock clock;
  sim::ProviderSimulator sim(clock, sim::SimConfig{.lifetime = 1h});
  sim.add_user({"demo", "demo-password-123", "8", "demo-sec-0123456789", 0});
  auto port = sim.start("127.0.0.1", 0);
  ASSERT_TRUE(port);
  ASSERT_TRUE(fs.make_dirs(tmp / "creds", 0700));
  ASSERT_TRUE(fs.write_new_file(tmp / "creds/username", "demo", 0600));
  ASSERT_TRUE(fs.write_new_file(tmp / "creds/password", "demo-password-123", 0600));
  ASSERT_TRUE(fs.write_new_file(tmp / "creds/clientId", "8", 0600));
  ASSERT_TRUE(fs.write_new_file(tmp / "creds/apiKey", "demo-sec-0123456789", 0600));
  const std::vector<std::string> args{KEYWARD_SIDECAR_BINARY,
                                      "run",
                                      "--once",
                                      "--provider",
                                      "tradovate",
                                      "--endpoint",
                                      sim.url() + "/v1",
                                      "--credentials-dir",
                                      tmp / "creds",
                                      "--out",
                                      tmp / "out",
                                      "--listen",
                                      "off"};
  for (int run = 0; run < 2; ++run) {
    Process p(args, {}, tmp / "log");
    ASSERT_TRUE(p.started());
    auto code = p.wait_exit(10000ms);
    ASSERT_TRUE(code) << slurp(tmp / "log");
    EXPECT_EQ(*code, 0) << slurp(tmp / "log");
    EXPECT_EQ(sim.requests("demo"), 1) << "run " << run << ": the restart reused the token";
    auto rec = read_token_record(fs, tmp / "out");
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->state, TokenState::Valid);
    EXPECT_EQ(rec->token.token, sim.last_token());
    const std::string log = slurp(tmp / "log");
    for (const std::string& s :
         {std::string("demo-password-123"), std::string("demo-sec-0123456789"), sim.last_token()}) {
      EXPECT_EQ(log.find(s), std::string::npos) << s << " leaked: " << log;
    }
  }
  sim.stop();
}

TEST_F(BinaryTest, OnceExitsWithThreeWhenAPersonMustLogIn) {
  RealClock clock;
  sim::ProviderSimulator sim(clock, sim::SimConfig{.lifetime = 1h});
  sim.add_user({"demo", "demo-password-123", "8", "demo-sec-0123456789", 0});
  sim.set_captcha(true);
  auto port = sim.start("127.0.0.1", 0);
  ASSERT_TRUE(port);
  Process p({KEYWARD_SIDECAR_BINARY, "run", "--once", "--provider", "tradovate", "--endpoint",
             sim.url() + "/v1", "--username", "demo", "--client-id", "8", "--out", tmp / "out",
             "--listen", "off"},
            {"KEYWARD_PASSWORD=demo-password-123", "KEYWARD_API_KEY=demo-sec-0123456789"},
            tmp / "log");
  ASSERT_TRUE(p.started());
  auto code = p.wait_exit(10000ms);
  ASSERT_TRUE(code) << slurp(tmp / "log");
  EXPECT_EQ(*code, 3);
  EXPECT_NE(slurp(tmp / "log").find("a person must log in"), std::string::npos)
      << slurp(tmp / "log");
  EXPECT_EQ(sim.requests("demo"), 1);
  sim.stop();
}

// --once stopped before it has a token (the provider never answers in time) exits non-zero, so
// an init container or a Job does not report success without a token.
TEST_F(BinaryTest, OnceStoppedBeforeATokenExitsWithFive) {
  Process p({KEYWARD_SIDECAR_BINARY, "run", "--once", "--provider", "tradovate", "--endpoint",
             "https://127.0.0.1:1/v1", "--username", "demo", "--client-id", "8", "--out",
             tmp / "out", "--listen", "off"},
            {"KEYWARD_PASSWORD=demo-password-123", "KEYWARD_API_KEY=demo-sec-0123456789"},
            tmp / "log");
  ASSERT_TRUE(p.started());
  std::this_thread::sleep_for(500ms);
  p.signal(SIGTERM);
  auto code = p.wait_exit(5000ms);
  ASSERT_TRUE(code) << slurp(tmp / "log");
  EXPECT_EQ(*code, 5) << slurp(tmp / "log");
  EXPECT_NE(slurp(tmp / "log").find("stopped before a valid token"), std::string::npos)
      << slurp(tmp / "log");
}

TEST_F(BinaryTest, ExecShimRunsTheCommandWithTheTokenInItsEnvironment) {
  ASSERT_TRUE(fs.make_dirs(tmp / "out", 0750));
  Process sidecar({KEYWARD_SIDECAR_BINARY, "run", "--provider", "none", "--out", tmp / "out",
                   "--listen", "off", "--env-var-name", "EXCHANGE_KEY"},
                  {"KEYWARD_API_KEY=it's-a-key-0123"}, tmp / "sidecar.log");
  ASSERT_TRUE(sidecar.started());
  Process shim({KEYWARD_SIDECAR_BINARY, "exec", "--out", tmp / "out", "--", "/bin/sh", "-c",
                "printf 'got:%s:%s' \"$EXCHANGE_KEY\" \"$KEYWARD_TOKEN_STATE\""},
               {"PATH=/usr/bin:/bin"}, tmp / "shim.log");
  ASSERT_TRUE(shim.started());
  auto code = shim.wait_exit(10000ms);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  EXPECT_NE(slurp(tmp / "shim.log").find("got:it's-a-key-0123:Valid"), std::string::npos)
      << slurp(tmp / "shim.log");
  sidecar.signal(SIGTERM);
  EXPECT_TRUE(sidecar.wait_exit(5000ms));
}

TEST_F(BinaryTest, InstalledShimRunsThroughItsOwnLoader) {
  // install-shim copies the binary, its libraries and its loader; the webhook's app command
  // (DIR/ld.so --library-path DIR DIR/keyward-sidecar exec ...) must then work from that copy.
  const std::string shim = tmp / "shim";
  Process install({KEYWARD_SIDECAR_BINARY, "install-shim", "--to", shim}, {}, tmp / "install.log");
  ASSERT_TRUE(install.started());
  auto installed = install.wait_exit(10000ms);
  ASSERT_TRUE(installed) << slurp(tmp / "install.log");
  ASSERT_EQ(*installed, 0) << slurp(tmp / "install.log");
  ASSERT_TRUE(std::filesystem::exists(shim + "/ld.so"));
  ASSERT_TRUE(std::filesystem::exists(shim + "/keyward-sidecar"));

  ASSERT_TRUE(fs.make_dirs(tmp / "out", 0750));
  Process sidecar({KEYWARD_SIDECAR_BINARY, "run", "--provider", "none", "--out", tmp / "out",
                   "--listen", "off", "--env-var-name", "EXCHANGE_KEY"},
                  {"KEYWARD_API_KEY=shim-key-0123456"}, tmp / "sidecar.log");
  ASSERT_TRUE(sidecar.started());
  Process app({shim + "/ld.so", "--library-path", shim, shim + "/keyward-sidecar", "exec", "--out",
               tmp / "out", "--", "/bin/sh", "-c", "printf 'app:%s' \"$EXCHANGE_KEY\""},
              {"PATH=/usr/bin:/bin"}, tmp / "app.log");
  ASSERT_TRUE(app.started());
  auto code = app.wait_exit(10000ms);
  ASSERT_TRUE(code) << slurp(tmp / "app.log");
  EXPECT_EQ(*code, 0) << slurp(tmp / "app.log");
  EXPECT_NE(slurp(tmp / "app.log").find("app:shim-key-0123456"), std::string::npos)
      << slurp(tmp / "app.log");
  sidecar.signal(SIGTERM);
  EXPECT_TRUE(sidecar.wait_exit(5000ms));
}

TEST(ShimFilesTest, PicksSharedObjectsAndTheLoaderFromMaps) {
  const std::string maps =
      "55d0-55d1 r-xp 00000000 08:01 1 /usr/bin/keyward-sidecar\n"
      "7f00-7f01 r-xp 00000000 08:01 2 /usr/lib/x86_64-linux-gnu/libcrypto.so.3\n"
      "7f01-7f02 r--p 00001000 08:01 2 /usr/lib/x86_64-linux-gnu/libcrypto.so.3\n"
      "7f02-7f03 r-xp 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
      "7f03-7f04 rw-p 00000000 00:00 0 [heap]\n"
      "7f04-7f05 r--p 00000000 08:01 4 /usr/lib/locale/C.utf8/LC_CTYPE\n";
  auto files = shim_files(maps, "/usr/bin/keyward-sidecar");
  ASSERT_TRUE(files);
  std::vector<std::string> names;
  for (const auto& f : *files) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"keyward-sidecar", "libcrypto.so.3",
                                             "ld-linux-x86-64.so.2", "ld.so"}));
  EXPECT_EQ(shim_files("7f03-7f04 rw-p 00000000 00:00 0 [heap]\n", "/x").error().reason,
            "ShimLoaderMissing");
}

TEST(ExecEnvironmentTest, TokenEnvOverridesTheBase) {
  auto env = exec_environment({{"A", "1"}, {"MY_TOKEN", "old"}}, "MY_TOKEN='new'\\''x'\nB='2'\n");
  ASSERT_TRUE(env);
  EXPECT_EQ(*env, (std::vector<std::string>{"A=1", "B=2", "MY_TOKEN=new'x"}));
}

}  // namespace
}  // namespace keyward::sidecar
