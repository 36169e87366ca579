#pragma once
// KeyDigestPublisher: for a pod that accepts the keys of some ApiKeys (keyward.dev/accepts, a
// service that checks the keys bots present), asks the operator's broker for the SHA-256 digests
// of every key version valid now (GET .../digests; never the keys) and writes them to the shared
// tmpfs in one atomic swap, as the token files are (docs/contracts.md, "Accepted-key directory"):
//
//   <apikey>.sha256   one lowercase hex digest per line, the current version first
//   <apikey>.json     {"apiKey","keyVersion","active","digests":[{"keyVersion","sha256",
//                      "current","validUntil"?}]}
//
// The previous version's digest carries validUntil (the end of its grace period) and leaves the
// files at that instant even when the broker cannot be asked; an early revocation (every pod
// moved) reaches them at the next ask. When the broker cannot be asked the last digests stay;
// when it refuses for an ApiKey (403, 404) that ApiKey lists none (with "refused": the reason).

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/io/atomic_writer.h"
#include "sidecar/broker_token_source.h"

namespace keyward::sidecar {

class KeyDigestPublisher {
 public:
  using TokenReader = BrokerTokenSource::TokenReader;
  KeyDigestPublisher(HttpTransport& broker, std::string base_path, std::string ns,
                     std::vector<std::string> apikeys, TokenReader service_account_token,
                     AtomicWriter& writer, Logger logger);

  // Asks the broker for every ApiKey and writes the files when what is valid at `now` changed.
  // Returns when to publish next: at most `recheck` later, earlier when a previous version's
  // grace ends. An ApiKey the broker did not answer for keeps its last digests (logged).
  SystemTime publish(SystemTime now, Seconds recheck);

  // Every ApiKey has been answered for at least once and the files are written.
  [[nodiscard]] Status ready() const;

 private:
  Result<nlohmann::json> ask(const std::string& apikey);
  // The files for what is valid at `now` (digests past validUntil dropped); the earliest
  // validUntil ahead goes to next_expiry.
  std::vector<PayloadFile> render(SystemTime now, std::optional<SystemTime>& next_expiry) const;

  HttpTransport& broker_;
  std::string base_path_;
  std::string ns_;
  std::vector<std::string> apikeys_;
  TokenReader sa_token_;
  AtomicWriter& writer_;
  Logger logger_;
  mutable std::mutex mu_;                        // guards everything below
  std::map<std::string, nlohmann::json> known_;  // apikey -> the broker's last answer
  std::vector<PayloadFile> written_;             // what the files hold now
  bool written_once_ = false;
  std::string last_error_;
};

}  // namespace keyward::sidecar
