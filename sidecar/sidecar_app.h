#pragma once
// SidecarApp wires one sidecar together from its config and its side effects, in ordered
// start-up steps: files -> token source -> refresher (reusing a cached token) -> watchers on
// the Secret directories -> token use monitor -> status server -> run loop. The run loop is a
// jthread that calls TokenRefresher::step and sleeps with Clock::sleep_until until the next due
// time, a Secret change (Wakeup) or stop(): no polling.

#include <functional>
#include <memory>
#include <thread>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/status_server.h"
#include "common/io/atomic_writer.h"
#include "common/io/directory_watcher.h"
#include "common/io/filesystem.h"
#include "common/io/random.h"
#include "common/token/token_provider.h"
#include "common/token/token_refresher.h"
#include "common/token/token_source.h"
#include "sidecar/broker_key_client.h"
#include "sidecar/credentials_loader.h"
#include "sidecar/file_token_sink.h"
#include "sidecar/sidecar_config.h"
#include "sidecar/token_files.h"
#include "sidecar/token_use_monitor.h"

namespace keyward::sidecar {

struct SidecarDeps {
  Filesystem& fs;
  Clock& clock;
  Random& random;
  MetricsRegistry& metrics;
  Logger logger;
  // An HTTP client for a URL's host (the provider or the broker), trusting the CA certificates
  // in ca_pem ("": the system store).
  std::function<Result<std::unique_ptr<HttpTransport>>(const HttpEndpoint&,
                                                       const std::string& ca_pem)>
      make_transport;
  std::function<std::unique_ptr<DirectoryWatcher>()> make_watcher;
  // Tracks when apps open the token files (last use); none = not tracked (lastUsedTime null).
  std::function<std::unique_ptr<TokenUseMonitor>(const std::string& token_dir)> make_use_monitor;
};

class SidecarApp {
 public:
  static Result<std::unique_ptr<SidecarApp>> create(SidecarConfig config, SidecarDeps deps);
  ~SidecarApp();
  SidecarApp(const SidecarApp&) = delete;
  SidecarApp& operator=(const SidecarApp&) = delete;

  // For --once: on_once_done runs (on the run loop) with exit code 0 once a valid token is in
  // place, or 3 when no retry can help (the provider demands a captcha).
  static constexpr int kExitNeedsPerson = 3;
  // --once: the provider refused the credentials (or they are incomplete); fix the Secret.
  static constexpr int kExitCredentialsRejected = 4;
  // --once: stopped (SIGTERM) before a valid token was in place. Non-zero, so an init container
  // or a Job never reports success without a token.
  static constexpr int kExitStoppedWithoutToken = 5;
  Status start(std::function<void(int)> on_once_done = {});
  void stop();
  // Asks everything to stop and waits at most `limit` for the run loop (an HTTP request may be
  // in flight). Returns false if the loop is still busy; the caller may then exit anyway: the
  // token files are always whole, so ending mid-request loses nothing.
  bool stop_within(Millis limit);

  [[nodiscard]] int status_port() const { return server_ ? server_->port() : -1; }
  [[nodiscard]] TokenRefresher& refresher() { return *refresher_; }
  [[nodiscard]] nlohmann::json status_json() const;
  // A Secret directory changed: reload, and fetch at once if the credentials really differ.
  void on_secret_change();

 private:
  SidecarApp(SidecarConfig config, SidecarDeps deps);
  Status build();
  // A client for `url` (its path goes to base_path), trusting the CAs in ca_file ("": system).
  Result<std::unique_ptr<HttpTransport>> transport_for(const std::string& url,
                                                       const std::string& ca_file,
                                                       std::string& base_path);
  // Reads the pod's (projected) service account token, afresh at every call.
  [[nodiscard]] BrokerTokenSource::TokenReader service_account_token() const;
  void run(std::stop_token stop);
  // Direct mode with a report URL: reports the delivered key version until the operator has
  // recorded one. Returns when to try again (nullopt: nothing left to report).
  std::optional<SystemTime> report_key_version(SystemTime now);
  // --key-from-broker: asks the broker for the key (at most every recheck); a change is handled
  // like a changed Secret volume. A failure keeps the last key. Returns when to ask next.
  SystemTime check_broker_key(SystemTime now);
  Status fetch_broker_key();

  SidecarConfig config_;
  SidecarDeps deps_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<TokenProvider> upstream_;  // the provider itself
  std::unique_ptr<TokenProvider> budgeted_;  // ... behind the account's request budget
  TokenProvider* provider_ = nullptr;        // what the source calls: one of the two
  std::unique_ptr<CredentialsLoader> loader_;
  std::unique_ptr<TokenSource> source_;
  std::unique_ptr<AtomicWriter> writer_;
  std::unique_ptr<TokenFileWriter> files_;
  std::unique_ptr<FileTokenSink> sink_;
  std::unique_ptr<TokenRefresher> refresher_;
  std::vector<std::unique_ptr<DirectoryWatcher>> watchers_;
  std::unique_ptr<TokenUseMonitor> use_monitor_;
  std::unique_ptr<StatusServer> server_;
  std::unique_ptr<HttpTransport> report_transport_;
  std::unique_ptr<BrokerKeyClient> broker_key_client_;  // direct mode with --report-url
  mutable std::mutex key_mu_;                           // guards broker_key_
  std::optional<BrokerKey> broker_key_;  // the last key the broker delivered (--key-from-broker)
  std::optional<SystemTime> next_key_check_;  // run-loop thread only
  // Run-loop thread only: whether the operator has a version for this pod, and the backoff.
  bool version_reported_ = false;
  std::optional<SystemTime> next_report_;
  Seconds report_backoff_{2};
  std::function<void(int)> on_once_done_;
  std::mutex creds_mu_;  // guards last_credentials_
  std::optional<Credentials> last_credentials_;
  Wakeup wakeup_;
  std::mutex loop_mu_;  // guards loop_done_
  std::condition_variable loop_cv_;
  bool loop_done_ = false;
  std::jthread loop_;
};

}  // namespace keyward::sidecar
