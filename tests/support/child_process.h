#pragma once
// ChildProcess: a program the test runs for real (keyward-sidecar, keyward-operator), with its
// stdout and stderr in one log file, owned RAII-style: stop() or the destructor ends it (SIGTERM,
// then SIGKILL after 3 s) and reaps it, so a failing test never leaves a process behind.
// wait_exit() is a bounded wait on a pidfd, not a sleep loop.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/io/unique_fd.h"

namespace keyward::testing {

class ChildProcess {
 public:
  // args[0] is the program's path; env is its whole environment (nothing is inherited).
  ChildProcess(std::vector<std::string> args, std::vector<std::string> env,
               const std::string& log_path) {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0600);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    if (pid_ > 0) pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  }
  ~ChildProcess() { stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] bool started() const { return pid_ > 0 && pidfd_.valid(); }
  [[nodiscard]] pid_t pid() const { return pid_; }

  // "" when the running process has been through harden_process(), as both binaries must be
  // before they read a secret: no core file (RLIMIT_CORE 0, read from /proc/<pid>/limits).
  // harden_process() sets that and PR_SET_DUMPABLE 0 together; process_hardening_test checks the
  // second in-process (from outside only a non-root observer could see it, and tests run as root).
  [[nodiscard]] std::string hardening_problem() const {
    const std::string proc = "/proc/" + std::to_string(pid_);
    std::ifstream limits(proc + "/limits");
    std::string line;
    while (std::getline(limits, line)) {
      if (line.rfind("Max core file size", 0) == 0) {
        std::istringstream fields(line.substr(18));
        std::string soft, hard;
        fields >> soft >> hard;
        return soft == "0" && hard == "0" ? "" : "core files are allowed: " + line;
      }
    }
    return "cannot read " + proc + "/limits";
  }

  void signal(int sig) const {
    if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
  }

  // The exit status if the process ends within `limit` (128 + signal when killed by one), else
  // nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    if (!started() || reaped_) return status_;
    pollfd p{pidfd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return std::nullopt;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return status_;
  }

  // SIGTERM, then SIGKILL if it has not ended within 3 s; always reaps. Idempotent.
  void stop() {
    if (!started() || reaped_) return;
    signal(SIGTERM);
    if (wait_exit(std::chrono::seconds(3))) return;
    signal(SIGKILL);
    (void)wait_exit(std::chrono::seconds(30));
  }

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  bool reaped_ = false;
  std::optional<int> status_;
};

}  // namespace keyward::testing
