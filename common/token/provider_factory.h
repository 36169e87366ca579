#pragma once
// The one place a token provider is built from settings: the sidecar's direct mode (flags,
// config file, environment) and the operator's broker sessions (an ApiKey's tokenExchange).
//
//   auto p = make_token_provider(settings, transport, clock, logger);   // Result<unique_ptr>
//
// With limits.logins_per_hour or renewals_per_hour set (Tradovate, OAuth2), wrap the result in
// a BudgetedProvider (provider_limits.h) sharing the account's RequestBudget.

#include <memory>
#include <string>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/token/oauth2_provider.h"
#include "common/token/token_provider.h"

namespace keyward {

struct ProviderSettings {
  std::string kind;       // tradovate | oauth2ClientCredentials | none
  std::string base_path;  // the endpoint URL's path ("/v1", "/oauth2/token")
  OAuth2ClientAuth oauth2_client_auth = OAuth2ClientAuth::Basic;
  std::string oauth2_scope;
  Seconds lifetime{3600};  // OAuth2: when the answer has no expires_in
};

// transport: a client for the endpoint's host; unused (may be null) for "none". It must outlive
// the provider.
Result<std::unique_ptr<TokenProvider>> make_token_provider(const ProviderSettings& settings,
                                                           HttpTransport* transport,
                                                           const Clock& clock, Logger logger);

// The upstream account a login spends from, for the request budget and messages: provider,
// endpoint and user (or OAuth2 client id). Never a secret.
std::string upstream_account(const std::string& kind, const std::string& endpoint,
                             const std::string& login);

}  // namespace keyward
