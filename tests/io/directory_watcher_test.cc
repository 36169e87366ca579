#include "common/io/directory_watcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "tests/support/faulty_filesystem.h"

namespace keyward {
namespace {

class Counter {
 public:
  void bump() {
    {
      std::lock_guard lock(mu_);
      ++n_;
    }
    cv_.notify_all();
  }
  // Waits (bounded) until the count exceeds `than`.
  bool wait_above(int than) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return n_ > than; });
  }
  int value() {
    std::lock_guard lock(mu_);
    return n_;
  }

 private:
  std::mutex mu_;  // guards n_
  std::condition_variable cv_;
  int n_ = 0;
};

TEST(DirectoryWatcherTest, NoticesKubeletStyleDataSwapAndPlainWrites) {
  testing::TempDir tmp;
  PosixFilesystem fs;
  Counter changes;
  InotifyDirectoryWatcher watcher(make_null_logger());
  ASSERT_TRUE(watcher.start(tmp.path(), [&] { changes.bump(); }));

  ASSERT_TRUE(fs.make_dirs(tmp / "..v2", 0750));
  ASSERT_TRUE(fs.symlink("..v2", tmp / "..data_tmp"));
  ASSERT_TRUE(fs.rename(tmp / "..data_tmp", tmp / "..data"));
  ASSERT_TRUE(changes.wait_above(0));

  const int before = changes.value();
  ASSERT_TRUE(fs.write_new_file(tmp / "apiKey", "k", 0600));
  ASSERT_TRUE(changes.wait_above(before));
  watcher.stop();
}

TEST(DirectoryWatcherTest, MissingDirectoryIsAClearError) {
  InotifyDirectoryWatcher watcher(make_null_logger());
  auto s = watcher.start("/nonexistent/keyward/key", [] {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().reason, "NotFound");
  EXPECT_NE(s.error().message.find("/nonexistent/keyward/key"), std::string::npos);
}

TEST(DirectoryWatcherTest, StopsPromptlyWhileIdle) {
  testing::TempDir tmp;
  InotifyDirectoryWatcher watcher(make_null_logger());
  ASSERT_TRUE(watcher.start(tmp.path(), [] {}));
  const auto t0 = std::chrono::steady_clock::now();
  watcher.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
}

}  // namespace
}  // namespace keyward
