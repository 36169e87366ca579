#pragma once
// Runs the helm binary for the chart tests: .tools/bin/helm under the source tree (installed by
// scripts/setup.sh) or helm on PATH.

#include <string>
#include <vector>

namespace keyward::chart_testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The helm binary to use, or "" when none is installed.
std::string find_helm();

// Runs helm with the arguments (each shell-quoted), capturing stdout and stderr separately.
CommandResult run_helm(const std::vector<std::string>& args);

// Runs any program the same way (kubectl, for installing a rendered chart).
CommandResult run_command(const std::string& program, const std::vector<std::string>& args);

}  // namespace keyward::chart_testing
