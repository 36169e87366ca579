#pragma once
// A small in-memory KubeApi for the webhook tests: get/list (equality label selectors)/create
// and get_path("/version"). The webhook only reads, so writes beyond create are not needed and
// answer MethodNotAllowed. (The shared fake API server in tests/fake_apiserver can replace it
// once its KubeClient lands; this keeps the webhook tests independent of that work.)

#include <atomic>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <tuple>

#include "common/kube/kube_api.h"

namespace keyward::testing {

class MemoryKubeApi final : public kube::KubeApi {
 public:
  void put(const kube::ResourceType& type, kube::Object object) {
    std::lock_guard lock(mu_);
    std::string ns = object["metadata"].value("namespace", "");
    std::string name = object["metadata"].value("name", "");
    objects_[{type.plural, ns, name}] = std::move(object);
  }
  void set_version(nlohmann::json version) {
    std::lock_guard lock(mu_);
    version_ = std::move(version);
  }
  void fail_version(bool fail_it) { fail_version_ = fail_it; }
  void fail_lists(bool fail_it) { fail_lists_ = fail_it; }
  [[nodiscard]] int version_calls() const { return version_calls_.load(); }
  [[nodiscard]] int get_calls() const { return get_calls_.load(); }

  Result<kube::Object> get(const kube::ResourceType& type, const std::string& ns,
                           const std::string& name) override {
    ++get_calls_;
    std::lock_guard lock(mu_);
    auto it = objects_.find({type.plural, ns, name});
    if (it == objects_.end()) {
      return fail("NotFound",
                  "get " + type.plural + " " + ns + "/" + name + ": " + type.plural + " \"" + name +
                      "\" not found",
                  404);
    }
    return it->second;
  }
  Result<kube::ObjectList> list(const kube::ResourceType& type, const std::string& ns,
                                const kube::ListOptions& options) override {
    if (fail_lists_) return fail("Unreachable", "list " + type.plural + ": connection refused");
    std::lock_guard lock(mu_);
    kube::ObjectList out;
    for (const auto& [k, obj] : objects_) {
      if (std::get<0>(k) != type.plural || (!ns.empty() && std::get<1>(k) != ns)) continue;
      if (matches(obj, options.label_selector)) out.items.push_back(obj);
    }
    return out;
  }
  Result<kube::Object> create(const kube::ResourceType& type, const std::string&,
                              const kube::Object& object) override {
    put(type, object);
    return object;
  }
  // Replaces the object (no resourceVersion check: tests of conflicts use the fake API server).
  Result<kube::Object> update(const kube::ResourceType& type, const kube::Object& object) override {
    put(type, object);
    return object;
  }
  Result<kube::Object> update_status(const kube::ResourceType&, const kube::Object&) override {
    return unsupported();
  }
  Result<kube::Object> patch(const kube::ResourceType&, const std::string&, const std::string&,
                             kube::PatchType, const kube::Object&, bool) override {
    return unsupported();
  }
  Status remove(const kube::ResourceType&, const std::string&, const std::string&,
                const kube::DeleteOptions&) override {
    return fail("MethodNotAllowed", "not supported by MemoryKubeApi", 405);
  }
  Result<kube::Object> create_subresource(const kube::ResourceType&, const std::string&,
                                          const std::string&, const std::string&,
                                          const kube::Object&) override {
    return unsupported();
  }
  Status watch(const kube::ResourceType&, const std::string&, const kube::ListOptions&,
               const std::function<bool(const kube::WatchEvent&)>&, std::stop_token) override {
    return fail("MethodNotAllowed", "not supported by MemoryKubeApi", 405);
  }
  Result<kube::Object> get_path(const std::string& path) override {
    ++version_calls_;
    if (path != "/version") return fail("NotFound", "GET " + path + ": not found", 404);
    if (fail_version_) return fail("Unreachable", "GET /version: connection refused");
    std::lock_guard lock(mu_);
    return version_;
  }

 private:
  static Result<kube::Object> unsupported() {
    return fail("MethodNotAllowed", "not supported by MemoryKubeApi", 405);
  }

  static bool matches(const kube::Object& obj, const std::string& selector) {
    if (selector.empty()) return true;
    std::stringstream ss(selector);
    std::string term;
    while (std::getline(ss, term, ',')) {
      auto eq = term.find('=');
      if (eq == std::string::npos) return false;
      std::string key = term.substr(0, eq);
      std::string value = term.substr(eq + 1);
      const auto& md = obj["metadata"];
      if (!md.contains("labels") || !md["labels"].contains(key) || md["labels"][key] != value)
        return false;
    }
    return true;
  }

  mutable std::mutex mu_;  // guards objects_ and version_
  std::map<std::tuple<std::string, std::string, std::string>, kube::Object> objects_;
  nlohmann::json version_ = {{"major", "1"}, {"minor", "30"}, {"gitVersion", "v1.30.2"}};
  std::atomic<bool> fail_version_{false};
  std::atomic<bool> fail_lists_{false};
  std::atomic<int> version_calls_{0};
  std::atomic<int> get_calls_{0};
};

}  // namespace keyward::testing
