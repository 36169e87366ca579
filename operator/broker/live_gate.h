#pragma once
// LiveGate: live and demo never mix. A live key (spec.environment: live) is served only to pods
// of namespaces labelled keyward.dev/trading=live; the webhook refuses such pods at admission,
// and the broker refuses them again (a pod admitted before the label was removed, a pod not
// injected by the webhook). Namespaces are read through the API and remembered for a minute,
// so a fleet rechecking every 30 s costs the API server little.

#include <map>
#include <mutex>
#include <string>

#include "common/core/clock.h"
#include "common/core/result.h"
#include "common/kube/informer.h"
#include "common/kube/kube_api.h"

namespace keyward::broker {

class LiveGate {
 public:
  LiveGate(const kube::Store& apikeys, kube::KubeApi& api, const Clock& clock,
           Seconds remember = Seconds(60));

  // ok, or Error{"LiveKeyOutsideLiveNamespace", ..., 403} / a 503 when the namespace could not
  // be read.
  Status check(const std::string& ns, const std::string& apikey);

 private:
  Result<bool> namespace_is_live(const std::string& ns);

  const kube::Store& apikeys_;
  kube::KubeApi& api_;
  const Clock& clock_;
  Seconds remember_;
  struct Seen {
    bool live = false;
    SystemTime at{};
  };
  std::mutex mu_;  // guards seen_
  std::map<std::string, Seen> seen_;
};

}  // namespace keyward::broker
