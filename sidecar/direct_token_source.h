#pragma once
// Direct mode: the sidecar talks to the provider. The logic (renewal first, login fallback,
// penalty tickets, login after a credentials change) is shared with the operator's broker
// sessions: ProviderTokenSource in common/token/provider_token_source.h.

#include "common/token/provider_token_source.h"
#include "sidecar/token_source.h"

namespace keyward::sidecar {

using DirectTokenSource = keyward::ProviderTokenSource;

}  // namespace keyward::sidecar
