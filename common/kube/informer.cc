#include "common/kube/informer.h"

#include <algorithm>

namespace keyward::kube {

std::string object_key(const Object& object) {
  const std::string ns = metadata_string(object, "namespace");
  const std::string name = metadata_string(object, "name");
  return ns.empty() ? name : ns + "/" + name;
}

ObjectPtr Store::get(const std::string& key) const {
  std::shared_lock lock(mu_);
  const auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::list() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [k, o] : objects_) out.push_back(o);
  return out;
}

std::vector<ObjectPtr> Store::list_namespace(const std::string& ns) const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  const auto it = by_namespace_.find(ns);
  if (it == by_namespace_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& key : it->second) {
    if (const auto found = objects_.find(key); found != objects_.end())
      out.push_back(found->second);
  }
  return out;
}

std::size_t Store::size() const {
  std::shared_lock lock(mu_);
  return objects_.size();
}

void Store::index(NamespaceIndex& by_namespace, const std::string& key, const Object& o) {
  by_namespace[metadata_string(o, "namespace")].insert(key);
}

void Store::unindex(NamespaceIndex& by_namespace, const std::string& key, const Object& o) {
  const auto it = by_namespace.find(metadata_string(o, "namespace"));
  if (it == by_namespace.end()) return;
  it->second.erase(key);
  if (it->second.empty()) by_namespace.erase(it);
}

void Store::replace(std::vector<Object> objects, std::vector<ObjectPtr>& added,
                    std::vector<std::pair<ObjectPtr, ObjectPtr>>& updated,
                    std::vector<ObjectPtr>& deleted) {
  Objects next;
  NamespaceIndex next_index;
  for (auto& o : objects) {
    const std::string key = object_key(o);
    auto ptr = std::make_shared<const Object>(std::move(o));
    index(next_index, key, *ptr);
    next[key] = std::move(ptr);
  }
  Objects old;
  {
    std::unique_lock lock(mu_);
    old.swap(objects_);
    objects_.swap(next);
    by_namespace_.swap(next_index);
  }
  // Only the writer changes the map, so objects_ can be read here without the lock.
  for (const auto& [key, ptr] : objects_) {
    if (const auto it = old.find(key); it == old.end()) {
      added.push_back(ptr);
    } else if (resource_version_of(*it->second) != resource_version_of(*ptr) ||
               resource_version_of(*ptr).empty()) {
      updated.emplace_back(it->second, ptr);
    }
  }
  for (const auto& [key, o] : old) {
    if (!objects_.contains(key)) deleted.push_back(o);
  }
}

std::pair<ObjectPtr, ObjectPtr> Store::apply(Object object) {
  const std::string key = object_key(object);
  auto ptr = std::make_shared<const Object>(std::move(object));
  ObjectPtr previous;
  std::unique_lock lock(mu_);
  if (const auto it = objects_.find(key); it != objects_.end()) {
    previous = it->second;
    unindex(by_namespace_, key, *previous);
    it->second = ptr;
  } else {
    objects_.emplace(key, ptr);
  }
  index(by_namespace_, key, *ptr);
  return {previous, ptr};
}

ObjectPtr Store::remove(const Object& object) {
  const std::string key = object_key(object);
  {
    std::unique_lock lock(mu_);
    if (const auto it = objects_.find(key); it != objects_.end()) {
      unindex(by_namespace_, key, *it->second);
      objects_.erase(it);
    }
  }
  // The deleted object's final state is the one the server sent.
  return std::make_shared<const Object>(object);
}

Informer::Informer(KubeApi& api, ResourceType type, std::string ns, InformerOptions options,
                   Clock& clock, Random& random, Logger logger)
    : clock_(clock),
      logger_(std::move(logger)),
      watcher_(api, std::move(type), std::move(ns), std::move(options.watcher), logger_),
      backoff_(clock, random, options.backoff) {}

Informer::~Informer() { stop(); }

void Informer::add_handlers(InformerHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void Informer::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

bool Informer::has_synced() const {
  std::lock_guard lock(sync_mu_);
  return synced_;
}

void Informer::mark_synced() {
  {
    std::lock_guard lock(sync_mu_);
    if (synced_) return;
    synced_ = true;
  }
  for (const auto& h : handlers_) {
    if (h.on_synced) h.on_synced();
  }
}

void Informer::handle(const WatcherEvent& event) {
  switch (event.type) {
    case WatcherEvent::Type::Restarted: {
      std::vector<ObjectPtr> added, deleted;
      std::vector<std::pair<ObjectPtr, ObjectPtr>> updated;
      store_.replace(event.objects, added, updated, deleted);
      for (const auto& h : handlers_) {
        if (h.on_delete)
          for (const auto& o : deleted) h.on_delete(*o);
        if (h.on_update)
          for (const auto& [o, n] : updated) h.on_update(*o, *n);
        if (h.on_add)
          for (const auto& o : added) h.on_add(*o);
      }
      mark_synced();
      break;
    }
    case WatcherEvent::Type::Applied: {
      auto [previous, now] = store_.apply(event.object);
      for (const auto& h : handlers_) {
        if (previous) {
          if (h.on_update) h.on_update(*previous, *now);
        } else if (h.on_add) {
          h.on_add(*now);
        }
      }
      break;
    }
    case WatcherEvent::Type::Deleted: {
      auto removed = store_.remove(event.object);
      for (const auto& h : handlers_) {
        if (h.on_delete) h.on_delete(*removed);
      }
      break;
    }
  }
}

void Informer::run(std::stop_token stop) {
  bool previous_was_gone = false;
  while (!stop.stop_requested()) {
    auto status = watcher_.step([this](const WatcherEvent& e) { handle(e); }, stop);
    if (stop.stop_requested()) break;
    if (status) {
      previous_was_gone = false;
      continue;
    }
    // A 410 is routine (history compacted): relist at once, unless the last attempt was a 410
    // too, so a server that keeps answering 410 cannot make us relist in a tight loop.
    const bool gone = status.error().http_status == 410;
    if (gone && !previous_was_gone) {
      previous_was_gone = true;
      continue;
    }
    previous_was_gone = gone;
    // An overloaded API server's Retry-After (429, 503) is honoured: never sooner than it asks.
    auto delay = backoff_.next();
    if (const auto& after = status.error().retry_after) {
      delay = std::max(delay, std::chrono::duration_cast<std::chrono::milliseconds>(*after));
    }
    logger_.warn("watch failed; retrying", {{"reason", status.error().reason},
                                            {"error", status.error().message},
                                            {"state", std::string(to_string(watcher_.state()))},
                                            {"retryInMs", delay.count()}});
    clock_.sleep_until(clock_.now() + delay, retry_wakeup_, stop);
  }
}

}  // namespace keyward::kube
