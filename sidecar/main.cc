// keyward-sidecar: keeps a short-lived access token fresh on a shared tmpfs.
//   keyward-sidecar run [flags]            (see docs/sidecar.md)
//   keyward-sidecar exec [--out DIR] -- CMD ARGS...
// The only place that reads the process environment (envp) and the host name.

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>

#include "common/core/clock.h"
#include "common/core/http_transport_httplib.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/process_hardening.h"
#include "common/io/config_resolver.h"
#include "common/io/directory_watcher.h"
#include "common/io/filesystem.h"
#include "common/io/random.h"
#include "sidecar/accept_app.h"
#include "sidecar/exec_shim.h"
#include "sidecar/shim_installer.h"
#include "sidecar/shutdown_signal.h"
#include "sidecar/sidecar_app.h"
#include "sidecar/sidecar_config.h"

namespace {

constexpr const char* kUsage =
    "usage: keyward-sidecar run --mode broker|direct [--apikey NAME --namespace NS --broker-url "
    "URL]\n"
    "       keyward-sidecar run --mode accept --apikey NAME[,NAME...] --namespace NS --broker-url "
    "URL --out DIR\n"
    "         [--provider tradovate|oauth2ClientCredentials|none --endpoint URL] [--key-dir DIR]\n"
    "         [--credentials-dir DIR] [--out DIR] [--listen HOST:PORT|off] [--once] [--config "
    "FILE]\n"
    "         [--ca-file FILE] [--report-url URL --report-ca-file FILE] "
    "[--service-account-token-file FILE] ...\n"
    "       keyward-sidecar exec [--out DIR] [--timeout-seconds N] -- CMD ARGS...\n"
    "       keyward-sidecar install-shim --to DIR   (copies the exec shim and its libraries)\n"
    "Every flag --foo-bar is also the config key fooBar and the variable KEYWARD_FOO_BAR;\n"
    "a flag wins over the config file, which wins over the environment. See docs/sidecar.md.\n";

int run(const std::vector<std::string>& args, const keyward::Environment& env) {
  using namespace keyward;
  using namespace keyward::sidecar;
  // Before any thread exists, so every thread inherits the blocked SIGTERM/SIGINT.
  auto shutdown = ShutdownSignal::install();
  if (!shutdown) {
    make_stderr_logger("keyward-sidecar").error(shutdown.error().message);
    return 1;
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  PosixFilesystem fs;
  auto config = resolve_sidecar_config(
      args, env, host, [&fs](const std::string& path) { return fs.read_file(path); });
  if (!config) {
    make_stderr_logger("keyward-sidecar")
        .error(config.error().message, {{"reason", config.error().reason}});
    return 2;
  }
  LogLevel level = LogLevel::Info;
  parse_log_level(config->log_level, level);
  Logger logger = make_stderr_logger("keyward-sidecar", level);

  RealClock clock;
  SystemRandom random;
  MetricsRegistry metrics;
  SidecarDeps deps{fs,
                   clock,
                   random,
                   metrics,
                   logger,
                   [](const HttpEndpoint& ep,
                      const std::string& ca_pem) -> Result<std::unique_ptr<HttpTransport>> {
                     TlsClientConfig tls;
                     tls.ca_pem = ca_pem;
                     // No idle connections kept: a sidecar calls the broker or the provider
                     // seconds to minutes apart, and each idle kept-alive connection holds one
                     // of the broker's server threads; a thousand sidecars would hold them all.
                     HttplibTransportOptions options;
                     options.max_idle_connections = 0;
                     auto t = HttplibTransport::create(ep, std::move(tls), options);
                     if (!t) return fail(t.error());
                     return std::unique_ptr<HttpTransport>(std::move(*t));
                   },
                   [logger]() -> std::unique_ptr<DirectoryWatcher> {
                     return std::make_unique<InotifyDirectoryWatcher>(logger.child("watch"));
                   },
                   [&clock, &metrics, logger](const std::string& dir) {
                     return std::make_unique<TokenUseMonitor>(dir, clock, metrics,
                                                              logger.child("use"));
                   }};
  ShutdownSignal* sig = shutdown->get();
  if (config->mode == Mode::Accept) {
    auto accept = AcceptApp::create(*config, deps);
    if (!accept) {
      logger.error(accept.error().message, {{"reason", accept.error().reason}});
      return 2;
    }
    if (auto s = (*accept)->start(); !s) {
      logger.error(s.error().message, {{"reason", s.error().reason}});
      return 1;
    }
    const int code = sig->wait();
    logger.info("stopping", {{"exitCode", code}});
    (*accept)->stop();
    return code;
  }
  auto app = SidecarApp::create(*config, deps);
  if (!app) {
    logger.error(app.error().message, {{"reason", app.error().reason}});
    return 2;
  }
  std::function<void(int)> on_token;
  std::atomic<bool> finished{false};  // --once: the run loop decided the exit code
  if (config->once) {
    on_token = [sig, &finished](int code) {
      finished = true;
      sig->finish(code);
    };
  }
  if (auto s = (*app)->start(on_token); !s) {
    logger.error(s.error().message, {{"reason", s.error().reason}});
    return 1;
  }
  int code = (*shutdown)->wait();
  if (config->once && !finished) {
    code = SidecarApp::kExitStoppedWithoutToken;
    logger.error("stopped before a valid token was in place (--once); exiting with " +
                     std::to_string(code) + " so the init container or Job does not count as done",
                 {{"exitCode", code}});
  }
  logger.info(config->once ? "exiting (--once)" : "stopping", {{"exitCode", code}});
  if (!(*app)->stop_within(Millis(700))) {
    logger.warn(
        "a token request was still in flight; exiting without waiting (the files are whole)");
    std::_Exit(code);
  }
  return code;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  if (auto s = keyward::harden_process(); !s) {
    keyward::make_stderr_logger("keyward-sidecar").warn(s.error().message);
  }
  const std::vector<std::string> all(argv + 1, argv + argc);
  if (all.empty() || all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
    std::cout << kUsage;
    return all.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(all.begin() + 1, all.end());
  const keyward::Environment env = keyward::environment_from(envp);
  if (all[0] == "run") return run(rest, env);
  if (all[0] == "install-shim") return keyward::sidecar::run_install_shim(rest);
  if (all[0] == "exec")
    return keyward::sidecar::run_exec(rest, env,
                                      keyward::make_stderr_logger("keyward-sidecar-exec"));
  std::cerr << "unknown command '" << all[0] << "'\n" << kUsage;
  return 2;
}
