// keyward-operator's command line and settings: `run --help` lists every flag the settings table
// knows (it is generated from it, so none can be missing); the reconcile backoff.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "operator/controller/operator_manager.h"
#include "tests/support/child_process.h"
#include "tests/support/fake_clock.h"
#include "tests/support/faulty_filesystem.h"
#include "tests/support/wait_and_files.h"

namespace keyward {
namespace {

using namespace std::chrono_literals;

TEST(OperatorCommandLine, RunHelpListsEveryFlag) {
  testing::TempDir tmp;
  testing::ChildProcess p({KEYWARD_OPERATOR_BINARY, "run", "--help"}, {}, tmp / "help");
  ASSERT_TRUE(p.started());
  auto code = p.wait_exit(5000ms);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  const std::string help = testing::slurp(tmp / "help");
  for (const char* flag :
       {"--kubeconfig", "--namespace", "--leader-elect", "--lease-namespace", "--lease-name",
        "--identity", "--metrics-listen", "--webhook-config", "--workers", "--broker-listen",
        "--broker-cert-file", "--broker-key-file", "--provider-ca-file", "--broker-audience",
        "--log-level", "--config"}) {
    EXPECT_NE(help.find(std::string("  ") + flag + " "), std::string::npos) << flag << "\n" << help;
  }
  EXPECT_NE(help.find("env KEYWARD_BROKER_AUDIENCE"), std::string::npos) << help;
  EXPECT_NE(help.find("default keyward.dev/broker"), std::string::npos) << help;
}

}  // namespace
}  // namespace keyward

namespace keyward::controller {
namespace {

// The one backoff of a failed reconcile is the work queue's, with the operator's numbers.
TEST(ReconcileBackoff, FiveSecondsDoublingToFiveMinutesResetBySuccess) {
  testing::FakeClock clock;
  kube::WorkQueue q(clock, kReconcileBackoff);
  std::vector<long> delays;
  for (int i = 0; i < 9; ++i) {
    delays.push_back(static_cast<long>(
        std::chrono::duration_cast<std::chrono::seconds>(q.next_backoff("bots/alpha")).count()));
    q.add_rate_limited("bots/alpha");
  }
  EXPECT_EQ(delays, (std::vector<long>{5, 10, 20, 40, 80, 160, 300, 300, 300}));
  q.forget("bots/alpha");  // what the controller does after a successful pass
  EXPECT_EQ(q.next_backoff("bots/alpha"), std::chrono::seconds(5));
  q.shutdown();
}

}  // namespace
}  // namespace keyward::controller
