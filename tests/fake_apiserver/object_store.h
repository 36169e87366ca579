#pragma once
// The fake API server's storage and semantics, independent of HTTP: the resource registry,
// objects indexed by resource and namespace, the global resourceVersion, the bounded watch
// history, and the watch fan-out. Every write goes through here, whether it came over HTTP,
// from FakeApiServer::apply, or from the controller simulation.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/core/clock.h"
#include "tests/fake_apiserver/api_types.h"
#include "tests/fake_apiserver/selectors.h"

namespace keyward::testing::fake {

struct WatchEvent {
  std::string type;    // ADDED, MODIFIED, DELETED
  ObjectPtr object;    // the object after the change (for DELETED: its last state)
  ObjectPtr previous;  // the object before the change, null for ADDED
  std::uint64_t resource_version = 0;
  std::string storage_key;
};

// One watcher's bounded queue. Writers never block on it: when it is full the channel closes,
// as the real server closes a watcher that cannot keep up.
class WatchChannel {
 public:
  explicit WatchChannel(std::size_t limit) : limit_(limit) {}
  void push(const WatchEvent& event);
  enum class Pop { Event, Timeout, Closed };
  Pop pop(WatchEvent& out, std::chrono::steady_clock::time_point deadline);
  void close();
  [[nodiscard]] bool closed() const;
  [[nodiscard]] bool empty() const;
  [[nodiscard]] bool overflowed() const;

 private:
  mutable std::mutex mu_;  // guards queue_, closed_, overflowed_
  std::condition_variable cv_;
  std::deque<WatchEvent> queue_;
  bool closed_ = false;
  bool overflowed_ = false;
  std::size_t limit_;
};

// Label and field selectors of one watch or list, and how an event looks through them.
struct ObjectFilter {
  LabelSelector labels;
  FieldSelector fields;
  [[nodiscard]] bool matches(const nlohmann::json& object) const;
  // Applies the real server's rules: an object that stops matching is DELETED for this
  // watcher, one that starts matching is ADDED. Returns false when the watcher sees nothing.
  [[nodiscard]] bool translate(WatchEvent& event) const;
};

struct StoreOptions {
  std::size_t history_limit = 10000;
  std::size_t watch_queue_limit = 10000;
  std::uint64_t random_seed = 0;  // 0 = seeded from std::random_device
};

struct WriteOptions {
  bool keep_status = false;  // create: keep the given status (test setup, controller simulation)
  bool strict_fields =
      false;             // fieldValidation=Strict: unknown fields fail instead of being pruned
  bool dry_run = false;  // dryRun=All: validate and answer, store nothing
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::size_t limit = 0;
  std::string continue_token;
};

struct ListResult {
  std::vector<ObjectPtr> items;
  std::string resource_version;
  std::string continue_token;
  std::int64_t remaining_item_count = -1;  // -1 = not known / not paged
};

struct WatchOptions {
  std::string resource_version;
  std::string label_selector;
  std::string field_selector;
};

struct WatchStart {
  std::shared_ptr<WatchChannel> channel;  // null when error_event is set
  std::vector<WatchEvent> initial;        // synthetic ADDED or replayed history, already filtered
  ObjectFilter filter;                    // to apply to what the channel delivers
  std::optional<nlohmann::json>
      error_event;  // {"type":"ERROR","object":Status 410} for a too old resourceVersion
};

using PodMutator = std::function<nlohmann::json(const nlohmann::json& pod)>;

class ObjectStore {
 public:
  ObjectStore(StoreOptions options, const Clock& clock);
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // Registry.
  std::optional<ResourceInfo> find_resource(const std::string& group, const std::string& version,
                                            const std::string& plural) const;
  std::optional<ResourceInfo> find_kind(const std::string& api_version,
                                        const std::string& kind) const;
  std::vector<ResourceInfo> resources() const;

  // Semantics of the REST verbs. `ns` is "" for cluster-scoped resources and for
  // all-namespaces list/watch.
  ApiResult<ObjectPtr> get(const ResourceInfo& info, const std::string& ns,
                           const std::string& name) const;
  ApiResult<ListResult> list(const ResourceInfo& info, const std::string& ns,
                             const ListOptions& options) const;
  ApiResult<ObjectPtr> create(const ResourceInfo& info, const std::string& ns,
                              nlohmann::json object, const WriteOptions& options = {});
  ApiResult<ObjectPtr> update(const ResourceInfo& info, const std::string& ns,
                              const std::string& name, nlohmann::json object,
                              bool status_subresource, const WriteOptions& options = {});
  // content_type: application/merge-patch+json, application/json-patch+json,
  // application/strategic-merge-patch+json (applied as a merge patch).
  ApiResult<ObjectPtr> patch(const ResourceInfo& info, const std::string& ns,
                             const std::string& name, const std::string& content_type,
                             const std::string& body, bool status_subresource,
                             const WriteOptions& options = {});
  ApiResult<ObjectPtr> remove(const ResourceInfo& info, const std::string& ns,
                              const std::string& name, const nlohmann::json& delete_options);
  ApiResult<std::size_t> remove_collection(const ResourceInfo& info, const std::string& ns,
                                           const ListOptions& options);
  // POST pods/{name}/eviction. Answers the Status to send (201 Success) or a failure.
  ApiResult<nlohmann::json> evict(const std::string& ns, const std::string& name,
                                  const nlohmann::json& eviction);
  ApiResult<WatchStart> watch(const ResourceInfo& info, const std::string& ns,
                              const WatchOptions& options);
  // For in-process consumers (the controller simulation): every event of these resources.
  std::shared_ptr<WatchChannel> subscribe(const std::vector<std::string>& storage_keys);

  // The resourceVersion a bookmark may carry for this channel: the current one when the
  // channel has nothing queued, else nullopt (its queued events come first).
  std::optional<std::uint64_t> bookmark_version(const WatchChannel& channel) const;

  // Create or replace (ignoring resourceVersion), keeping the given status; creates the
  // namespace when missing. For test setup.
  ApiResult<ObjectPtr> apply(nlohmann::json object);

  void cut_watches();
  void compact();
  std::uint64_t resource_version() const;
  void set_pod_mutator(PodMutator mutator);

 private:
  using NameMap = std::map<std::string, ObjectPtr>;
  struct Bucket {
    std::map<std::string, NameMap> by_namespace;  // "" for cluster-scoped
  };
  struct ObjectRef {
    std::string storage_key;
    std::string ns;
    std::string name;
  };
  struct Subscriber {
    std::string ns;  // "" = all namespaces
    std::shared_ptr<WatchChannel> channel;
  };

  // All *_locked members expect mu_ to be held.
  void register_builtin_resources_locked();
  void register_resource_locked(const ResourceInfo& info, bool storage_version);
  Status register_crd_locked(const nlohmann::json& crd);
  void unregister_crd_locked(const nlohmann::json& crd);
  ObjectPtr find_locked(const std::string& storage_key, const std::string& ns,
                        const std::string& name) const;
  bool namespace_exists_locked(const std::string& ns) const;
  ApiResult<ObjectPtr> create_locked(const ResourceInfo& info, const std::string& ns,
                                     nlohmann::json object, const WriteOptions& options);
  ApiResult<ObjectPtr> update_locked(const ResourceInfo& info, const ObjectPtr& old,
                                     nlohmann::json next, bool status_subresource,
                                     const WriteOptions& options);
  ApiResult<ObjectPtr> remove_locked(const ResourceInfo& info, const ObjectPtr& old,
                                     const nlohmann::json& delete_options);
  static void default_crd(nlohmann::json& crd);
  static ApiResult<void> admit_crd(const nlohmann::json& crd);
  ApiResult<void> admit_locked(const ResourceInfo& info, nlohmann::json& object,
                               const WriteOptions& options);
  void commit_locked(const std::string& type, const std::string& storage_key,
                     const ObjectPtr& object, const ObjectPtr& previous);
  void collect_garbage_locked(const std::string& owner_uid);
  void delete_namespace_contents_locked(const std::string& ns);
  const ResourceInfo* storage_info_locked(const std::string& storage_key) const;
  std::string random_suffix_locked(std::size_t n);
  std::string new_uid_locked();

  const StoreOptions options_;
  const Clock& clock_;

  mutable std::mutex mu_;                               // guards everything below
  std::map<std::string, ResourceInfo> by_gvr_;          // "group/version/plural"
  std::map<std::string, std::string> gvr_by_kind_;      // "apiVersion/kind" -> gvr key
  std::map<std::string, ResourceInfo> by_storage_key_;  // "group/plural" -> storage version
  std::unordered_map<std::string, Bucket> objects_;     // by storage key
  std::unordered_map<std::string, ObjectRef> by_uid_;
  std::unordered_multimap<std::string, ObjectRef> dependents_;  // owner uid -> dependents
  std::uint64_t rv_ = 0;
  std::uint64_t history_floor_ = 0;  // watches from a resourceVersion below this get 410
  std::deque<WatchEvent> history_;
  std::unordered_map<std::string, std::vector<Subscriber>> subscribers_;  // by storage key
  std::mt19937_64 rng_;
  PodMutator pod_mutator_;
};

}  // namespace keyward::testing::fake
