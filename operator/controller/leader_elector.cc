#include "operator/controller/leader_elector.h"

#include <date/date.h>

#include <utility>

namespace keyward::controller {
namespace {

std::string micro_time(SystemTime t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::microseconds>(t));
}

}  // namespace

LeaderElector::LeaderElector(kube::KubeApi& api, Clock& clock, Logger logger,
                             LeaderElectionConfig config)
    : api_(api), clock_(clock), logger_(std::move(logger)), config_(std::move(config)) {}

LeaderElector::~LeaderElector() { stop(); }

bool LeaderElector::is_leader() const {
  std::lock_guard lock(mu_);
  return leading_ && clock_.now() < last_renew_ + config_.renew_deadline;
}

kube::Object LeaderElector::lease_body(const std::optional<kube::Object>& current,
                                       bool taking_over) const {
  const SystemTime now = clock_.now();
  kube::Object lease =
      current
          ? *current
          : kube::Object{{"apiVersion", "coordination.k8s.io/v1"},
                         {"kind", "Lease"},
                         {"metadata",
                          {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}}};
  auto& spec = lease["spec"];
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = config_.lease_duration.count();
  spec["renewTime"] = micro_time(now);
  if (taking_over || !spec.contains("acquireTime")) {
    spec["acquireTime"] = micro_time(now);
    const int transitions = spec.value("leaseTransitions", 0);
    spec["leaseTransitions"] = current ? transitions + 1 : 0;
  }
  return lease;
}

bool LeaderElector::try_acquire_or_renew() {
  const auto& lease_type = kube::ResourceType::leases();
  auto got = api_.get(lease_type, config_.lease_namespace, config_.lease_name);
  const SystemTime now = clock_.now();
  if (!got) {
    if (got.error().http_status != 404) {
      logger_.warn("cannot read the leader lease",
                   {{"lease", config_.lease_namespace + "/" + config_.lease_name},
                    {"error", got.error().to_string()}});
      return false;
    }
    auto created = api_.create(lease_type, config_.lease_namespace, lease_body(std::nullopt, true));
    std::lock_guard lock(mu_);
    if (!created) {
      leading_ = leading_ && now < last_renew_ + config_.renew_deadline;
      return false;
    }
    leading_ = true;
    last_renew_ = now;
    observed_time_ = now;
    observed_record_ = config_.identity + "@" + created->at("spec").value("renewTime", "");
    return true;
  }

  const kube::Object& spec = got->contains("spec") ? got->at("spec") : kube::Object::object();
  const std::string holder = spec.value("holderIdentity", "");
  const std::string record = holder + "@" + spec.value("renewTime", "");
  const Seconds holder_duration{spec.value("leaseDurationSeconds", 0)};
  bool held_by_other = false;
  {
    std::lock_guard lock(mu_);
    if (record != observed_record_) {
      observed_record_ = record;
      observed_time_ = now;
    }
    held_by_other = !holder.empty() && holder != config_.identity &&
                    now < observed_time_ + std::max(holder_duration, Seconds(1));
    if (held_by_other) leading_ = false;
  }
  if (held_by_other) return false;

  const bool taking_over = holder != config_.identity;
  auto updated = api_.update(lease_type, lease_body(*got, taking_over));
  std::lock_guard lock(mu_);
  if (!updated) {
    // A conflict means somebody else wrote the Lease first; keep leading only until the
    // renew deadline, as client-go does.
    leading_ = leading_ && now < last_renew_ + config_.renew_deadline;
    return false;
  }
  if (taking_over) {
    logger_.info("acquired the leader lease",
                 {{"lease", config_.lease_namespace + "/" + config_.lease_name},
                  {"identity", config_.identity},
                  {"previousHolder", holder}});
  }
  leading_ = true;
  last_renew_ = now;
  observed_time_ = now;
  observed_record_ = config_.identity + "@" + updated->at("spec").value("renewTime", "");
  return true;
}

Status LeaderElector::release() {
  {
    std::lock_guard lock(mu_);
    if (!leading_) return ok();
    leading_ = false;
  }
  const auto& lease_type = kube::ResourceType::leases();
  auto got = api_.get(lease_type, config_.lease_namespace, config_.lease_name);
  if (!got) return fail(got.error());
  if (got->at("spec").value("holderIdentity", "") != config_.identity) return ok();
  kube::Object lease = *got;
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = micro_time(clock_.now());
  auto updated = api_.update(lease_type, lease);
  if (!updated) {
    logger_.warn("cannot release the leader lease", {{"error", updated.error().to_string()}});
    return fail(updated.error());
  }
  logger_.info("released the leader lease",
               {{"lease", config_.lease_namespace + "/" + config_.lease_name}});
  return ok();
}

void LeaderElector::start(Callback on_started_leading, Callback on_stopped_leading) {
  on_started_ = std::move(on_started_leading);
  on_stopped_ = std::move(on_stopped_leading);
  thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

void LeaderElector::loop(std::stop_token stop) {
  bool was_leading = false;
  while (!stop.stop_requested()) {
    try_acquire_or_renew();
    const bool leading = is_leader();
    if (leading && !was_leading && on_started_) on_started_();
    if (!leading && was_leading) {
      logger_.warn("lost the leader lease; stopping the controllers",
                   {{"lease", config_.lease_namespace + "/" + config_.lease_name}});
      if (on_stopped_) on_stopped_();
    }
    was_leading = leading;
    SystemTime wake = clock_.now() + config_.retry_period;
    if (leading) {
      // Wake no later than the moment leadership would lapse, to report it at once.
      std::lock_guard lock(mu_);
      wake = std::min(wake, last_renew_ + config_.renew_deadline);
    }
    clock_.sleep_until(wake, wakeup_, stop);
  }
  if (was_leading && on_stopped_) on_stopped_();
}

void LeaderElector::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    wakeup_.notify();
    thread_.join();
  }
  (void)release();
}

}  // namespace keyward::controller
