#include "sidecar/exec_shim.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "common/io/directory_watcher.h"
#include "sidecar/token_files.h"

namespace keyward::sidecar {

Result<std::vector<std::string>> exec_environment(const Environment& base,
                                                  const std::string& token_env) {
  auto vars = parse_env_file(token_env);
  if (!vars) return fail(vars.error());
  std::map<std::string, std::string> merged(base.begin(), base.end());
  for (auto& [k, v] : *vars) merged[k] = v;
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

Status wait_for_valid_token(const Filesystem& fs, Clock& clock, const std::string& dir,
                            Seconds timeout, std::stop_token stop, const Logger& logger,
                            Seconds progress_every) {
  const SystemTime started = clock.now();
  const SystemTime deadline = started + timeout;
  SystemTime next_progress = started + progress_every;
  Wakeup wakeup;
  InotifyDirectoryWatcher watcher(logger.child("watch"));
  bool watching = false;
  while (!stop.stop_requested()) {
    const SystemTime now = clock.now();
    if (!watching && fs.exists(dir)) {
      // Changes in the directory wake us; before it exists we check once a second.
      watching = static_cast<bool>(watcher.start(dir, [&wakeup] { wakeup.notify(); }));
    }
    if (auto r = read_token_record(fs, dir);
        r && r->state == TokenState::Valid && (!r->token.expires() || r->token.expires_at > now)) {
      return ok();
    }
    if (now >= deadline) {
      return fail("Timeout", "no valid token appeared in " + dir + " within " +
                                 std::to_string(timeout.count()) +
                                 "s: check the keyward-sidecar container's logs and /v1/status");
    }
    if (now >= next_progress) {
      logger.info("waiting for the first token",
                  {{"directory", dir},
                   {"waitedSeconds", std::chrono::duration_cast<Seconds>(now - started).count()}});
      next_progress += progress_every;
    }
    SystemTime wake = std::min(deadline, next_progress);
    if (!watching) wake = std::min(wake, now + Seconds(1));
    clock.sleep_until(wake, wakeup, stop);
  }
  return fail("Stopped", "stopped while waiting for the first token");
}

int run_exec(const std::vector<std::string>& args, const Environment& env, const Logger& logger) {
  std::vector<SettingSpec> specs;
  SettingSpec out;
  out.name = "out";
  out.flag = "--out";
  out.env_var = "KEYWARD_OUT";
  out.default_value = "/var/run/keyward/tokens";
  specs.push_back(out);
  SettingSpec timeout;
  timeout.name = "timeout-seconds";
  timeout.flag = "--timeout-seconds";
  timeout.env_var = "KEYWARD_EXEC_TIMEOUT_SECONDS";
  timeout.default_value = "600";
  specs.push_back(timeout);
  ConfigResolver resolver(specs);
  std::vector<std::string> command;
  auto flags = resolver.parse_flags(args, &command);
  if (!flags) {
    logger.error(flags.error().message);
    return 2;
  }
  if (command.empty()) {
    logger.error("exec needs a command: keyward-sidecar exec [--out DIR] -- CMD ARGS...");
    return 2;
  }
  auto settings = resolver.resolve(*flags, "", "", env);
  if (!settings) {
    logger.error(settings.error().message);
    return 2;
  }
  const std::string dir = settings->get_or("out", "/var/run/keyward/tokens");
  long long limit = 600;
  try {
    limit = std::stoll(settings->get_or("timeout-seconds", "600"));
  } catch (const std::exception&) {
    logger.error("--timeout-seconds must be a whole number");
    return 2;
  }
  PosixFilesystem fs;
  RealClock clock;
  std::stop_source never;
  if (auto s = wait_for_valid_token(fs, clock, dir, Seconds(limit), never.get_token(), logger);
      !s) {
    logger.error(s.error().message, {{"reason", s.error().reason}});
    return 1;
  }
  auto text = fs.read_file(dir + "/token.env");
  if (!text) {
    logger.error("reading token.env failed: " + text.error().message);
    return 1;
  }
  auto environment = exec_environment(env, *text);
  if (!environment) {
    logger.error(environment.error().message);
    return 1;
  }
  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (auto& a : command) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(environment->size() + 1);
  for (auto& e : *environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  ::execvpe(argv[0], argv.data(), envp.data());
  logger.error("could not start the command",
               {{"command", command[0]}, {"error", std::strerror(errno)}});
  return 127;
}

}  // namespace keyward::sidecar
