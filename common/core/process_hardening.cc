#include "common/core/process_hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace keyward {

Status harden_process() {
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return fail(
        "HardeningFailed",
        std::string("cannot disable core dumps (setrlimit RLIMIT_CORE): ") + std::strerror(errno));
  }
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return fail("HardeningFailed",
                std::string("cannot mark the process non-dumpable (prctl PR_SET_DUMPABLE): ") +
                    std::strerror(errno));
  }
  return ok();
}

}  // namespace keyward
