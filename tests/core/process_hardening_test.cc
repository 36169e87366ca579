#include "common/core/process_hardening.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace keyward {
namespace {

// Runs in a child so the test process itself stays debuggable.
TEST(ProcessHardening, DisablesCoreDumpsAndDumpability) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!harden_process()) ::_exit(2);
    rlimit lim{};
    ::getrlimit(RLIMIT_CORE, &lim);
    const bool ok = lim.rlim_cur == 0 && lim.rlim_max == 0 && ::prctl(PR_GET_DUMPABLE) == 0;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace keyward
