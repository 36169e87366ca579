#pragma once
// The bearer token the Kubernetes client sends. Either fixed (kubeconfig `token`) or read from
// a file the kubelet rotates (in-cluster projected service-account tokens, kubeconfig
// `tokenFile`): the file is re-read at most every recheck interval (by the Clock) and at once
// after a 401 (reload()). Re-reading a small file is as cheap as a stat and also catches a
// rewrite that keeps size and mtime. If a re-read fails (the kubelet swaps the ..data link
// non-atomically for readers of the target) the previous token stays in use and a warning is
// logged. Every token read is registered with the logger's Redactor before anything else.
// Thread-safe.

#include <memory>
#include <mutex>
#include <string>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/io/filesystem.h"

namespace keyward::kube {

class BearerTokenSource {
 public:
  static constexpr Seconds kDefaultRecheck{60};

  // A token that never changes; reload() returns false.
  static std::unique_ptr<BearerTokenSource> fixed(std::string token, Logger logger);

  // A token read from path now (an error if unreadable or empty) and re-read as described.
  static Result<std::unique_ptr<BearerTokenSource>> from_file(std::string path,
                                                              const Filesystem& fs,
                                                              const Clock& clock, Logger logger,
                                                              Seconds recheck = kDefaultRecheck);

  // The token to send now (re-reads the file when the recheck interval has passed).
  [[nodiscard]] std::string token();

  // Re-reads the file now (after a 401). True when the token changed.
  bool reload();

  [[nodiscard]] bool file_backed() const { return fs_ != nullptr; }

 private:
  BearerTokenSource(std::string token, std::string path, const Filesystem* fs, const Clock* clock,
                    Logger logger, Seconds recheck);
  // Reads the file; on success stores the token. Caller holds mu_. True when it changed.
  bool reload_locked();

  const std::string path_;
  const Filesystem* fs_;  // null for a fixed token
  const Clock* clock_;    // null for a fixed token
  Logger logger_;
  const Seconds recheck_;
  std::mutex mu_;  // guards token_ and last_check_
  std::string token_;
  SystemTime last_check_{};
};

}  // namespace keyward::kube
