#pragma once
// The sidecar of a pod that accepts the keys of some ApiKeys (`keyward-sidecar run --mode
// accept`, injected for keyward.dev/accepts): a KeyDigestPublisher asked every --recheck-seconds
// (and at the instant a previous version's grace ends), a status server whose /readyz passes
// once the digests of every ApiKey are on the volume. No token, no key, no provider.

#include <memory>
#include <thread>

#include "common/core/status_server.h"
#include "common/io/atomic_writer.h"
#include "sidecar/key_digest_publisher.h"
#include "sidecar/sidecar_app.h"
#include "sidecar/sidecar_config.h"

namespace keyward::sidecar {

class AcceptApp {
 public:
  static Result<std::unique_ptr<AcceptApp>> create(SidecarConfig config, SidecarDeps deps);
  ~AcceptApp();
  AcceptApp(const AcceptApp&) = delete;
  AcceptApp& operator=(const AcceptApp&) = delete;

  Status start();
  void stop();
  [[nodiscard]] int status_port() const { return server_ ? server_->port() : -1; }

 private:
  AcceptApp(SidecarConfig config, SidecarDeps deps);
  void run(std::stop_token stop);

  SidecarConfig config_;
  SidecarDeps deps_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<AtomicWriter> writer_;
  std::unique_ptr<KeyDigestPublisher> publisher_;
  std::unique_ptr<StatusServer> server_;
  Wakeup wakeup_;
  std::jthread loop_;
};

}  // namespace keyward::sidecar
