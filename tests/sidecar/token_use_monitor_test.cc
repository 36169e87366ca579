#include "sidecar/token_use_monitor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/io/atomic_writer.h"
#include "tests/support/fake_clock.h"
#include "tests/support/faulty_filesystem.h"
#include "tests/support/wait_and_files.h"

namespace keyward::sidecar {
namespace {

using namespace std::chrono_literals;

// Real inotify on a real directory written by the real AtomicWriter; the clock is fake so the
// recorded time is known exactly. Events arrive asynchronously: every wait is on a condition
// (a use recorded, a version followed), never a fixed sleep.
class TokenUseMonitorTest : public ::testing::Test {
 protected:
  bool write_version(const std::string& token) {
    return writer.write({{"token", token, 0640}, {"token.json", "{}", 0640}}).has_value();
  }
  static bool read_file(const std::string& path) {
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    return static_cast<bool>(in) || in.eof();
  }
  // Waits up to 5 s for last_use() to satisfy pred.
  template <class Pred>
  bool wait_for(Pred pred) {
    return keyward::testing::eventually([&] { return pred(monitor.last_use()); }, 5s);
  }
  // Waits until the monitor has followed n version directories (it has seen n swaps, so every
  // event of the writes before them is behind it).
  bool watched(int n) {
    return keyward::testing::eventually(
        [&] {
          return metrics.counter("keyward_sidecar_token_versions_watched_total", "").value() >= n;
        },
        5s);
  }

  testing::TempDir tmp;
  PosixFilesystem fs;
  keyward::testing::FakeClock clock;
  MetricsRegistry metrics;
  AtomicWriter writer{fs, clock, tmp / "tokens", make_null_logger()};
  TokenUseMonitor monitor{tmp / "tokens", clock, metrics, make_null_logger(), Millis{20}};
};

TEST_F(TokenUseMonitorTest, AnOpenOfATokenFileIsAUseAndWritesAreNot) {
  ASSERT_TRUE(fs.make_dirs(tmp / "tokens", 0750));
  ASSERT_TRUE(monitor.start());
  // One swap at a time: two swaps in a row may be seen as one (the monitor watches the version
  // the link names when it looks, which is right, but this test counts both).
  ASSERT_TRUE(write_version("t1"));
  ASSERT_TRUE(watched(1)) << "the monitor did not follow the first swap";
  ASSERT_TRUE(write_version("t2"));
  ASSERT_TRUE(watched(2)) << "the monitor did not follow the second swap";
  EXPECT_FALSE(monitor.last_use()) << "the sidecar's own writes are not a use";

  const SystemTime t_read = clock.now();
  ASSERT_TRUE(read_file(tmp / "tokens/token"));
  ASSERT_TRUE(wait_for([&](auto t) { return t.has_value(); })) << "an app's open was not seen";
  EXPECT_EQ(*monitor.last_use(), t_read);
  EXPECT_EQ(metrics.gauge("keyward_sidecar_token_last_use_timestamp_seconds", "").value(),
            std::chrono::duration<double>(t_read.time_since_epoch()).count());
}

TEST_F(TokenUseMonitorTest, FollowsEveryNewVersionAcrossRefreshes) {
  ASSERT_TRUE(fs.make_dirs(tmp / "tokens", 0750));
  ASSERT_TRUE(monitor.start());  // before the first version exists
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(write_version("t" + std::to_string(i)));
    ASSERT_TRUE(watched(i + 1)) << "version " << i << ": the swap was not followed";
    clock.advance(std::chrono::minutes(85));
    const SystemTime t = clock.now();
    ASSERT_TRUE(read_file(tmp / "tokens/token.json"));
    ASSERT_TRUE(wait_for([&](auto last) { return last == t; }))
        << "version " << i << ": the open after the refresh was not seen";
  }
}

TEST_F(TokenUseMonitorTest, WatchesAVersionThatExistedBeforeStart) {
  ASSERT_TRUE(write_version("t1"));
  ASSERT_TRUE(monitor.start());
  ASSERT_TRUE(read_file(tmp / "tokens/token"));
  EXPECT_TRUE(wait_for([&](auto t) { return t.has_value(); }));
}

TEST_F(TokenUseMonitorTest, AMissingDirectoryIsAClearError) {
  auto s = monitor.start();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find(tmp / "tokens"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("must exist"), std::string::npos) << s.error().message;
}

TEST_F(TokenUseMonitorTest, StopsPromptlyWhileResting) {
  TokenUseMonitor slow{tmp / "tokens", clock, metrics, make_null_logger(), Millis{60'000}};
  ASSERT_TRUE(write_version("t1"));
  ASSERT_TRUE(slow.start());
  ASSERT_TRUE(read_file(tmp / "tokens/token"));
  ASSERT_TRUE(keyward::testing::eventually([&] { return slow.last_use().has_value(); }, 5s));
  // The monitor now rests for a minute; stop() must not wait for it.
  const auto t0 = std::chrono::steady_clock::now();
  slow.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

}  // namespace
}  // namespace keyward::sidecar
