#include "common/token/provider_factory.h"

#include "common/token/static_key_provider.h"
#include "common/token/tradovate_provider.h"

namespace keyward {

Result<std::unique_ptr<TokenProvider>> make_token_provider(const ProviderSettings& settings,
                                                           HttpTransport* transport,
                                                           const Clock& clock, Logger logger) {
  if (settings.kind == "none") return std::make_unique<StaticKeyProvider>(clock);
  if (settings.kind != "tradovate" && settings.kind != "oauth2ClientCredentials") {
    return fail("InvalidSettings", "unknown token provider '" + settings.kind +
                                       "': use tradovate, oauth2ClientCredentials or none");
  }
  if (transport == nullptr) {
    return fail("NoTransport",
                "provider " + settings.kind + " has no HTTP client (a wiring error)");
  }
  if (settings.kind == "tradovate") {
    return std::make_unique<TradovateProvider>(*transport, settings.base_path, clock,
                                               logger.child("tradovate"));
  }
  return std::make_unique<OAuth2ClientCredentialsProvider>(
      *transport,
      OAuth2Options{settings.base_path, settings.oauth2_client_auth, settings.oauth2_scope,
                    settings.lifetime},
      clock, logger.child("oauth2"));
}

std::string upstream_account(const std::string& kind, const std::string& endpoint,
                             const std::string& login) {
  return (kind == "tradovate" ? "user " : "client ") + (login.empty() ? "(none)" : login) + " at " +
         endpoint;
}

}  // namespace keyward
