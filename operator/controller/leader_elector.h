#pragma once
// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package:
// a candidate creates or takes over the Lease when it is free or its holder stopped renewing
// for leaseDurationSeconds (measured on OUR clock from when we last saw the record change, so
// clock skew between replicas does not matter); the leader renews every retry period and gives
// up when it could not renew for the renew deadline; writes are conditional on resourceVersion;
// a graceful stop releases the Lease by clearing holderIdentity so a standby takes over at once.
//
// is_leader() is time-based: it turns false the moment the renew deadline passes without a
// successful renewal, even if the election thread is stuck, so a paused leader stops
// reconciling before anyone else may take over (renew deadline < lease duration).

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/kube/kube_api.h"

namespace keyward::controller {

struct LeaderElectionConfig {
  std::string lease_namespace = "default";
  std::string lease_name = "keyward-operator";
  std::string identity;  // unique per replica, e.g. the pod name plus a random suffix
  Seconds lease_duration{15};
  Seconds renew_deadline{10};
  Seconds retry_period{2};
};

class LeaderElector {
 public:
  using Callback = std::function<void()>;

  LeaderElector(kube::KubeApi& api, Clock& clock, Logger logger, LeaderElectionConfig config);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // One step: acquire the Lease or renew it. Returns true when we hold it afterwards.
  // Tests drive the election with this and a FakeClock; start() loops over it.
  bool try_acquire_or_renew();

  // True while we hold the Lease and the last renewal is younger than the renew deadline.
  [[nodiscard]] bool is_leader() const;
  [[nodiscard]] const std::string& identity() const { return config_.identity; }

  // Runs the election on a thread: on_started_leading when the Lease is won, on_stopped_leading
  // when it is lost (renew deadline passed) or on stop(). Both run on the election thread (or
  // on the thread calling stop()).
  void start(Callback on_started_leading, Callback on_stopped_leading);
  // Stops the loop, calls on_stopped_leading if leading, releases the Lease. Idempotent.
  void stop();

  // Gives the Lease up (holderIdentity cleared) if we hold it.
  Status release();

 private:
  void loop(std::stop_token stop);
  kube::Object lease_body(const std::optional<kube::Object>& current, bool taking_over) const;

  kube::KubeApi& api_;
  Clock& clock_;
  Logger logger_;
  const LeaderElectionConfig config_;

  mutable std::mutex mu_;  // guards the fields below
  bool leading_ = false;
  SystemTime last_renew_{};      // our clock, at the last successful acquire/renew
  std::string observed_record_;  // holder + renewTime of the last Lease we saw
  SystemTime observed_time_{};   // our clock, when observed_record_ last changed

  Callback on_started_;
  Callback on_stopped_;
  Wakeup wakeup_;
  std::jthread thread_;
};

}  // namespace keyward::controller
