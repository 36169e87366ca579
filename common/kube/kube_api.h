#pragma once
// The Kubernetes API as the rest of Keyward sees it. Controllers, the webhook and the leader
// elector take a KubeApi& and never include an HTTP library. KubeClient (kube_client.h) is the
// implementation over HttpTransport; tests run it against tests/fake_apiserver.
//
// Objects are nlohmann::json in the API's own shape (apiVersion, kind, metadata, spec, status).
// Errors: Error::reason is the API Status `reason` ("NotFound", "Conflict", "AlreadyExists",
// "Invalid", "Forbidden", "Expired"/"Gone" for 410, "TooManyRequests", "InternalError"), or
// "Unreachable" / "InvalidResponse" when no Status came back; Error::http_status is the code;
// Error::message is the API's message prefixed with the verb and object.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "common/core/result.h"

namespace keyward::kube {

using Object = nlohmann::json;

struct ResourceType {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string plural;   // "pods"
  std::string kind;     // "Pod"
  bool namespaced = true;

  [[nodiscard]] std::string api_version() const {
    return group.empty() ? version : group + "/" + version;
  }

  static ResourceType pods() { return {"", "v1", "pods", "Pod", true}; }
  static ResourceType secrets() { return {"", "v1", "secrets", "Secret", true}; }
  static ResourceType events() { return {"", "v1", "events", "Event", true}; }
  static ResourceType namespaces() { return {"", "v1", "namespaces", "Namespace", false}; }
  static ResourceType deployments() { return {"apps", "v1", "deployments", "Deployment", true}; }
  static ResourceType statefulsets() { return {"apps", "v1", "statefulsets", "StatefulSet", true}; }
  static ResourceType daemonsets() { return {"apps", "v1", "daemonsets", "DaemonSet", true}; }
  static ResourceType replicasets() { return {"apps", "v1", "replicasets", "ReplicaSet", true}; }
  static ResourceType leases() { return {"coordination.k8s.io", "v1", "leases", "Lease", true}; }
  static ResourceType pdbs() {
    return {"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true};
  }
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // for list: "" = most recent (quorum); for watch: resume point
  int limit = 0;                 // 0 = no paging
  std::string continue_token;
  int timeout_seconds = 0;      // watch: server-side timeout (0 = server default)
  bool allow_bookmarks = true;  // watch only
};

struct ObjectList {
  std::vector<Object> items;
  std::string resource_version;  // the list's metadata.resourceVersion: where a watch resumes
  std::string continue_token;
};

enum class WatchEventType { Added, Modified, Deleted, Bookmark, Error };

struct WatchEvent {
  WatchEventType type = WatchEventType::Added;
  Object object;  // for Error: the Status object (code 410 means the resourceVersion is gone)
};

enum class PatchType { Merge, JsonPatch, StrategicMerge };

struct DeleteOptions {
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
  std::string propagation_policy;  // "", "Foreground", "Background", "Orphan"
};

class KubeApi {
 public:
  KubeApi() = default;
  KubeApi(const KubeApi&) = delete;
  KubeApi& operator=(const KubeApi&) = delete;
  virtual ~KubeApi() = default;

  virtual Result<Object> get(const ResourceType& type, const std::string& ns,
                             const std::string& name) = 0;
  virtual Result<ObjectList> list(const ResourceType& type, const std::string& ns,
                                  const ListOptions& options) = 0;
  virtual Result<Object> create(const ResourceType& type, const std::string& ns,
                                const Object& object) = 0;
  // PUT; metadata.resourceVersion in the object makes it conditional (409 Conflict if stale).
  virtual Result<Object> update(const ResourceType& type, const Object& object) = 0;
  // PUT to the /status subresource.
  virtual Result<Object> update_status(const ResourceType& type, const Object& object) = 0;
  virtual Result<Object> patch(const ResourceType& type, const std::string& ns,
                               const std::string& name, PatchType patch_type, const Object& patch,
                               bool status_subresource = false) = 0;
  virtual Status remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {}) = 0;
  // POST to a subresource, e.g. "eviction" on pods (a 429 means a PDB refused it).
  virtual Result<Object> create_subresource(const ResourceType& type, const std::string& ns,
                                            const std::string& name, const std::string& subresource,
                                            const Object& body) = 0;
  // One watch connection: calls on_event for each event until the server closes the stream,
  // on_event returns false, or stop is requested. Returns ok at a normal end; an Error when the
  // connection failed or the server answered with an error status. A 410 arrives either as an
  // Error with http_status 410 or as a WatchEvent of type Error whose object.code is 410.
  virtual Status watch(const ResourceType& type, const std::string& ns, const ListOptions& options,
                       const std::function<bool(const WatchEvent&)>& on_event,
                       std::stop_token stop) = 0;
  // GET on any path, e.g. "/version".
  virtual Result<Object> get_path(const std::string& path) = 0;
};

// Runs fn (which re-reads the object, applies its change and writes it) until it does not fail
// with reason "Conflict" (HTTP 409), at most max_attempts times; returns the last result. fn
// must re-get the object each time: a conflict means its copy was stale.
template <class F>
auto retry_on_conflict(F&& fn, int max_attempts = 5) -> decltype(fn()) {
  auto conflict = [](const auto& r) {
    return !r && (r.error().reason == "Conflict" || r.error().http_status == 409);
  };
  auto result = fn();
  for (int attempt = 1; attempt < max_attempts && conflict(result); ++attempt) result = fn();
  return result;
}

}  // namespace keyward::kube
