#pragma once
// Where the sidecar gets its token: from the operator's token broker (broker mode) or from the
// provider itself (direct mode). The interfaces are shared with the operator's broker and live
// in common/token/token_source.h; the sidecar's names for them follow.

#include "common/token/token_source.h"
#include "sidecar/token_files.h"

namespace keyward::sidecar {

using keyward::Delivery;
using keyward::DeliveryState;
using keyward::FetchResult;
using keyward::TokenSource;

}  // namespace keyward::sidecar
