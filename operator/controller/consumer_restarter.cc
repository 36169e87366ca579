#include "operator/controller/consumer_restarter.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

#include "common/kube/object_meta.h"
#include "operator/apikey/key_secret.h"
#include "operator/apikey/pod_assignment.h"

namespace keyward::controller {
namespace {

std::int64_t parse_int(const std::string& text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && p == text.data() + text.size() ? v : 0;
}

void earliest(std::optional<SystemTime>& slot, SystemTime t) {
  if (!slot || t < *slot) slot = t;
}

bool pod_ready(const kube::Object& pod) {
  if (!pod.contains("status")) return false;
  for (const auto& c : pod["status"].value("conditions", kube::Object::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

}  // namespace

RestartPlan plan_restarts(const std::vector<PodView>& pods, const RestartSettings& settings,
                          SystemTime now) {
  RestartPlan plan;
  const auto& consumers = settings.consumers;
  const bool key_expired = settings.key_expiry && now >= *settings.key_expiry;
  const bool in_window = settings.planner == nullptr || settings.planner->restart_allowed(now);
  const bool allowed = in_window || key_expired;

  int unavailable = 0;
  for (const auto& pod : pods) unavailable += (pod.terminating || !pod.ready) ? 1 : 0;
  int budget = std::max(1, consumers.max_unavailable) - unavailable;

  // A rollout restart replaces every pod of the owner. It is only safe when no pod of the owner
  // holds (a held pod, stale or current, must not be replaced: it may have open positions) and
  // every pod of it is still stale (a pod already on the current key, or pending, would be
  // restarted for nothing). Otherwise the stale pods go one by one through the Eviction API
  // (PodDisruptionBudgets apply) and the owner recreates them from the same template.
  using OwnerKey = std::pair<std::string, std::string>;
  std::set<OwnerKey> owners_not_rollable;
  for (const auto& pod : pods) {
    if (pod.terminating || !pod.owner) continue;
    const bool stale = pod.key_version && *pod.key_version < settings.key_version;
    if (pod.hold_reason || !stale) owners_not_rollable.insert({pod.owner->kind, pod.owner->name});
  }

  std::set<OwnerKey> owners_done;
  bool stale_left = false;
  for (const auto& pod : pods) {
    if (!pod.hold_reason && pod.has_hold_since) {
      plan.actions.push_back({RestartAction::Kind::ClearHoldSince, pod.name, ""});
    }
    if (!pod.key_version || *pod.key_version < settings.key_version) {
      plan.on_previous.push_back(pod.name);
    }
    if (pod.terminating) continue;
    if (!pod.key_version) {
      ++plan.counts.pending;  // no key delivered yet: it will start on the current one
      continue;
    }
    if (*pod.key_version >= settings.key_version) {
      ++plan.counts.up_to_date;
      continue;
    }
    ++plan.counts.stale;
    if (pod.hold_reason) {
      const SystemTime since = pod.hold_since.value_or(now);
      if (!pod.hold_since) {
        plan.actions.push_back({RestartAction::Kind::StampHoldSince, pod.name, ""});
      }
      SystemTime deadline = since + std::chrono::seconds(consumers.hold_timeout_seconds);
      if (settings.key_expiry) deadline = std::min(deadline, *settings.key_expiry);
      if (now < deadline) {
        ++plan.counts.held;
        plan.holds.push_back({pod.name, *pod.hold_reason, since});
        const SystemTime escalate_at = deadline - kEscalationLead;
        if (now >= escalate_at) {
          plan.escalations.push_back({pod.name, *pod.hold_reason, deadline});
        } else {
          earliest(plan.wake_at, escalate_at);
        }
        earliest(plan.wake_at, deadline);
        continue;
      }
    }
    if (consumers.restart_strategy == apikey::RestartStrategy::None) continue;
    stale_left = true;
    if (!allowed) {
      plan.waiting_for_window = true;
      if (settings.planner != nullptr) {
        if (auto open = settings.planner->next_window_open(now); open && *open > now) {
          earliest(plan.wake_at, *open);
        }
      }
      if (settings.key_expiry && *settings.key_expiry > now) {
        earliest(plan.wake_at, *settings.key_expiry);
      }
      continue;
    }
    const bool rollout = pod.owner.has_value() &&
                         consumers.restart_strategy == apikey::RestartStrategy::RolloutRestart;
    if (rollout && pod.owner->restarted_for_version >= settings.key_version) {
      continue;  // already rolling for this key version: the owner's controller replaces it
    }
    const bool roll_owner =
        rollout && !owners_not_rollable.contains({pod.owner->kind, pod.owner->name});
    if (roll_owner) {
      const auto key = std::make_pair(pod.owner->kind, pod.owner->name);
      if (owners_done.contains(key)) continue;
      if (budget <= 0) continue;
      owners_done.insert(key);
      plan.actions.push_back(
          {RestartAction::Kind::RolloutRestart, pod.owner->name, pod.owner->kind});
      --budget;
    } else {
      if (budget <= 0) continue;
      plan.actions.push_back({RestartAction::Kind::Evict, pod.name, ""});
      --budget;
    }
  }
  if (stale_left && !plan.waiting_for_window) earliest(plan.wake_at, now + kStaleRecheck);
  return plan;
}

ConsumerRestarter::ConsumerRestarter(kube::KubeApi& api, const kube::Store* pods,
                                     const Clock& clock, Logger logger, EventRecorder& events,
                                     OperatorMetrics* metrics)
    : api_(api),
      pods_(pods),
      clock_(clock),
      logger_(std::move(logger)),
      events_(events),
      metrics_(metrics) {}

Result<std::optional<OwnerView>> ConsumerRestarter::resolve_owner(const std::string& ns,
                                                                  const kube::Object& pod) {
  // A lookup that fails (not a 404) fails the pass: a pod whose owner is unknown could be a
  // held pod of an owner that would otherwise be rolled.
  auto missing_or_error = [](const Error& e) -> Result<std::optional<OwnerView>> {
    if (e.http_status == 404) return std::optional<OwnerView>{};
    return fail(e);
  };
  const kube::Object* ref = kube::controller_owner(pod);
  if (!ref) return std::optional<OwnerView>{};
  std::string kind = ref->value("kind", "");
  std::string name = ref->value("name", "");
  if (kind == "ReplicaSet") {
    auto rs = api_.get(kube::ResourceType::replicasets(), ns, name);
    if (!rs) return missing_or_error(rs.error());
    const kube::Object* rs_owner = kube::controller_owner(*rs);
    if (!rs_owner || rs_owner->value("kind", "") != "Deployment") {
      return std::optional<OwnerView>{};
    }
    kind = "Deployment";
    name = rs_owner->value("name", "");
  }
  kube::ResourceType type;
  if (kind == "Deployment") {
    type = kube::ResourceType::deployments();
  } else if (kind == "StatefulSet") {
    type = kube::ResourceType::statefulsets();
  } else if (kind == "DaemonSet") {
    type = kube::ResourceType::daemonsets();
  } else {
    return std::optional<OwnerView>{};
  }
  auto owner = api_.get(type, ns, name);
  if (!owner) return missing_or_error(owner.error());
  return std::optional(OwnerView{
      kind, name, parse_int(kube::annotation(*owner, apikey::annotation::kRestartedForVersion))});
}

Result<std::vector<PodView>> ConsumerRestarter::consumer_pods(const std::string& ns,
                                                              const std::string& name,
                                                              std::int64_t current_version) {
  // The pod cache when there is one (the operator's; synced before any pass), else a list.
  std::vector<kube::ObjectPtr> cached;
  std::vector<kube::Object> listed;
  if (pods_ != nullptr) {
    const auto in_cache = pods_->list_namespace(ns);
    prune_written(ns, in_cache);
    for (const auto& pod : in_cache) {
      if (apikey::assigned_apikey(*pod) != name) continue;
      if (!cache_behind_our_write(ns, *pod)) {
        cached.push_back(pod);
        continue;
      }
      const std::string pod_name = kube::metadata_string(*pod, "name");
      auto fresh = api_.get(kube::ResourceType::pods(), ns, pod_name);
      if (fresh) {
        listed.push_back(std::move(*fresh));
      } else if (fresh.error().http_status != 404) {
        return fail(fresh.error());
      }  // 404: gone since; the record stays until the cache drops the pod too (prune_written)
    }
  } else {
    auto pods = api_.list(kube::ResourceType::pods(), ns, {});
    if (!pods) return fail(pods.error());
    listed = std::move(pods->items);
  }
  std::vector<const kube::Object*> all;
  all.reserve(cached.size() + listed.size());
  for (const auto& pod : cached) all.push_back(pod.get());
  for (const auto& pod : listed) all.push_back(&pod);
  std::vector<PodView> out;
  std::vector<const kube::Object*> consumers;  // the pod object of each view in out
  for (const kube::Object* each : all) {
    const kube::Object& pod = *each;
    const auto& md = pod.at("metadata");
    if (apikey::assigned_apikey(pod) != name) continue;
    PodView view;
    view.name = md.value("name", "");
    view.uid = kube::metadata_string(pod, "uid");
    view.key_version = apikey::recorded_key_version(pod);
    view.ready = pod_ready(pod);
    view.terminating = md.contains("deletionTimestamp") && !md["deletionTimestamp"].is_null();
    if (kube::has_annotation(pod, apikey::annotation::kHold))
      view.hold_reason = kube::annotation(pod, apikey::annotation::kHold);
    view.has_hold_since = kube::has_annotation(pod, apikey::annotation::kHoldSince);
    if (view.has_hold_since) {
      if (auto since = parse_rfc3339(kube::annotation(pod, apikey::annotation::kHoldSince))) {
        view.hold_since = *since;
      }
    }
    out.push_back(std::move(view));
    consumers.push_back(&pod);
  }
  // Owners matter only when a pod is stale (is its owner rolled, or evicted pod by pod?); then
  // pending and current pods too, since they decide whether their owner may be rolled. A pass
  // where every pod runs the current version reads no owner.
  const bool any_stale = std::any_of(out.begin(), out.end(), [&](const PodView& v) {
    return !v.terminating && v.key_version != current_version;
  });
  for (std::size_t i = 0; any_stale && i < out.size(); ++i) {
    if (out[i].terminating) continue;
    auto owner = resolve_owner(ns, *consumers[i]);
    if (!owner) return fail(owner.error());
    out[i].owner = std::move(*owner);
  }
  std::sort(out.begin(), out.end(),
            [](const PodView& a, const PodView& b) { return a.name < b.name; });
  return out;
}

bool ConsumerRestarter::shows(const kube::Object& pod, const Written& written) {
  if (kube::metadata_string(pod, "uid") != written.uid) return true;  // another pod now
  switch (written.expect) {
    case Expect::Terminating: {
      const auto& md = pod.at("metadata");
      return md.contains("deletionTimestamp") && !md["deletionTimestamp"].is_null();
    }
    case Expect::HoldSinceSet:
      return kube::has_annotation(pod, apikey::annotation::kHoldSince);
    case Expect::HoldSinceCleared:
      return !kube::has_annotation(pod, apikey::annotation::kHoldSince);
  }
  return true;
}

bool ConsumerRestarter::cache_behind_our_write(const std::string& ns, const kube::Object& cached) {
  std::lock_guard lock(mu_);
  const auto it = written_.find(ns + "/" + kube::metadata_string(cached, "name"));
  if (it == written_.end()) return false;
  if (shows(cached, it->second)) {
    written_.erase(it);  // the cache has seen our write
    return false;
  }
  return true;
}

void ConsumerRestarter::wrote_pod(const std::string& ns, const std::string& pod,
                                  const std::string& uid, Expect expect) {
  std::lock_guard lock(mu_);
  auto& record = written_[ns + "/" + pod];
  // An eviction after a hold-since patch in the same pass: the pod's termination is what counts.
  if (record.uid == uid && record.expect == Expect::Terminating) return;
  record = Written{uid, expect};
}

void ConsumerRestarter::prune_written(const std::string& ns,
                                      const std::vector<kube::ObjectPtr>& in_cache) {
  const std::string prefix = ns + "/";
  std::lock_guard lock(mu_);
  const auto first = written_.lower_bound(prefix);
  if (first == written_.end() || !first->first.starts_with(prefix)) return;  // the usual pass
  std::set<std::string> cached;
  for (const auto& pod : in_cache) cached.insert(prefix + kube::metadata_string(*pod, "name"));
  for (auto it = first; it != written_.end() && it->first.starts_with(prefix);) {
    it = cached.contains(it->first) ? std::next(it) : written_.erase(it);
  }
}

Result<RestartReport> ConsumerRestarter::run(const kube::Object& apikey_object,
                                             const RestartSettings& settings) {
  const auto& md = apikey_object.at("metadata");
  const std::string ns = md.value("namespace", "");
  const std::string name = md.value("name", "");
  auto pods = consumer_pods(ns, name, settings.key_version);
  if (!pods) return fail(pods.error());
  const SystemTime now = clock_.now();
  RestartReport report;
  report.plan = plan_restarts(*pods, settings, now);
  auto uid_of = [&](const std::string& pod) {
    for (const PodView& v : *pods) {
      if (v.name == pod) return v.uid;
    }
    return std::string();
  };
  const std::string strategy(apikey::to_string(settings.consumers.restart_strategy));

  for (const auto& action : report.plan.actions) {
    switch (action.kind) {
      case RestartAction::Kind::StampHoldSince:
      case RestartAction::Kind::ClearHoldSince: {
        const bool stamp = action.kind == RestartAction::Kind::StampHoldSince;
        kube::Object value = stamp ? kube::Object(format_rfc3339(now)) : kube::Object(nullptr);
        const kube::Object patch = {
            {"metadata",
             {{"annotations", {{std::string(apikey::annotation::kHoldSince), value}}}}}};
        auto patched = api_.patch(kube::ResourceType::pods(), ns, action.target,
                                  kube::PatchType::Merge, patch);
        if (!patched && patched.error().http_status != 404) return fail(patched.error());
        if (patched) {
          wrote_pod(ns, action.target, uid_of(action.target),
                    stamp ? Expect::HoldSinceSet : Expect::HoldSinceCleared);
        }
        if (stamp) {
          (void)events_.record(apikey_object, EventType::Normal, "ConsumerHeld",
                               "pod " + action.target + " holds key version " +
                                   std::to_string(settings.key_version - 1) +
                                   " (keyward.dev/hold); its restart waits for the hold to be "
                                   "released or to time out");
        }
        break;
      }
      case RestartAction::Kind::RolloutRestart: {
        kube::ResourceType type =
            action.owner_kind == "Deployment"    ? kube::ResourceType::deployments()
            : action.owner_kind == "StatefulSet" ? kube::ResourceType::statefulsets()
                                                 : kube::ResourceType::daemonsets();
        const kube::Object patch = {
            {"metadata",
             {{"annotations",
               {{std::string(apikey::annotation::kRestartedForVersion),
                 std::to_string(settings.key_version)}}}}},
            {"spec",
             {{"template",
               {{"metadata",
                 {{"annotations",
                   {{std::string(apikey::annotation::kRestartedAt), format_rfc3339(now)}}}}}}}}}};
        auto patched = api_.patch(type, ns, action.target, kube::PatchType::Merge, patch);
        if (!patched) return fail(patched.error());
        ++report.restarts;
        if (metrics_ != nullptr) {
          metrics_->restarts_total.inc(
              {{"namespace", ns}, {"name", name}, {"strategy", "RolloutRestart"}});
        }
        logger_.info("rollout restart for a new key version",
                     {{"object", ns + "/" + name},
                      {"owner", action.owner_kind + "/" + action.target},
                      {"keyVersion", settings.key_version}});
        (void)events_.record(apikey_object, EventType::Normal, "ConsumersRestarted",
                             "rollout restart of " + action.owner_kind + "/" + action.target +
                                 " for key version " + std::to_string(settings.key_version));
        break;
      }
      case RestartAction::Kind::Evict: {
        const kube::Object eviction = {{"apiVersion", "policy/v1"},
                                       {"kind", "Eviction"},
                                       {"metadata", {{"name", action.target}, {"namespace", ns}}}};
        auto evicted = api_.create_subresource(kube::ResourceType::pods(), ns, action.target,
                                               "eviction", eviction);
        if (!evicted) {
          if (evicted.error().http_status == 429) {
            report.refused.push_back(action.target);
            auto& wake = report.plan.wake_at;
            const SystemTime retry = now + kEvictionRetry;
            if (!wake || retry < *wake) wake = retry;
            (void)events_.record(apikey_object, EventType::Warning, "EvictionBlocked",
                                 "eviction of pod " + action.target +
                                     " refused by a PodDisruptionBudget; retrying in " +
                                     std::to_string(kEvictionRetry.count()) + "s");
            continue;
          }
          if (evicted.error().http_status == 404) continue;
          return fail(evicted.error());
        }
        wrote_pod(ns, action.target, uid_of(action.target), Expect::Terminating);
        ++report.restarts;
        if (metrics_ != nullptr) {
          metrics_->restarts_total.inc({{"namespace", ns}, {"name", name}, {"strategy", "Evict"}});
        }
        (void)events_.record(apikey_object, EventType::Normal, "ConsumerEvicted",
                             "evicted pod " + action.target + " for key version " +
                                 std::to_string(settings.key_version));
        break;
      }
    }
  }
  for (const auto& e : report.plan.escalations) {
    {
      std::lock_guard lock(mu_);
      if (!escalated_.insert(ns + "/" + e.pod + "@" + format_rfc3339(e.deadline)).second) continue;
    }
    if (metrics_ != nullptr)
      metrics_->hold_escalations_total.inc({{"namespace", ns}, {"name", name}});
    (void)events_.record(apikey_object, EventType::Warning, "HoldEscalated",
                         "pod " + e.pod + " still holds the old key (" + e.reason +
                             "); it will be restarted at " + format_rfc3339(e.deadline) +
                             " when its hold times out or its key expires");
  }
  return report;
}

}  // namespace keyward::controller
