#include "operator/controller/leader_elector.h"

#include <gtest/gtest.h>

#include "tests/operator/operator_fixture.h"

namespace keyward::testing {
namespace {

using controller::LeaderElectionConfig;
using controller::LeaderElector;
using std::chrono::seconds;

class LeaderElectorTest : public OperatorTest {
 protected:
  std::unique_ptr<LeaderElector> candidate(const std::string& id) {
    LeaderElectionConfig config;
    config.lease_namespace = "keyward-system";
    config.identity = id;
    return std::make_unique<LeaderElector>(api, clock, logger, config);
  }
  Json lease() { return *find("leases", "keyward-system", "keyward-operator"); }
};

TEST_F(LeaderElectorTest, FirstCandidateCreatesTheLeaseOthersWait) {
  auto a = candidate("a");
  auto b = candidate("b");
  EXPECT_TRUE(a->try_acquire_or_renew());
  EXPECT_TRUE(a->is_leader());
  EXPECT_FALSE(b->try_acquire_or_renew());
  EXPECT_FALSE(b->is_leader());
  const Json spec = lease()["spec"];
  EXPECT_EQ(spec["holderIdentity"], "a");
  EXPECT_EQ(spec["leaseDurationSeconds"], 15);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_TRUE(spec.contains("acquireTime"));
  EXPECT_TRUE(spec.contains("renewTime"));
}

TEST_F(LeaderElectorTest, RenewingLeaderKeepsTheLease) {
  auto a = candidate("a");
  auto b = candidate("b");
  ASSERT_TRUE(a->try_acquire_or_renew());
  for (int i = 0; i < 20; ++i) {
    clock.advance(seconds(2));
    ASSERT_TRUE(a->try_acquire_or_renew());
    ASSERT_FALSE(b->try_acquire_or_renew());
  }
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "a");
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 0);
}

TEST_F(LeaderElectorTest, PausedLeaderStopsLeadingBeforeAStandbyTakesOver) {
  auto a = candidate("a");
  auto b = candidate("b");
  ASSERT_TRUE(a->try_acquire_or_renew());
  ASSERT_FALSE(b->try_acquire_or_renew());  // b observes the record now
  // a is paused: no renewals. After the renew deadline it no longer considers itself leader...
  clock.advance(seconds(10));
  EXPECT_FALSE(a->is_leader());
  EXPECT_FALSE(b->try_acquire_or_renew());  // ...while b still waits for the lease to expire.
  clock.advance(seconds(5));
  EXPECT_TRUE(b->try_acquire_or_renew());
  EXPECT_TRUE(b->is_leader());
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "b");
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 1);
  // a wakes up: it sees b's fresh record and does not take the lease back.
  EXPECT_FALSE(a->try_acquire_or_renew());
  EXPECT_FALSE(a->is_leader());
}

TEST_F(LeaderElectorTest, ConflictingWriteLosesTheRace) {
  auto a = candidate("a");
  server->fail_next(1, 409, "PUT", "/leases/");
  ASSERT_TRUE(a->try_acquire_or_renew());  // create path
  clock.advance(seconds(2));
  EXPECT_FALSE(a->try_acquire_or_renew());  // the renewal hit a 409
  EXPECT_TRUE(a->is_leader());              // still within the renew deadline
  clock.advance(seconds(9));
  EXPECT_FALSE(a->is_leader());
  EXPECT_TRUE(a->try_acquire_or_renew());
}

TEST_F(LeaderElectorTest, ReleaseLetsAStandbyTakeOverAtOnce) {
  auto a = candidate("a");
  auto b = candidate("b");
  ASSERT_TRUE(a->try_acquire_or_renew());
  ASSERT_FALSE(b->try_acquire_or_renew());
  ASSERT_TRUE(a->release());
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "");
  EXPECT_TRUE(b->try_acquire_or_renew());
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "b");
}

TEST_F(LeaderElectorTest, LoopCallsBackOnStartAndStopAndReleases) {
  auto a = candidate("a");
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  int stopped = 0;
  a->start(
      [&] {
        std::lock_guard lock(mu);
        ++started;
        cv.notify_all();
      },
      [&] {
        std::lock_guard lock(mu);
        ++stopped;
        cv.notify_all();
      });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return started == 1; }));
  }
  a->stop();
  EXPECT_EQ(stopped, 1);
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "");
}

// Two operators share one API; only the leader reconciles. The leader is paused right after a
// rotation; the standby takes over and rotates at the next due time; when the old leader
// resumes with its stale view it neither leads nor rotates again.
TEST_F(LeaderElectorTest, FailoverBetweenTwoOperatorsRotatesExactlyOncePerDueTime) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 60}, {"gracePeriodSeconds", 0}}}}));
  auto a = candidate("a");
  auto b = candidate("b");
  auto ra = make_reconciler();
  auto rb = make_reconciler();
  auto tick = [&](LeaderElector& e, controller::ApiKeyReconciler& r) {
    e.try_acquire_or_renew();
    if (e.is_leader()) settle(r);
  };
  tick(*a, *ra);
  tick(*b, *rb);
  ASSERT_EQ(key_version(), 1);
  const Json stale_view = apikey();  // what a saw last

  clock.advance(seconds(60));
  tick(*a, *ra);
  tick(*b, *rb);
  ASSERT_EQ(key_version(), 2);

  // a pauses (no ticks). b waits out the lease, takes over, and the next rotation happens once.
  for (int i = 0; i < 30; ++i) {
    clock.advance(seconds(2));
    tick(*b, *rb);
  }
  EXPECT_TRUE(b->is_leader());
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(key_version(), 3);  // 60s after the rotation at version 2

  // a resumes with its stale ApiKey copy: it is not the leader, so it does nothing; and even a
  // reconcile from the stale copy cannot rotate again (the Secret's rotated-at is fresh and
  // writes are conditional on resourceVersion).
  tick(*a, *ra);
  EXPECT_FALSE(a->is_leader());
  ASSERT_TRUE(ra->reconcile(stale_view));
  EXPECT_EQ(key_version(), 3);
  EXPECT_EQ(generator.count(), 3);
}

}  // namespace
}  // namespace keyward::testing
