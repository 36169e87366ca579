#pragma once
// A tiny stand-in for the deployment, replicaset, statefulset, daemonset and kubelet
// controllers, so a rollout restart or an eviction can be seen against the fake (StatefulSets
// and DaemonSets: see reconcile_direct_owner): each Deployment gets a ReplicaSet per pod template
// (named <deployment>-<template hash>) and that many Running, Ready pods; when the template
// changes, pods of the new template are created and the old ones deleted, and Deployment/ReplicaSet
// status (replicas, updatedReplicas, readyReplicas, availableReplicas, observedGeneration,
// conditions) follows. Writes go through the ObjectStore like any API request.
#include <memory>
#include <string>
#include <thread>

#include "tests/fake_apiserver/object_store.h"

namespace keyward::testing::fake {

class ControllerSimulation {
 public:
  explicit ControllerSimulation(ObjectStore& store);
  ~ControllerSimulation();
  ControllerSimulation(const ControllerSimulation&) = delete;
  ControllerSimulation& operator=(const ControllerSimulation&) = delete;
  void start();
  void stop();

  // One reconcile of every Deployment in `ns` ("" = all). Public for tests.
  void reconcile_namespace(const std::string& ns);

 private:
  void run(const std::stop_token& stop);
  void reconcile(const nlohmann::json& deployment);
  void reconcile_direct_owner(const nlohmann::json& statefulset_or_daemonset);

  ObjectStore& store_;
  std::shared_ptr<WatchChannel> channel_;
  std::jthread thread_;
};

}  // namespace keyward::testing::fake
