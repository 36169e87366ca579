#pragma once
// Store and Informer: a local cache of one resource type kept current by a Watcher, after
// kube-rs reflector/store.rs and client-go's shared informer.
//
// Store: one writer (the informer thread), any number of readers. Objects are immutable
// shared_ptr<const Object> in a map under a reader-writer lock: a watch event costs O(log n)
// (one map update under the write lock), a get O(log n), and a reader keeps the objects it took
// (a list is a vector of pointers, valid and unchanged after later events). A relist builds the
// new map outside the lock and swaps it in. Index: by namespace. The store knows no labels of
// its own (it serves any resource).
// Keys are "namespace/name" ("name" for cluster-scoped objects), as the WorkQueue uses them.
//
// Informer: runs the Watcher on its own std::jthread (start/stop); errors wait for the Backoff
// (Clock::sleep_until, so a stop request ends the wait at once) and retry. A 410 relists at
// once (once in a row; a second 410 in a row backs off like any error). After a (re)list the
// cache is replaced whole: objects that vanished during a watch gap are reported to on_delete,
// changed ones to on_update, new ones to on_add. Handlers run on the informer thread after the
// store has been updated, so a handler (usually "enqueue the key") sees the new state.
// has_synced() turns true after the first complete list. stop() returns within a second: the
// watch connection is shut down through the stop token.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/io/random.h"
#include "common/kube/backoff.h"
#include "common/kube/kube_api.h"
#include "common/kube/watcher.h"

namespace keyward::kube {

using ObjectPtr = std::shared_ptr<const Object>;

// "namespace/name", or "name" without a namespace.
std::string object_key(const Object& object);

class Store {
 public:
  [[nodiscard]] ObjectPtr get(const std::string& key) const;
  [[nodiscard]] std::vector<ObjectPtr> list() const;
  [[nodiscard]] std::vector<ObjectPtr> list_namespace(const std::string& ns) const;
  [[nodiscard]] std::size_t size() const;

  // Writer side (the informer). Each returns what the handlers need.
  // replace: the whole new state; fills added/updated(old,new)/deleted.
  void replace(std::vector<Object> objects, std::vector<ObjectPtr>& added,
               std::vector<std::pair<ObjectPtr, ObjectPtr>>& updated,
               std::vector<ObjectPtr>& deleted);
  // apply: returns the previous object (null if new) and the stored one.
  std::pair<ObjectPtr, ObjectPtr> apply(Object object);
  // remove: the object as the server sent it with the deletion (its final state); the cached
  // one, if any, leaves the store.
  ObjectPtr remove(const Object& object);

 private:
  using Objects = std::map<std::string, ObjectPtr>;                     // key -> object
  using NamespaceIndex = std::map<std::string, std::set<std::string>>;  // namespace -> keys

  static void index(NamespaceIndex& by_namespace, const std::string& key, const Object& o);
  static void unindex(NamespaceIndex& by_namespace, const std::string& key, const Object& o);

  mutable std::shared_mutex mu_;  // guards objects_ and by_namespace_
  Objects objects_;
  NamespaceIndex by_namespace_;
};

struct InformerHandlers {
  std::function<void(const Object&)> on_add;
  std::function<void(const Object& old_object, const Object& new_object)> on_update;
  std::function<void(const Object&)> on_delete;
  // Once, after the first complete list is in the store (has_synced() turned true).
  std::function<void()> on_synced;
};

struct InformerOptions {
  WatcherOptions watcher;
  BackoffOptions backoff;
};

class Informer {
 public:
  Informer(KubeApi& api, ResourceType type, std::string ns, InformerOptions options, Clock& clock,
           Random& random, Logger logger);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Register before start(); handlers run on the informer thread.
  void add_handlers(InformerHandlers handlers);
  void start();
  void stop();

  [[nodiscard]] bool has_synced() const;

  [[nodiscard]] const Store& store() const { return store_; }

 private:
  void run(std::stop_token stop);
  void handle(const WatcherEvent& event);
  void mark_synced();

  Clock& clock_;
  Logger logger_;
  Store store_;
  Watcher watcher_;                         // used only by the informer thread
  Backoff backoff_;                         // used only by the informer thread
  std::vector<InformerHandlers> handlers_;  // written before start(), read by the thread

  mutable std::mutex sync_mu_;  // guards synced_
  bool synced_ = false;

  Wakeup retry_wakeup_;  // the backoff sleep (stop ends it through the stop token)
  std::jthread thread_;
};

}  // namespace keyward::kube
