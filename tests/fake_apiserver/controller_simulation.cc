#include "tests/fake_apiserver/controller_simulation.h"

#include <cstdio>
#include <map>

namespace keyward::testing::fake {

using nlohmann::json;

namespace {

// FNV-1a of the template, as a short lowercase hex label value.
std::string template_hash(const json& pod_template) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : pod_template.dump()) {
    h ^= c;
    h *= 16777619u;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return std::string(buf).substr(0, 8);
}

std::string controller_uid(const json& object) {
  for (const auto& ref :
       object.value("metadata", json::object()).value("ownerReferences", json::array())) {
    if (ref.value("controller", false)) return ref.value("uid", "");
  }
  return {};
}

bool ready(const json& pod) {
  for (const auto& c : pod.value("status", json::object()).value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

json owner_ref(const json& owner) {
  return {{"apiVersion", owner.value("apiVersion", "")},
          {"kind", owner.value("kind", "")},
          {"name", meta_string(owner, "name")},
          {"uid", meta_string(owner, "uid")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

}  // namespace

ControllerSimulation::ControllerSimulation(ObjectStore& store) : store_(store) {}

ControllerSimulation::~ControllerSimulation() { stop(); }

void ControllerSimulation::start() {
  if (thread_.joinable()) return;
  channel_ = store_.subscribe(
      {"apps/deployments", "apps/replicasets", "apps/statefulsets", "apps/daemonsets", "/pods"});
  reconcile_namespace("");
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void ControllerSimulation::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  channel_->close();
  thread_.join();
  thread_ = std::jthread();
}

void ControllerSimulation::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    WatchEvent event;
    auto popped = channel_->pop(event, std::chrono::steady_clock::now() + std::chrono::seconds(1));
    if (popped == WatchChannel::Pop::Closed) return;
    if (popped == WatchChannel::Pop::Timeout) continue;
    std::string ns = meta_string(*event.object, "namespace");
    if (event.storage_key == "apps/deployments" || event.storage_key == "apps/statefulsets" ||
        event.storage_key == "apps/daemonsets") {
      if (event.type != "DELETED") reconcile_namespace(ns);
    } else if (event.type == "DELETED") {
      reconcile_namespace(ns);  // a pod or replica set went away: fill the gap
    }
  }
}

void ControllerSimulation::reconcile_namespace(const std::string& ns) {
  auto info = store_.find_resource("apps", "v1", "deployments");
  auto deployments = store_.list(*info, ns, {});
  if (deployments) {
    for (const ObjectPtr& d : deployments->items) reconcile(*d);
  }
  for (const char* plural : {"statefulsets", "daemonsets"}) {
    auto owners = store_.list(*store_.find_resource("apps", "v1", plural), ns, {});
    if (!owners) continue;
    for (const ObjectPtr& o : owners->items) reconcile_direct_owner(*o);
  }
}

// StatefulSets and DaemonSets own their pods directly. A StatefulSet keeps pods <name>-0..N-1, a
// DaemonSet one pod per Node (the store's Node objects; "fake-node" when there are none). Each
// pod carries controller-revision-hash; when the template changes the pods of the old revision
// are deleted and recreated from the new one at once (no pacing), as the Deployment simulation
// does; deleted or evicted pods are recreated.
void ControllerSimulation::reconcile_direct_owner(const json& owner) {
  const ResourceInfo pod_info = *store_.find_resource("", "v1", "pods");
  if (!meta_string(owner, "deletionTimestamp").empty()) return;
  const bool stateful = owner.value("kind", "") == "StatefulSet";
  const std::string ns = meta_string(owner, "namespace");
  const std::string name = meta_string(owner, "name");
  const std::string uid = meta_string(owner, "uid");
  const json spec = owner.value("spec", json::object());
  const json pod_template = spec.value("template", json::object());
  const std::string hash = template_hash(pod_template);

  std::vector<std::string> slots;  // pod names (StatefulSet) or node names (DaemonSet)
  if (stateful) {
    for (long long i = 0; i < spec.value("replicas", 1LL); ++i)
      slots.push_back(name + "-" + std::to_string(i));
  } else {
    auto nodes = store_.list(*store_.find_resource("", "v1", "nodes"), "", {});
    if (nodes) {
      for (const ObjectPtr& n : nodes->items) slots.push_back(meta_string(*n, "name"));
    }
    if (slots.empty()) slots.push_back("fake-node");
  }
  auto all_pods = store_.list(pod_info, ns, {});
  if (!all_pods) return;
  std::map<std::string, ObjectPtr> by_slot;
  for (const ObjectPtr& p : all_pods->items) {
    if (controller_uid(*p) != uid || !meta_string(*p, "deletionTimestamp").empty()) continue;
    const json labels = labels_of(*p);
    if (labels.value("controller-revision-hash", "") != hash) {
      (void)store_.remove(pod_info, ns, meta_string(*p, "name"), json::object());
      continue;
    }
    const std::string slot =
        stateful ? meta_string(*p, "name") : (*p)["spec"].value("nodeName", "");
    by_slot[slot] = p;
  }
  for (const std::string& slot : slots) {
    if (by_slot.contains(slot)) continue;
    json labels = pod_template.value("metadata", json::object()).value("labels", json::object());
    labels["controller-revision-hash"] = hash;
    json pod_spec = pod_template.value("spec", json::object());
    pod_spec["nodeName"] = stateful ? "fake-node" : slot;
    json conditions = json::array();
    for (const char* type : {"PodScheduled", "Initialized", "ContainersReady", "Ready"}) {
      conditions.push_back({{"type", type}, {"status", "True"}});
    }
    json metadata = {
        {"namespace", ns},
        {"labels", labels},
        {"annotations",
         pod_template.value("metadata", json::object()).value("annotations", json::object())},
        {"ownerReferences", json::array({owner_ref(owner)})}};
    if (stateful) {
      metadata["name"] = slot;
    } else {
      metadata["generateName"] = name + "-";
    }
    json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", metadata},
                {"spec", pod_spec},
                {"status", {{"phase", "Running"}, {"conditions", conditions}}}};
    WriteOptions keep;
    keep.keep_status = true;
    (void)store_.create(pod_info, ns, pod, keep);
  }
}

void ControllerSimulation::reconcile(const json& deployment) {
  const ResourceInfo rs_info = *store_.find_resource("apps", "v1", "replicasets");
  const ResourceInfo pod_info = *store_.find_resource("", "v1", "pods");
  const ResourceInfo deploy_info = *store_.find_resource("apps", "v1", "deployments");
  if (!meta_string(deployment, "deletionTimestamp").empty()) return;
  std::string ns = meta_string(deployment, "namespace");
  std::string name = meta_string(deployment, "name");
  std::string uid = meta_string(deployment, "uid");
  const json spec = deployment.value("spec", json::object());
  long long replicas = spec.value("replicas", 1LL);
  json pod_template = spec.value("template", json::object());
  std::string hash = template_hash(pod_template);
  std::string rs_name = name + "-" + hash;

  // The ReplicaSet of the current template.
  auto rs = store_.get(rs_info, ns, rs_name);
  if (!rs) {
    json labels = pod_template.value("metadata", json::object()).value("labels", json::object());
    labels["pod-template-hash"] = hash;
    json rs_template = pod_template;
    rs_template["metadata"]["labels"] = labels;
    json selector = spec.value("selector", json::object());
    selector["matchLabels"]["pod-template-hash"] = hash;
    json object = {
        {"apiVersion", "apps/v1"},
        {"kind", "ReplicaSet"},
        {"metadata",
         {{"name", rs_name},
          {"namespace", ns},
          {"labels", labels},
          {"ownerReferences", json::array({owner_ref(deployment)})}}},
        {"spec", {{"replicas", replicas}, {"selector", selector}, {"template", rs_template}}}};
    rs = store_.create(rs_info, ns, object);
    if (!rs) return;
  } else if ((**rs)["spec"].value("replicas", 0LL) != replicas) {
    (void)store_.patch(rs_info, ns, rs_name, "application/merge-patch+json",
                       json{{"spec", {{"replicas", replicas}}}}.dump(), false);
  }
  std::string rs_uid = meta_string(**rs, "uid");

  // Every ReplicaSet this Deployment controls, and their pods.
  auto all_rs = store_.list(rs_info, ns, {});
  auto all_pods = store_.list(pod_info, ns, {});
  if (!all_rs || !all_pods) return;
  std::map<std::string, ObjectPtr> owned_rs;  // uid -> replica set
  for (const ObjectPtr& r : all_rs->items) {
    if (controller_uid(*r) == uid) owned_rs[meta_string(*r, "uid")] = r;
  }
  std::vector<ObjectPtr> current_pods;
  std::vector<ObjectPtr> old_pods;
  for (const ObjectPtr& p : all_pods->items) {
    std::string owner = controller_uid(*p);
    if (!owned_rs.contains(owner) || !meta_string(*p, "deletionTimestamp").empty()) continue;
    (owner == rs_uid ? current_pods : old_pods).push_back(p);
  }

  // New pods first (surge), then the old ones go.
  json pod_labels = pod_template.value("metadata", json::object()).value("labels", json::object());
  pod_labels["pod-template-hash"] = hash;
  json annotations =
      pod_template.value("metadata", json::object()).value("annotations", json::object());
  for (long long i = static_cast<long long>(current_pods.size()); i < replicas; ++i) {
    json pod_spec = pod_template.value("spec", json::object());
    pod_spec["nodeName"] = "fake-node";
    json conditions = json::array();
    for (const char* type : {"PodScheduled", "Initialized", "ContainersReady", "Ready"}) {
      conditions.push_back({{"type", type}, {"status", "True"}});
    }
    json pod = {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata",
         {{"generateName", rs_name + "-"},
          {"namespace", ns},
          {"labels", pod_labels},
          {"annotations", annotations},
          {"ownerReferences", json::array({owner_ref(**rs)})}}},
        {"spec", pod_spec},
        {"status", {{"phase", "Running"}, {"conditions", conditions}, {"podIP", "10.0.0.1"}}}};
    WriteOptions keep;
    keep.keep_status = true;
    if (auto created = store_.create(pod_info, ns, pod, keep)) current_pods.push_back(*created);
  }
  while (static_cast<long long>(current_pods.size()) > replicas) {
    (void)store_.remove(pod_info, ns, meta_string(*current_pods.back(), "name"), json::object());
    current_pods.pop_back();
  }
  for (const ObjectPtr& p : old_pods)
    (void)store_.remove(pod_info, ns, meta_string(*p, "name"), json::object());
  for (const auto& [ruid, r] : owned_rs) {
    if (ruid != rs_uid && (*r)["spec"].value("replicas", 0LL) != 0) {
      (void)store_.patch(rs_info, ns, meta_string(*r, "name"), "application/merge-patch+json",
                         json{{"spec", {{"replicas", 0}}}}.dump(), false);
    }
  }

  long long ready_count = 0;
  for (const ObjectPtr& p : current_pods) ready_count += ready(*p) ? 1 : 0;
  auto rs_now = store_.get(rs_info, ns, rs_name);
  if (rs_now) {
    json status = {{"replicas", current_pods.size()},
                   {"fullyLabeledReplicas", current_pods.size()},
                   {"readyReplicas", ready_count},
                   {"availableReplicas", ready_count},
                   {"observedGeneration", (**rs_now)["metadata"].value("generation", 1)}};
    json next = **rs_now;
    next["status"] = status;
    (void)store_.update(rs_info, ns, rs_name, next, true);
  }
  auto d_now = store_.get(deploy_info, ns, name);
  if (d_now) {
    json status = {
        {"observedGeneration", (**d_now)["metadata"].value("generation", 1)},
        {"replicas", current_pods.size()},
        {"updatedReplicas", current_pods.size()},
        {"readyReplicas", ready_count},
        {"availableReplicas", ready_count},
        {"unavailableReplicas", replicas - ready_count > 0 ? replicas - ready_count : 0},
        {"conditions", json::array({{{"type", "Available"},
                                     {"status", ready_count >= replicas ? "True" : "False"},
                                     {"reason", "MinimumReplicasAvailable"}},
                                    {{"type", "Progressing"},
                                     {"status", "True"},
                                     {"reason", "NewReplicaSetAvailable"},
                                     {"message", "ReplicaSet \"" + rs_name +
                                                     "\" has successfully progressed."}}})}};
    json next = **d_now;
    next["status"] = status;
    (void)store_.update(deploy_info, ns, name, next, true);
  }
}

}  // namespace keyward::testing::fake
