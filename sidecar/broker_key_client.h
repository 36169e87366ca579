#pragma once
// BrokerKeyClient: a direct-mode sidecar's two calls to the operator's broker (docs/contracts.md),
// both with the pod's projected broker token as Bearer, like a broker-mode fetch:
//
//   GET {broker}/v1/namespaces/{ns}/apikeys/{name}/key           (--key-from-broker)
//     the key material and login fields, opened in the operator's memory: in a cluster with
//     sealed key Secrets the sidecar never mounts key material.
//   PUT {broker}/v1/namespaces/{ns}/apikeys/{name}/key-version   {"keyVersion": N}
//     which key version the sidecar delivered ("Which key version a pod runs"). The operator
//     records it on the pod only when none is recorded yet, so the first delivered version sticks.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "sidecar/broker_token_source.h"

namespace keyward::sidecar {

// What GET .../key answered. The field values are wiped (OPENSSL_cleanse) when it is destroyed.
struct BrokerKey {
  std::int64_t key_version = 0;
  bool active = true;
  std::map<std::string, std::string> fields;  // apiKey, username, password, ...
  // 410 KeyVersionRevoked: the version held (key_version) was revoked and the broker cannot
  // deliver the current one yet; fields is empty and what was delivered is withdrawn.
  bool revoked = false;

  BrokerKey() = default;
  BrokerKey(const BrokerKey&) = default;
  BrokerKey& operator=(const BrokerKey&) = default;
  ~BrokerKey();
  bool operator==(const BrokerKey&) const = default;
};

class BrokerKeyClient {
 public:
  using TokenReader = BrokerTokenSource::TokenReader;
  BrokerKeyClient(HttpTransport& transport, BrokerTarget target, TokenReader service_account_token,
                  Logger logger);

  // One attempt each. An Error says what the broker answered (reason, status); callers retry.
  // `held`: the key version the sidecar holds now (0: none), told to the broker on every fetch.
  Result<BrokerKey> fetch_key(std::int64_t held = 0);
  // ok: the operator has a version for this pod (this one or an earlier one).
  Status report(std::int64_t key_version);

 private:
  Result<HttpResponse> call(const std::string& method, const std::string& endpoint,
                            const std::string& body, std::int64_t held = 0);
  Error refusal(const HttpResponse& response, const std::string& what,
                const std::string& path) const;

  HttpTransport& transport_;
  BrokerTarget target_;
  TokenReader sa_token_;
  Logger logger_;
};

}  // namespace keyward::sidecar
