#pragma once
// Pods, ApiKeys and AdmissionReviews for the webhook tests.

#include <nlohmann/json.hpp>
#include <string>

namespace keyward::webhook::testing {

using nlohmann::json;

inline json apikey(const std::string& ns, const std::string& name, bool active = true,
                   const json& workload_ref = nullptr, int key_version = 7) {
  json k = {{"apiVersion", "keyward.dev/v1alpha1"},
            {"kind", "ApiKey"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec",
             {{"displayName", "test key"},
              {"active", active},
              {"source", {{"generate", {{"prefix", "nt_"}, {"length", 40}}}}},
              {"tokenExchange",
               {{"provider", "tradovate"}, {"endpoint", "https://demo.tradovateapi.com/v1"}}}}},
            {"status", {{"keyVersion", key_version}}}};
  if (!workload_ref.is_null()) k["spec"]["consumers"] = {{"workloadRef", workload_ref}};
  return k;
}

inline json container(const std::string& name, const json& command = nullptr) {
  json c = {{"name", name}, {"image", "registry.example/" + name + ":1"}};
  if (!command.is_null()) c["command"] = command;
  return c;
}

// A pod annotated for injection with the given containers.
inline json annotated_pod(const std::string& key, json containers,
                          const std::string& name = "bot-1") {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"annotations", {{"keyward.dev/inject", key}}}}},
          {"spec", {{"containers", std::move(containers)}}}};
}

// The pod a Deployment's ReplicaSet creates: owner ReplicaSet "<deployment>-<hash>".
inline json deployment_pod(const std::string& deployment, const std::string& key, json containers) {
  json pod = annotated_pod(key, std::move(containers), "");
  pod["metadata"].erase("name");
  pod["metadata"]["generateName"] = deployment + "-5d8f9c7b6d-";
  pod["metadata"]["labels"] = {{"app", deployment}, {"pod-template-hash", "5d8f9c7b6d"}};
  pod["metadata"]["ownerReferences"] = json::array({{{"apiVersion", "apps/v1"},
                                                     {"kind", "ReplicaSet"},
                                                     {"name", deployment + "-5d8f9c7b6d"},
                                                     {"uid", "rs-uid"},
                                                     {"controller", true}}});
  return pod;
}

inline json review(const json& object, const std::string& ns, const std::string& uid = "uid-1",
                   const std::string& kind = "Pod", const std::string& group = "",
                   const std::string& operation = "CREATE", const json& old_object = nullptr) {
  json request = {
      {"uid", uid},
      {"kind", {{"group", group}, {"version", group.empty() ? "v1" : "v1alpha1"}, {"kind", kind}}},
      {"operation", operation},
      {"namespace", ns},
      {"object", object}};
  if (object.contains("metadata") && object["metadata"].contains("name"))
    request["name"] = object["metadata"]["name"];
  if (!old_object.is_null()) request["oldObject"] = old_object;
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

// The container named `name` in spec.containers or spec.initContainers, or null.
inline json find_container(const json& pod, const std::string& list, const std::string& name) {
  if (!pod["spec"].contains(list)) return nullptr;
  for (const auto& c : pod["spec"][list]) {
    if (c.value("name", "") == name) return c;
  }
  return nullptr;
}

inline json find_volume(const json& pod, const std::string& name) {
  if (!pod["spec"].contains("volumes")) return nullptr;
  for (const auto& v : pod["spec"]["volumes"]) {
    if (v.value("name", "") == name) return v;
  }
  return nullptr;
}

inline bool has_arg_pair(const json& c, const std::string& flag, const std::string& value) {
  const json& args = c["args"];
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag && args[i + 1] == value) return true;
  }
  return false;
}

inline bool has_arg(const json& c, const std::string& flag) {
  for (const auto& a : c["args"]) {
    if (a == flag) return true;
  }
  return false;
}

}  // namespace keyward::webhook::testing
