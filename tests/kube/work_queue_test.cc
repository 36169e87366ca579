#include "common/kube/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fake_clock.h"
#include "tests/support/wait_and_files.h"

namespace keyward::kube {
namespace {

using keyward::testing::eventually;
using keyward::testing::FakeClock;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(WorkQueue, AddDeduplicatesAndHoldsKeysBeingProcessed) {
  FakeClock clock;
  WorkQueue q(clock);
  q.add("ns/a");
  q.add("ns/a");
  q.add("ns/b");
  EXPECT_EQ(q.depth(), 2u);
  auto a = q.get();
  ASSERT_EQ(a, "ns/a");
  q.add("ns/a");  // while a worker holds it: not handed out again yet
  EXPECT_EQ(q.depth(), 1u);
  EXPECT_EQ(q.get(), "ns/b");
  EXPECT_EQ(q.depth(), 0u);
  q.done("ns/a");  // the add during processing comes back now
  EXPECT_EQ(q.depth(), 1u);
  EXPECT_EQ(q.get(), "ns/a");
  q.done("ns/a");
  q.done("ns/b");
  EXPECT_EQ(q.depth(), 0u);
  EXPECT_EQ(q.processing(), 0u);
}

TEST(WorkQueue, DelayedAddsKeepTheEarliestDeadline) {
  FakeClock clock;
  WorkQueue q(clock);
  q.add_after("ns/k", seconds(10));
  q.add_after("ns/k", seconds(5));
  q.add_after("ns/k", seconds(20));
  EXPECT_EQ(q.delayed(), 1u);
  ASSERT_TRUE(eventually([&] { return clock.next_deadline() == clock.now() + seconds(5); }));
  clock.advance(seconds(4));
  ASSERT_TRUE(eventually([&] { return clock.sleepers() == 1; }));
  EXPECT_EQ(q.depth(), 0u);
  clock.advance(seconds(1));
  ASSERT_TRUE(eventually([&] { return q.depth() == 1u; }));
  EXPECT_EQ(q.delayed(), 0u);
  EXPECT_EQ(q.get(), "ns/k");
  q.done("ns/k");
  // The later deadlines were merged away: nothing more arrives.
  clock.advance(seconds(30));
  ASSERT_TRUE(eventually(
      [&] { return clock.sleepers() == 1 && clock.next_deadline() == SystemTime::max(); }));
  EXPECT_EQ(q.depth(), 0u);
}

TEST(WorkQueue, RateLimitedBackoffGrowsExponentiallyToTheCapAndForgetResets) {
  FakeClock clock;
  WorkQueue q(clock, WorkQueueOptions{milliseconds(5), milliseconds(1000)});
  std::vector<long> delays;
  for (int i = 0; i < 10; ++i) {
    delays.push_back(static_cast<long>(q.next_backoff("ns/x").count()));
    q.add_rate_limited("ns/x");
  }
  EXPECT_EQ(delays, (std::vector<long>{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}));
  EXPECT_EQ(q.num_requeues("ns/x"), 10);
  q.forget("ns/x");
  EXPECT_EQ(q.next_backoff("ns/x"), milliseconds(5));
  // The delayed key arrives once its (earliest) 5ms deadline passes.
  clock.advance(milliseconds(5));
  ASSERT_TRUE(eventually([&] { return q.depth() == 1u; }));
}

TEST(WorkQueue, DefaultCapIsAThousandSeconds) {
  FakeClock clock;
  WorkQueue q(clock);
  for (int i = 0; i < 40; ++i) q.add_rate_limited("ns/y");
  EXPECT_EQ(q.next_backoff("ns/y"), seconds(1000));
}

TEST(WorkQueue, ShutdownReleasesBlockedWorkersAndIgnoresAdds) {
  FakeClock clock;
  WorkQueue q(clock);
  std::atomic<int> released{0};
  {
    constexpr int kWorkers = 3;
    std::vector<std::jthread> workers;
    workers.reserve(kWorkers);
    for (int i = 0; i < kWorkers; ++i) {
      workers.emplace_back([&] {
        if (!q.get()) released.fetch_add(1);
      });
    }
    q.shutdown();
  }
  EXPECT_EQ(released.load(), 3);
  q.add("ns/late");
  q.add_after("ns/later", seconds(1));
  EXPECT_EQ(q.depth(), 0u);
  EXPECT_EQ(q.delayed(), 0u);
  EXPECT_TRUE(q.shutting_down());
}

TEST(WorkQueue, GetReturnsOnStopRequest) {
  FakeClock clock;
  WorkQueue q(clock);
  std::optional<std::string> got = "unset";
  std::jthread worker([&](std::stop_token stop) { got = q.get(stop); });
  worker.request_stop();
  worker.join();
  EXPECT_EQ(got, std::nullopt);
}

TEST(Controller, NeverRunsOneKeyOnTwoWorkers) {
  FakeClock clock;
  WorkQueue q(clock);
  constexpr int kKeys = 4;
  std::mutex mu;  // guards holders, max_holders, runs, adds
  std::condition_variable cv;
  std::map<std::string, int> holders;
  int max_holders = 0;
  int runs = 0;
  int adds = 0;
  Controller c(
      "stress", q,
      [&](const std::string& key) {
        std::unique_lock lock(mu);
        max_holders = std::max(max_holders, ++holders[key]);
        ++runs;
        cv.notify_all();
        // Hold the key until producers have added keys again (bounded), so the queue is asked to
        // hand this key out while this worker still holds it.
        const int seen = adds;
        cv.wait_for(lock, milliseconds(20), [&] { return adds >= seen + 2; });
        --holders[key];
        return ReconcileResult{};
      },
      honour_retry_after, 8, make_null_logger());
  c.start();
  {
    constexpr int kProducers = 4;
    std::vector<std::jthread> producers;
    producers.reserve(kProducers);
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < 50; ++i) {
          q.add("ns/k" + std::to_string((i + p) % kKeys));
          std::unique_lock lock(mu);
          ++adds;
          cv.notify_all();
          // Pace the adds with the reconciles (bounded): wait until some reconcile started.
          const int r0 = runs;
          cv.wait_for(lock, milliseconds(20), [&] { return runs > r0; });
        }
      });
    }
  }
  ASSERT_TRUE(eventually([&] { return q.depth() == 0u && q.processing() == 0u; }));
  c.stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(max_holders, 1);
  EXPECT_GE(runs, 20);  // the workers really competed for the keys
}

TEST(Controller, ErrorsRequeueWithBackoffAndSuccessForgets) {
  FakeClock clock;
  WorkQueue q(clock, WorkQueueOptions{milliseconds(100), seconds(10)});
  std::atomic<int> calls{0};
  Controller c(
      "retry", q,
      [&](const std::string&) {
        const int n = ++calls;
        ReconcileResult r;
        if (n <= 2) r.error = Error{"Unreachable", "try later", 0};
        if (n == 3) r.requeue_after = seconds(60);
        return r;
      },
      honour_retry_after, 2, make_null_logger());
  c.start();
  q.add("ns/a");
  ASSERT_TRUE(eventually([&] { return calls == 1 && q.delayed() == 1u; }));
  EXPECT_EQ(q.num_requeues("ns/a"), 1);
  clock.advance(milliseconds(100));
  ASSERT_TRUE(eventually([&] { return calls == 2 && q.delayed() == 1u; }));
  EXPECT_EQ(q.num_requeues("ns/a"), 2);
  clock.advance(milliseconds(199));
  ASSERT_TRUE(eventually([&] { return clock.sleepers() >= 1; }));
  EXPECT_EQ(calls.load(), 2);
  clock.advance(milliseconds(1));
  ASSERT_TRUE(eventually([&] { return calls == 3 && q.delayed() == 1u; }));
  EXPECT_EQ(q.num_requeues("ns/a"), 0);  // success forgot the failures
  clock.advance(seconds(60));
  ASSERT_TRUE(eventually([&] { return calls == 4; }));
  c.stop();
}

// The error policy moves a retry later (the server's Retry-After), and a policy that asks for
// less than the backoff cannot make the key come back sooner: one backoff, never a hot loop.
TEST(Controller, ErrorPolicyDelaysTheRetryButNeverBelowTheBackoff) {
  FakeClock clock;
  WorkQueue q(clock, WorkQueueOptions{milliseconds(100), seconds(10)});
  std::atomic<int> calls{0};
  std::vector<std::string> seen_reasons;
  std::mutex mu;  // guards seen_reasons
  Controller c(
      "policy", q,
      [&](const std::string&) {
        ReconcileResult r;
        if (++calls == 1) {
          r.error = Error{"TooManyRequests", "slow down", 429};
          r.error->retry_after = seconds(30);
        } else {
          r.error = Error{"Conflict", "again", 409};
        }
        return r;
      },
      [&](const std::string& key, const Error& e) {
        std::lock_guard lock(mu);
        seen_reasons.push_back(key + ":" + e.reason);
        return e.retry_after ? honour_retry_after(key, e) : milliseconds(1);  // 1 ms < backoff
      },
      1, make_null_logger());
  c.start();
  q.add("ns/a");
  ASSERT_TRUE(eventually([&] { return calls == 1 && q.delayed() == 1u; }));
  clock.advance(seconds(29));
  ASSERT_TRUE(eventually([&] { return clock.sleepers() >= 1; }));
  EXPECT_EQ(calls.load(), 1) << "retried before the server's Retry-After";
  clock.advance(seconds(1));
  ASSERT_TRUE(eventually([&] { return calls == 2 && q.delayed() == 1u; }));
  // Second failure: the backoff is 200 ms now; the policy's 1 ms does not shorten it.
  clock.advance(milliseconds(199));
  ASSERT_TRUE(eventually([&] { return clock.sleepers() >= 1; }));
  EXPECT_EQ(calls.load(), 2);
  clock.advance(milliseconds(1));
  ASSERT_TRUE(eventually([&] { return calls == 3; }));
  c.stop();
  std::lock_guard lock(mu);
  ASSERT_GE(seen_reasons.size(), 2u);
  EXPECT_EQ(seen_reasons[0], "ns/a:TooManyRequests");
  EXPECT_EQ(seen_reasons[1], "ns/a:Conflict");
}

}  // namespace
}  // namespace keyward::kube
