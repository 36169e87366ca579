// keyward-operator's command line: `run --help` lists every flag the settings table knows (it is
// generated from it, so none can be missing), with its config key and environment variable.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/io/faulty_filesystem.h"
#include "tests/support/child_process.h"
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
