#include "common/kube/informer.h"

#include <algorithm>

namespace keyward::kube {

namespace {

std::vector<ObjectPtr> collect(const Snapshot& s, const std::set<std::string>* keys) {
  std::vector<ObjectPtr> out;
  if (keys == nullptr) return out;
  out.reserve(keys->size());
  for (const auto& k : *keys) {
    if (const auto it = s.objects.find(k); it != s.objects.end()) out.push_back(it->second);
  }
  return out;
}

}  // namespace

std::string object_key(const Object& object) {
  const std::string ns = metadata_string(object, "namespace");
  const std::string name = metadata_string(object, "name");
  return ns.empty() ? name : ns + "/" + name;
}

Store::Store() : snapshot_(std::make_shared<const Snapshot>()) {}

std::shared_ptr<const Snapshot> Store::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void Store::publish(std::shared_ptr<const Snapshot> next) {
  std::lock_guard lock(mu_);
  snapshot_ = std::move(next);
}

ObjectPtr Store::get(const std::string& key) const {
  const auto s = snapshot();
  const auto it = s->objects.find(key);
  return it == s->objects.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::list() const {
  const auto s = snapshot();
  std::vector<ObjectPtr> out;
  out.reserve(s->objects.size());
  for (const auto& [k, o] : s->objects) out.push_back(o);
  return out;
}

std::vector<ObjectPtr> Store::list_namespace(const std::string& ns) const {
  const auto s = snapshot();
  const auto it = s->by_namespace.find(ns);
  return collect(*s, it == s->by_namespace.end() ? nullptr : &it->second);
}

std::size_t Store::size() const { return snapshot()->objects.size(); }

void Store::index(Snapshot& s, const std::string& key, const Object& o) const {
  s.by_namespace[metadata_string(o, "namespace")].insert(key);
}

void Store::unindex(Snapshot& s, const std::string& key, const Object& o) const {
  auto drop = [&key](std::map<std::string, std::set<std::string>>& index, const std::string& v) {
    const auto it = index.find(v);
    if (it == index.end()) return;
    it->second.erase(key);
    if (it->second.empty()) index.erase(it);
  };
  drop(s.by_namespace, metadata_string(o, "namespace"));
}

void Store::replace(std::vector<Object> objects, std::vector<ObjectPtr>& added,
                    std::vector<std::pair<ObjectPtr, ObjectPtr>>& updated,
                    std::vector<ObjectPtr>& deleted) {
  const auto old = snapshot();
  auto next = std::make_shared<Snapshot>();
  for (auto& o : objects) {
    const std::string key = object_key(o);
    auto ptr = std::make_shared<const Object>(std::move(o));
    index(*next, key, *ptr);
    if (const auto it = old->objects.find(key); it == old->objects.end()) {
      added.push_back(ptr);
    } else if (resource_version_of(*it->second) != resource_version_of(*ptr) ||
               resource_version_of(*ptr).empty()) {
      updated.emplace_back(it->second, ptr);
    }
    next->objects[key] = std::move(ptr);
  }
  for (const auto& [key, o] : old->objects) {
    if (!next->objects.contains(key)) deleted.push_back(o);
  }
  publish(std::move(next));
}

std::pair<ObjectPtr, ObjectPtr> Store::apply(Object object) {
  const auto old = snapshot();
  auto next = std::make_shared<Snapshot>(*old);
  const std::string key = object_key(object);
  auto ptr = std::make_shared<const Object>(std::move(object));
  ObjectPtr previous;
  if (const auto it = next->objects.find(key); it != next->objects.end()) {
    previous = it->second;
    unindex(*next, key, *previous);
  }
  index(*next, key, *ptr);
  next->objects[key] = ptr;
  publish(std::move(next));
  return {previous, ptr};
}

ObjectPtr Store::remove(const Object& object) {
  const auto old = snapshot();
  const std::string key = object_key(object);
  const auto it = old->objects.find(key);
  if (it == old->objects.end()) return std::make_shared<const Object>(object);
  auto next = std::make_shared<Snapshot>(*old);
  ObjectPtr removed = it->second;
  unindex(*next, key, *removed);
  next->objects.erase(key);
  publish(std::move(next));
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
    const auto delay = backoff_.next();
    logger_.warn("watch failed; retrying", {{"reason", status.error().reason},
                                            {"error", status.error().message},
                                            {"state", std::string(to_string(watcher_.state()))},
                                            {"retryInMs", delay.count()}});
    clock_.sleep_until(clock_.now() + delay, retry_wakeup_, stop);
  }
}

}  // namespace keyward::kube
