#include "tests/chart/helm_runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace keyward::chart_testing {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::string find_helm() {
  std::filesystem::path local =
      std::filesystem::path(KEYWARD_SOURCE_DIR) / ".tools" / "bin" / "helm";
  if (access(local.c_str(), X_OK) == 0) return local.string();
  if (const char* path = getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      auto candidate = std::filesystem::path(dir) / "helm";
      if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return {};
}

CommandResult run_helm(const std::vector<std::string>& args) {
  std::string helm = find_helm();
  if (helm.empty()) {
    CommandResult r;
    r.err = "helm not found: run scripts/setup.sh (installs .tools/bin/helm) or put helm on PATH";
    return r;
  }
  return run_command(helm, args);
}

CommandResult run_command(const std::string& program, const std::vector<std::string>& args) {
  CommandResult r;
  char err_path[] = "/tmp/keyward-helm-err-XXXXXX";
  int fd = mkstemp(err_path);
  if (fd < 0) {
    r.err = "mkstemp failed";
    return r;
  }
  close(fd);
  std::string cmd = shell_quote(program);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>" + shell_quote(err_path);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe != nullptr) {
    std::array<char, 65536> buf{};
    std::size_t n = 0;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
    int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::ifstream in(err_path);
  std::ostringstream err;
  err << in.rdbuf();
  r.err = err.str();
  std::filesystem::remove(err_path);
  return r;
}

}  // namespace keyward::chart_testing
