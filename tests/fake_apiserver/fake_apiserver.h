#pragma once
// An in-process Kubernetes API server for tests, the demo and the benchmarks: real REST
// semantics (resourceVersion, generation, status subresource, finalizers, watch with history,
// bookmarks and 410 Gone, selectors, paging, eviction with PodDisruptionBudgets, discovery and
// Table output for kubectl) over cpp-httplib, with fault injection. See README.md.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/result.h"

namespace keyward::testing {

// Who a bearer token is, for TokenReview (authentication.k8s.io/v1). A pod's bound service
// account token has username system:serviceaccount:<ns>:<sa>, groups system:serviceaccounts,
// system:serviceaccounts:<ns>, system:authenticated, and extra
// authentication.kubernetes.io/pod-name and pod-uid (plus node-name, credential-id); a legacy
// Secret-based token has no extra.
struct TokenIdentity {
  std::string username;
  std::string uid;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;
  // The audiences the token is valid for; empty: the API server's own
  // ("https://kubernetes.default.svc.cluster.local").
  std::vector<std::string> audiences;

  // A bound (projected) pod token's identity.
  static TokenIdentity bound_pod(const std::string& ns, const std::string& service_account,
                                 const std::string& pod_name, const std::string& pod_uid);
  // A legacy Secret-based service account token's identity (no pod claims).
  static TokenIdentity legacy(const std::string& ns, const std::string& service_account);
  // JSON as in the --token-identities file: {"username","uid","groups","extra","audiences"}.
  static TokenIdentity from_json(const nlohmann::json& j);
};

struct FakeApiServerOptions {
  bool tls = false;
  std::string cert_pem, key_pem;  // server certificate/key (PEM) when tls
  std::string client_ca_pem;  // when set (tls only): accept client certificates signed by this CA
                              // as authentication
  std::string required_bearer_token;    // when set: requests need "Authorization: Bearer <it>" or a
                                        // valid client cert, else 401 Status
  std::string git_version = "v1.30.0";  // served at /version (major/minor derived)
  std::size_t history_limit =
      10000;  // watch events kept for resume; older resourceVersions get 410 Gone
  std::chrono::milliseconds bookmark_interval{0};  // 0 = bookmarks only at watch timeout end
  std::vector<std::string>
      crd_files;  // YAML files with CustomResourceDefinitions registered at start
  // Added beyond the original contract:
  std::size_t worker_threads = 128;  // HTTP worker threads; each open watch holds one
  std::size_t watch_queue_limit =
      10000;                      // events queued for one watcher before it is closed as too slow
  std::uint64_t random_seed = 0;  // names from generateName, uids; 0 = random
  const Clock* clock = nullptr;   // creationTimestamp/deletionTimestamp/Age; null = the wall clock
};

class FakeApiServer {
 public:
  explicit FakeApiServer(FakeApiServerOptions options = {});
  ~FakeApiServer();  // stops
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  Status start(
      const std::string& host = "127.0.0.1",
      int port = 0);  // binds (0 = any free port), serves on its own thread; returns when ready
  void stop();
  int port() const;
  std::string url() const;  // "http://127.0.0.1:PORT" or "https://..."

  // Direct store access for test setup/inspection, same semantics as over HTTP:
  // apply() keeps the given status and creates a missing namespace; it throws
  // std::runtime_error with the Status message when the object is rejected.
  nlohmann::json apply(const nlohmann::json& object);  // create, or replace ignoring
                                                       // resourceVersion; returns the stored object
  std::optional<nlohmann::json> get(const std::string& api_version, const std::string& kind,
                                    const std::string& ns, const std::string& name) const;
  std::vector<nlohmann::json> list(const std::string& api_version, const std::string& kind,
                                   const std::string& ns = "") const;
  Status register_crd(const nlohmann::json& crd);  // same as POSTing a CustomResourceDefinition
  Status register_crd_file(
      const std::string& yaml_path);         // every CustomResourceDefinition document in the file
  void set_bearer_token(std::string token);  // rotate the accepted token (tests of token re-read)
  void set_git_version(std::string v);

  // TokenReview: POST /apis/authentication.k8s.io/v1/tokenreviews answers for registered tokens
  // (status.authenticated, user, audiences) and authenticated:false with an error for any other,
  // as the real API server does. The request's spec.audiences must intersect the identity's.
  void add_token(const std::string& token, TokenIdentity identity);
  void remove_token(const std::string& token);
  // A file (JSON object token -> identity) read at every TokenReview: the binary's
  // --token-identities, so a test can add tokens while the server runs.
  void set_token_file(std::string path);

  // Fault injection
  void cut_watches();  // close every open watch stream now
  void fail_next(int count, int status, std::string method = "", std::string path_substring = "",
                 int retry_after_seconds = 0);  // answer the next matching requests with this
                                                // status and a proper Status body
  void set_latency(std::chrono::milliseconds latency);
  void compact();  // forget all watch history: any older resourceVersion now gets 410
  std::uint64_t request_count(const std::string& method,
                              const std::string& path_substring = "") const;  // method "" = any
  std::string resource_version() const;  // current global resourceVersion

  // Stand-in for the deployment, replicaset and kubelet controllers (see README.md).
  void enable_controller_simulation(bool on);
  // Called for every Pod created (over HTTP, by apply() or by the controller simulation) before
  // it is stored, like a mutating admission webhook. Must not call back into the server.
  void set_pod_mutator(std::function<nlohmann::json(const nlohmann::json& pod)> mutator);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A kubeconfig (JSON, which kubectl reads as YAML) for one cluster, one user, one context.
// ca_pem empty with an https URL = insecure-skip-tls-verify. token may be empty; client
// cert/key (PEM) may be empty.
std::string render_kubeconfig(const std::string& server_url, const std::string& ca_pem,
                              const std::string& token, const std::string& client_cert_pem = "",
                              const std::string& client_key_pem = "");

}  // namespace keyward::testing
