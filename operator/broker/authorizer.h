#pragma once
// Authorizer: may this reviewed caller fetch the token of ApiKey <ns>/<name>?
//
// Yes only when all of these hold (else Error{reason, message, 403}; the message says what is
// wrong and never holds the token):
//   * the caller is a service account, system:serviceaccount:<ns>:<sa>      (NotAServiceAccount)
//     of the ApiKey's own namespace                                          (WrongNamespace)
//   * its token is bound to a pod (extra authentication.kubernetes.io/pod-name and pod-uid; a
//     legacy Secret-based token has none)                                     (BoundTokenRequired)
//   * that pod exists in the namespace with that uid                  (PodNotFound, PodMismatch)
//   * runs as that service account                                    (ServiceAccountMismatch)
//   * is pending or running and not being deleted                            (PodNotRunning)
//   * and asks for this key: annotation keyward.dev/inject: <name> (or <ns>/<name>), or label
//     keyward.dev/apikey: <name> (docs/contracts.md)                          (PodNotAssigned)
//     or, for a verifier (a service that accepts the key), annotation keyward.dev/accepts
//     listing <name>                                                         (PodNotAccepting)
// Pods come from a PodLookup: the operator's pod cache first, the API for a pod the cache has
// not seen yet.

#include <functional>
#include <optional>
#include <string>

#include "common/core/result.h"
#include "common/kube/kube_api.h"
#include "operator/broker/token_reviewer.h"

namespace keyward::broker {

// nullopt: no such pod; an Error when it could not be looked up.
using PodLookup = std::function<Result<std::optional<kube::Object>>(const std::string& ns,
                                                                    const std::string& name)>;

// Who the caller is to the key: a consumer (its bot) or a verifier (a service accepting it).
enum class CallerRole { Consumer, Verifier };

// Returns the caller's pod (as looked up) when it may use the key in that role.
Result<kube::Object> authorize(const ReviewedCaller& caller, const std::string& ns,
                               const std::string& apikey, const PodLookup& pods,
                               CallerRole role = CallerRole::Consumer);

}  // namespace keyward::broker
