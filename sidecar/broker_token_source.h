#pragma once
// Broker mode: the token comes from the operator's token broker (docs/contracts.md, "Token
// broker"): GET {broker}/v1/namespaces/{ns}/apikeys/{name}/token with the pod's service account
// token as Bearer. 200 -> the token (active:false -> Inactive); 401/403/404 -> an error that
// says the token was refused / the pod may not use the key / no such key; 409
// {"reason":"Inactive"} -> Inactive, {"reason":"NoExchange"} -> an error (provider none has no
// token to broker); 503 + Retry-After -> retry then. The service account token is re-read on every
// fetch (the kubelet rotates it).

#include <functional>
#include <string>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/token/token_source.h"

namespace keyward::sidecar {

struct BrokerTarget {
  std::string base_path;  // path part of the broker URL, often ""
  std::string ns;
  std::string apikey;
};

// The pod's (projected) service account token for the broker, read afresh (the kubelet rotates
// it), trailing newlines cut and registered with the redactor. MissingServiceAccountToken when
// it cannot be read.
[[nodiscard]] Result<std::string> read_service_account_token(
    const std::function<Result<std::string>()>& read, Redactor& redactor);

class BrokerTokenSource final : public TokenSource {
 public:
  using TokenReader = std::function<Result<std::string>()>;
  BrokerTokenSource(HttpTransport& transport, BrokerTarget target,
                    TokenReader service_account_token, const Clock& clock, Logger logger);

  Result<FetchResult> fetch(const AccessToken* current) override;
  void credentials_changed() override {}
  [[nodiscard]] bool accepts_cached(const Delivery& record) const override;
  [[nodiscard]] std::string fingerprint() const override { return ""; }
  [[nodiscard]] std::string provider() const override { return "broker"; }

 private:
  HttpTransport& transport_;
  BrokerTarget target_;
  TokenReader sa_token_;
  const Clock& clock_;
  Logger logger_;
};

}  // namespace keyward::sidecar
