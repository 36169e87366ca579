#include "operator/broker/live_gate.h"

#include "operator/apikey/names.h"

namespace keyward::broker {

LiveGate::LiveGate(const kube::Store& apikeys, kube::KubeApi& api, const Clock& clock,
                   Seconds remember)
    : apikeys_(apikeys), api_(api), clock_(clock), remember_(remember) {}

Result<bool> LiveGate::namespace_is_live(const std::string& ns) {
  const SystemTime now = clock_.now();
  {
    std::lock_guard lock(mu_);
    if (auto it = seen_.find(ns); it != seen_.end() && now - it->second.at < remember_) {
      return it->second.live;
    }
  }
  auto object = api_.get(kube::ResourceType::namespaces(), "", ns);
  if (!object) return fail(object.error());
  const auto labels = (*object)["metadata"].value("labels", kube::Object::object());
  const bool live = labels.value(std::string(apikey::kTradingLabel), "") == "live";
  std::lock_guard lock(mu_);
  seen_[ns] = Seen{live, now};
  return live;
}

Status LiveGate::check(const std::string& ns, const std::string& apikey) {
  const std::string key = ns + "/" + apikey;
  auto object = apikeys_.get(key);
  if (!object) return ok();  // no such ApiKey: the session lookup answers that
  const auto spec = object->value("spec", kube::Object::object());
  if (spec.value("environment", "demo") != "live") return ok();
  auto live = namespace_is_live(ns);
  if (!live) {
    return fail("NamespaceLookupFailed",
                "could not read namespace " + ns + " to check it runs live trading (" +
                    live.error().message + "); retry",
                503);
  }
  if (*live) return ok();
  return fail("LiveKeyOutsideLiveNamespace",
              "ApiKey " + key + " is for live trading and namespace " + ns + " is not labelled " +
                  std::string(apikey::kTradingLabel) +
                  "=live; the broker serves live keys only there",
              403);
}

}  // namespace keyward::broker
