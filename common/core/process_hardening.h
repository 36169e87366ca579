#pragma once
// Keeps secrets out of core files: no core dumps (RLIMIT_CORE 0) and not dumpable
// (PR_SET_DUMPABLE 0, which also stops other same-user processes from ptrace-ing us or reading
// /proc/<pid>/mem). Both binaries call harden_process() first thing in main().

#include "common/core/result.h"

namespace keyward {

Status harden_process();

}  // namespace keyward
