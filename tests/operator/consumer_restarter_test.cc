#include "operator/controller/consumer_restarter.h"

#include <gtest/gtest.h>

#include "common/kube/object_meta.h"
#include "operator/controller/apikey_reconciler.h"
#include "tests/operator/operator_fixture.h"

namespace keyward::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

Json pod(const std::string& name, int version, const Json& extra_annotations = Json::object(),
         const Json& owner = nullptr, bool ready = true) {
  Json annotations = {{"keyward.dev/key-version", std::to_string(version)}};
  if (extra_annotations.is_object()) annotations.merge_patch(extra_annotations);
  Json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata",
             {{"name", name},
              {"namespace", "bots"},
              {"labels", {{"keyward.dev/apikey", "alpha"}, {"app", "alpha"}}},
              {"annotations", annotations}}},
            {"status",
             {{"phase", "Running"},
              {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
  if (!owner.is_null()) p["metadata"]["ownerReferences"] = Json::array({owner});
  return p;
}

class RestartTest : public OperatorTest {
 protected:
  // An ApiKey rotating hourly with the given consumers/rotation overrides; settles at version 1.
  std::unique_ptr<controller::ApiKeyReconciler> start(const Json& overrides) {
    Json spec = {{"rotation", {{"intervalSeconds", 3600}, {"gracePeriodSeconds", 3600}}}};
    if (overrides.is_object()) spec.merge_patch(overrides);
    put(make_apikey("alpha", spec));
    auto r = make_reconciler();
    settle(*r);
    return r;
  }
  // Deployment alpha-bot and its ReplicaSet alpha-bot-7c9; returns the owner reference its pods
  // carry.
  Json put_deployment() {
    const Json deployment = put(
        Json{{"apiVersion", "apps/v1"},
             {"kind", "Deployment"},
             {"metadata", {{"name", "alpha-bot"}, {"namespace", "bots"}}},
             {"spec",
              {{"replicas", 2}, {"template", {{"metadata", {{"labels", {{"app", "alpha"}}}}}}}}}});
    const Json replicaset = put(Json{{"apiVersion", "apps/v1"},
                                     {"kind", "ReplicaSet"},
                                     {"metadata",
                                      {{"name", "alpha-bot-7c9"},
                                       {"namespace", "bots"},
                                       {"ownerReferences",
                                        {{{"apiVersion", "apps/v1"},
                                          {"kind", "Deployment"},
                                          {"name", "alpha-bot"},
                                          {"controller", true},
                                          {"uid", deployment["metadata"]["uid"]}}}}}}});
    return Json{{"apiVersion", "apps/v1"},
                {"kind", "ReplicaSet"},
                {"name", "alpha-bot-7c9"},
                {"controller", true},
                {"uid", replicaset["metadata"]["uid"]}};
  }
  void rotate(controller::ApiKeyReconciler& r) {
    const auto v = key_version();
    clock.advance(hours(1));
    settle(r);
    ASSERT_EQ(key_version(), v + 1);
  }
};

TEST_F(RestartTest, DeploymentPodsGetOneRolloutRestartPerKeyVersion) {
  const Json rs_ref = put_deployment();
  put(pod("alpha-bot-7c9-a", 1, {}, rs_ref));
  put(pod("alpha-bot-7c9-b", 1, {}, rs_ref));
  auto r = start({});
  EXPECT_EQ(apikey()["status"]["consumers"]["upToDate"], 2);
  EXPECT_EQ(requests("PATCH", "/deployments/") + requests("PUT", "/deployments/"), 0u);

  rotate(*r);
  const Json deploy = *find("deployments", "bots", "alpha-bot");
  EXPECT_EQ(
      deploy["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
      format_rfc3339(clock.now()));
  EXPECT_EQ(kube::annotation(deploy, "keyward.dev/restarted-for-version"), "2");
  EXPECT_EQ(apikey()["status"]["consumers"]["stale"], 2);
  EXPECT_EQ(condition("Rotating")["status"], "True");
  EXPECT_EQ(condition("Rotating")["reason"], "RestartingConsumers");
  // The old pods are still there (the Deployment replaces them); no second restart.
  for (int i = 0; i < 3; ++i) {
    clock.advance(seconds(20));
    settle(*r);
  }
  EXPECT_EQ(requests("PATCH", "/deployments/") + requests("PUT", "/deployments/"), 1u);
  EXPECT_EQ(metrics.restarts_total.value(
                {{"namespace", "bots"}, {"name", "alpha"}, {"strategy", "RolloutRestart"}}),
            1);
  EXPECT_EQ(events_with("ConsumersRestarted").size(), 1u);

  // The Deployment rolled: new pods on version 2.
  ASSERT_TRUE(api.remove(kube::ResourceType::pods(), "bots", "alpha-bot-7c9-a", {}));
  ASSERT_TRUE(api.remove(kube::ResourceType::pods(), "bots", "alpha-bot-7c9-b", {}));
  put(pod("alpha-bot-8d1-x", 2, {}, rs_ref));
  settle(*r);
  EXPECT_EQ(apikey()["status"]["consumers"]["upToDate"], 1);
  EXPECT_EQ(apikey()["status"]["consumers"]["stale"], 0);
  EXPECT_EQ(condition("Rotating")["status"], "False");
}

// An owner that cannot be looked up fails the pass instead of counting as "no owner": otherwise
// a held pod whose ReplicaSet GET failed would not protect its Deployment from a rollout.
TEST_F(RestartTest, AnOwnerLookupFailureNeverRollsAHeldPodsDeployment) {
  const Json rs_ref = put_deployment();
  put(pod("alpha-bot-7c9-a", 1, {{"keyward.dev/hold", "open positions"}}, rs_ref));
  put(pod("alpha-bot-7c9-b", 1, {}, rs_ref));
  auto r = start({});
  clock.advance(hours(1));
  server->fail_next(1, 500, "GET", "/replicasets/");
  EXPECT_FALSE(reconcile(*r)) << "the pass must fail, not guess that the pod has no owner";
  settle(*r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(requests("PATCH", "/deployments/") + requests("PUT", "/deployments/"), 0u)
      << "a Deployment with a held pod was rolled";
  EXPECT_TRUE(find("pods", "bots", "alpha-bot-7c9-a")) << "the held pod was disrupted";
  EXPECT_FALSE(find("pods", "bots", "alpha-bot-7c9-b")) << "its unheld sibling was not evicted";
}

TEST_F(RestartTest, RestartsWaitForTheWindowOrTheKeyExpiry) {
  put(pod("bare", 1));
  // Windows 22:00-23:00Z daily; rotation every hour (inside windows only); 2h grace.
  auto r = start({{"consumers", {{"restartStrategy", "Evict"}}},
                  {"rotation",
                   {{"gracePeriodSeconds", 7200},
                    {"windows", Json::array({{{"name", "w"},
                                              {"start", "0 22 * * *"},
                                              {"durationSeconds", 3600},
                                              {"timeZone", "UTC"}}})}}}});
  // t0 is 12:00Z: the first key is created at once (no key is worse than one outside a window).
  ASSERT_EQ(key_version(), 1);
  clock.set(clock.now() + hours(10));  // 22:00Z: window open, rotation due
  settle(*r);
  ASSERT_EQ(key_version(), 2);
  EXPECT_FALSE(find("pods", "bots", "bare"));  // evicted inside the window

  put(pod("late", 1));                   // another stale pod shows up after the window closed
  clock.advance(hours(1) + minutes(1));  // 23:01Z
  auto action = settle(*r);
  EXPECT_TRUE(find("pods", "bots", "late"));
  EXPECT_EQ(condition("Rotating")["reason"], "WaitingForWindow");
  ASSERT_TRUE(action.requeue_after);
  // The next window opens tomorrow 22:00Z, but the late pod's key expires at 00:00Z (rotation
  // + 2h grace): waiting longer would only keep a broken bot running.
  EXPECT_EQ(format_rfc3339(clock.now() + *action.requeue_after), "2027-03-02T00:00:00Z");
  clock.advance(*action.requeue_after);
  settle(*r);
  EXPECT_FALSE(find("pods", "bots", "late"));
}

TEST_F(RestartTest, HeldPodWaitsUntilReleased) {
  put(pod("bare", 1, {{"keyward.dev/hold", "open positions"}}));
  auto r = start({{"consumers", {{"restartStrategy", "Evict"}, {"holdTimeoutSeconds", 1800}}}});
  rotate(*r);
  const SystemTime rotated = clock.now();
  ASSERT_TRUE(find("pods", "bots", "bare"));
  const Json p = *find("pods", "bots", "bare");
  EXPECT_EQ(kube::annotation(p, "keyward.dev/hold-since"), format_rfc3339(rotated));
  const Json st = apikey()["status"];
  EXPECT_EQ(st["consumers"]["held"], 1);
  ASSERT_EQ(st["holds"].size(), 1u);
  EXPECT_EQ(st["holds"][0]["pod"], "bare");
  EXPECT_EQ(st["holds"][0]["reason"], "open positions");
  EXPECT_EQ(st["holds"][0]["since"], format_rfc3339(rotated));
  EXPECT_EQ(condition("Rotating")["reason"], "ConsumersHeld");

  clock.advance(minutes(10));
  settle(*r);
  EXPECT_TRUE(find("pods", "bots", "bare"));
  // The bot closes its positions and releases the hold.
  Json released = *find("pods", "bots", "bare");
  released["metadata"]["annotations"].erase("keyward.dev/hold");
  put(released);
  settle(*r);
  EXPECT_FALSE(find("pods", "bots", "bare"));
  EXPECT_EQ(metrics.restarts_total.value(
                {{"namespace", "bots"}, {"name", "alpha"}, {"strategy", "Evict"}}),
            1);
}

TEST_F(RestartTest, HeldPodEscalatesBeforeTheKeyExpiresAndIsRestartedThen) {
  put(pod("bare", 1, {{"keyward.dev/hold", "open positions"}}));
  // Grace (20 min) ends before the hold timeout (60 min): the grace end is the deadline.
  auto r = start({{"consumers", {{"restartStrategy", "Evict"}, {"holdTimeoutSeconds", 3600}}},
                  {"rotation", {{"gracePeriodSeconds", 1200}}}});
  rotate(*r);
  const SystemTime rotated = clock.now();
  auto action = settle(*r);
  ASSERT_TRUE(action.requeue_after);
  EXPECT_EQ(rotated + *action.requeue_after, rotated + minutes(15));  // escalation moment
  EXPECT_TRUE(events_with("HoldEscalated").empty());

  clock.set(rotated + minutes(15));
  action = settle(*r);
  EXPECT_TRUE(find("pods", "bots", "bare"));
  auto escalated = events_with("HoldEscalated");
  ASSERT_EQ(escalated.size(), 1u);
  EXPECT_EQ(escalated[0]["type"], "Warning");
  EXPECT_EQ(condition("Degraded")["status"], "True");
  EXPECT_EQ(condition("Degraded")["reason"], "HoldEscalated");
  const Labels key{{"namespace", "bots"}, {"name", "alpha"}};
  EXPECT_EQ(metrics.hold_escalations_total.value(key), 1);
  EXPECT_EQ(metrics.apikey_condition.value({{"namespace", "bots"},
                                            {"name", "alpha"},
                                            {"condition", "Degraded"},
                                            {"reason", "HoldEscalated"}}),
            1);
  EXPECT_EQ(metrics.consumers.value({{"namespace", "bots"}, {"name", "alpha"}, {"state", "held"}}),
            1);
  ASSERT_TRUE(action.requeue_after);
  EXPECT_EQ(clock.now() + *action.requeue_after, rotated + minutes(20));
  settle(*r);
  EXPECT_EQ(metrics.hold_escalations_total.value(key), 1) << "escalated once, not per pass";

  clock.set(rotated + minutes(20));
  settle(*r);
  EXPECT_FALSE(find("pods", "bots", "bare"));  // restarted despite the hold, at key expiry
  EXPECT_EQ(condition("Degraded")["status"], "False");
}

TEST_F(RestartTest, PdbRefusalIsRetriedWithAWarningEvent) {
  put(pod("bare", 1));
  put(Json{{"apiVersion", "policy/v1"},
           {"kind", "PodDisruptionBudget"},
           {"metadata", {{"name", "alpha-pdb"}, {"namespace", "bots"}}},
           {"spec", {{"minAvailable", 1}, {"selector", {{"matchLabels", {{"app", "alpha"}}}}}}}});
  auto r = start({{"consumers", {{"restartStrategy", "Evict"}}}});
  clock.advance(hours(1));
  auto action = reconcile(*r);
  ASSERT_TRUE(action) << action.error().to_string();
  EXPECT_EQ(key_version(), 2);
  EXPECT_TRUE(find("pods", "bots", "bare"));
  EXPECT_EQ(action->requeue_after, controller::kEvictionRetry);
  auto blocked = events_with("EvictionBlocked");
  ASSERT_EQ(blocked.size(), 1u);
  EXPECT_EQ(blocked[0]["type"], "Warning");
  EXPECT_EQ(blocked[0]["involvedObject"]["kind"], "ApiKey");
  EXPECT_EQ(blocked[0]["source"]["component"], "keyward-operator");

  clock.advance(controller::kEvictionRetry);
  ASSERT_TRUE(reconcile(*r));
  EXPECT_EQ(events_with("EvictionBlocked").size(), 1u);
  EXPECT_EQ(events_with("EvictionBlocked")[0]["count"], 2);  // aggregated
  // A second replica becomes ready: the budget allows the eviction.
  put(pod("bare-2", 2));
  clock.advance(controller::kEvictionRetry);
  ASSERT_TRUE(reconcile(*r));
  EXPECT_FALSE(find("pods", "bots", "bare"));
}

// "bots/alpha" in namespace bots is the same key as "alpha" (one parser, pod_assignment.h):
// the pod counts as a consumer and is restarted; another namespace's key is not this key.
TEST_F(RestartTest, TheNamespacedInjectAnnotationIsAConsumerToo) {
  Json qualified = pod("qualified", 1);
  qualified["metadata"].erase("labels");
  qualified["metadata"]["annotations"]["keyward.dev/inject"] = "bots/alpha";
  put(qualified);
  Json foreign = pod("foreign", 1);
  foreign["metadata"].erase("labels");
  foreign["metadata"]["annotations"]["keyward.dev/inject"] = "other/alpha";
  put(foreign);
  auto r = start({{"consumers", {{"restartStrategy", "Evict"}}}});
  EXPECT_EQ(apikey()["status"]["consumers"]["upToDate"], 1);
  rotate(*r);
  settle(*r);
  EXPECT_FALSE(find("pods", "bots", "qualified")) << "the stale consumer was not restarted";
  EXPECT_TRUE(find("pods", "bots", "foreign")) << "a pod of another namespace's key was touched";
}

TEST_F(RestartTest, StrategyNoneOnlyReports) {
  put(pod("bare", 1));
  auto r = start({{"consumers", {{"restartStrategy", "None"}}}});
  rotate(*r);
  settle(*r);
  EXPECT_TRUE(find("pods", "bots", "bare"));
  EXPECT_EQ(requests("POST", "/eviction"), 0u);
  EXPECT_EQ(apikey()["status"]["consumers"]["stale"], 1);
}

TEST(PlanRestartsTest, PacesEvictionsByMaxUnavailable) {
  controller::RestartSettings settings;
  settings.key_version = 2;
  settings.consumers.restart_strategy = apikey::RestartStrategy::Evict;
  settings.consumers.max_unavailable = 2;
  const SystemTime now{};
  std::vector<controller::PodView> pods(4);
  for (int i = 0; i < 4; ++i) {
    pods[static_cast<std::size_t>(i)].name = "p" + std::to_string(i);
    pods[static_cast<std::size_t>(i)].key_version = 1;
    pods[static_cast<std::size_t>(i)].ready = true;
  }
  auto plan = controller::plan_restarts(pods, settings, now);
  ASSERT_EQ(plan.actions.size(), 2u);
  EXPECT_EQ(plan.actions[0].target, "p0");
  EXPECT_EQ(plan.actions[1].target, "p1");
  EXPECT_EQ(plan.counts.stale, 4);
  ASSERT_TRUE(plan.wake_at);
  EXPECT_EQ(*plan.wake_at, now + controller::kStaleRecheck);

  pods[0].terminating = true;  // one already going down, one not ready
  pods[1].ready = false;
  plan = controller::plan_restarts(pods, settings, now);
  EXPECT_TRUE(plan.actions.empty());
  EXPECT_EQ(plan.counts.stale, 3);
}

TEST(PlanRestartsTest, OneRolloutRestartPerOwnerEvenWithManyStalePods) {
  controller::RestartSettings settings;
  settings.key_version = 3;
  settings.consumers.max_unavailable = 5;
  std::vector<controller::PodView> pods(3);
  for (std::size_t i = 0; i < 3; ++i) {
    pods[i].name = "p" + std::to_string(i);
    pods[i].key_version = 2;
    pods[i].ready = true;
    pods[i].owner = controller::OwnerView{"StatefulSet", "db", 0};
  }
  auto plan = controller::plan_restarts(pods, settings, SystemTime{});
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].kind, controller::RestartAction::Kind::RolloutRestart);
  EXPECT_EQ(plan.actions[0].owner_kind, "StatefulSet");
  for (auto& p : pods) p.owner->restarted_for_version = 3;
  plan = controller::plan_restarts(pods, settings, SystemTime{});
  EXPECT_TRUE(plan.actions.empty());
}

// A held pod is never replaced by a rollout: with any pod of the owner held, the stale unheld
// pods are evicted one by one instead, and a pod already on the current key (or pending) also
// keeps the owner from being rolled.
TEST(PlanRestartsTest, AHeldPodTurnsTheRolloutIntoEvictionsOfTheOthers) {
  controller::RestartSettings settings;
  settings.key_version = 2;
  settings.consumers.max_unavailable = 1;
  const SystemTime now{};
  for (const char* kind : {"Deployment", "StatefulSet", "DaemonSet"}) {
    std::vector<controller::PodView> pods(3);
    for (std::size_t i = 0; i < 3; ++i) {
      pods[i].name = "p" + std::to_string(i);
      pods[i].key_version = 1;
      pods[i].ready = true;
      pods[i].owner = controller::OwnerView{kind, "bot", 0};
    }
    pods[1].hold_reason = "open positions";
    pods[1].hold_since = now;
    auto plan = controller::plan_restarts(pods, settings, now);
    ASSERT_EQ(plan.actions.size(), 1u) << kind;
    EXPECT_EQ(plan.actions[0].kind, controller::RestartAction::Kind::Evict) << kind;
    EXPECT_EQ(plan.actions[0].target, "p0");
    EXPECT_EQ(plan.counts.held, 1);
    // p0 was replaced and its successor runs the current key: the next one goes, p1 stays.
    pods[0].key_version = 2;
    plan = controller::plan_restarts(pods, settings, now);
    ASSERT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(plan.actions[0].target, "p2");
    // Released: p1 is the last stale pod, and the owner still is not rolled (p0 is current).
    pods[2].key_version = 2;
    pods[1].hold_reason.reset();
    plan = controller::plan_restarts(pods, settings, now);
    ASSERT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(plan.actions[0].kind, controller::RestartAction::Kind::Evict);
    EXPECT_EQ(plan.actions[0].target, "p1");
  }
  // A held pod already on the current key still protects its owner from a rollout.
  std::vector<controller::PodView> pods(2);
  for (std::size_t i = 0; i < 2; ++i) {
    pods[i].name = "q" + std::to_string(i);
    pods[i].ready = true;
    pods[i].owner = controller::OwnerView{"Deployment", "bot", 0};
  }
  pods[0].key_version = 1;
  pods[1].key_version = 2;
  pods[1].hold_reason = "open positions";
  auto plan = controller::plan_restarts(pods, settings, now);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].kind, controller::RestartAction::Kind::Evict);
  EXPECT_EQ(plan.actions[0].target, "q0");
  // And a pending pod (no version yet) too.
  pods[1].key_version.reset();
  pods[1].hold_reason.reset();
  plan = controller::plan_restarts(pods, settings, now);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].kind, controller::RestartAction::Kind::Evict);
  EXPECT_EQ(plan.counts.pending, 1);
}

}  // namespace
}  // namespace keyward::testing
