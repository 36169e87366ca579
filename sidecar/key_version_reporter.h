#pragma once
// KeyVersionReporter: a direct-mode sidecar tells the operator which key version it delivered
// (docs/contracts.md, "Which key version a pod runs"):
//   PUT {broker}/v1/namespaces/{ns}/apikeys/{name}/key-version   {"keyVersion": N}
// with the pod's projected broker token as Bearer, like a broker-mode fetch. The operator
// records the version on the pod only when none is recorded yet, so the first delivered version
// sticks and a report after a container restart changes nothing. In broker mode no report is
// needed: the broker records the version of the first token it serves the pod.

#include <cstdint>
#include <functional>
#include <string>

#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "sidecar/broker_token_source.h"

namespace keyward::sidecar {

class KeyVersionReporter {
 public:
  using TokenReader = BrokerTokenSource::TokenReader;
  KeyVersionReporter(HttpTransport& transport, BrokerTarget target,
                     TokenReader service_account_token, Logger logger);

  // One attempt. ok: the operator has a version for this pod (this one or an earlier one).
  // An Error says what the operator answered; the caller retries later.
  Status report(std::int64_t key_version);

 private:
  HttpTransport& transport_;
  BrokerTarget target_;
  TokenReader sa_token_;
  Logger logger_;
};

}  // namespace keyward::sidecar
