#pragma once
// An in-memory KubeApi for the operator's unit tests: the parts of the API server's semantics
// the reconciler relies on, without HTTP. resourceVersion (global counter, conditional PUT ->
// 409), generation bumped on spec changes, the status subresource (PUT/PATCH on the main
// resource ignore status; on /status only status changes), finalizers + deletionTimestamp,
// merge and JSON patches (a failed `test` -> 422 Invalid), pod eviction honouring
// PodDisruptionBudgets with an integer minAvailable (-> 429), equality label selectors, and
// fail_next() fault injection. Watches are not served (the integration tests use the fake
// API server for those).

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/kube/kube_api.h"

namespace keyward::testing {

class FakeKubeApi final : public kube::KubeApi {
 public:
  using Json = nlohmann::json;
  using Object = kube::Object;

  // Puts an object into the store as is (test setup); bumps resourceVersion.
  Json put(Json object) {
    std::lock_guard lock(mu_);
    const auto key = key_of(object);
    auto& md = object["metadata"];
    if (!md.contains("uid")) md["uid"] = "uid-" + std::to_string(++uid_);
    if (!md.contains("generation")) md["generation"] = 1;
    if (!md.contains("namespace") && namespaced(object)) md["namespace"] = "default";
    md["resourceVersion"] = std::to_string(++rv_);
    store_[key_of(object)] = object;
    (void)key;
    return object;
  }

  std::optional<Json> find(const std::string& plural, const std::string& ns,
                           const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = store_.find({plural, ns, name});
    if (it == store_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<Json> all(const std::string& plural, const std::string& ns = "") const {
    std::lock_guard lock(mu_);
    std::vector<Json> out;
    for (const auto& [k, v] : store_) {
      if (std::get<0>(k) == plural && (ns.empty() || std::get<1>(k) == ns)) out.push_back(v);
    }
    return out;
  }

  // The next `count` requests whose verb matches `verb` ("" = any) and whose target contains
  // `substring` (plural, "plural/status", "pods/eviction", or the object name) fail with status.
  void fail_next(int count, int status, std::string verb = "", std::string substring = "") {
    std::lock_guard lock(mu_);
    faults_.push_back({count, status, std::move(verb), std::move(substring)});
  }

  // Every mutating call, "verb plural[/sub] ns/name", in order.
  std::vector<std::string> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  int count_calls(const std::string& prefix) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& c : calls_) n += c.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }

  // --- KubeApi ---
  Result<Object> get(const kube::ResourceType& type, const std::string& ns,
                     const std::string& name) override {
    std::lock_guard lock(mu_);
    if (auto f = fault("get", type.plural + " " + name)) return *f;
    auto it = store_.find({type.plural, ns, name});
    if (it == store_.end()) return not_found(type, name);
    return it->second;
  }

  Result<kube::ObjectList> list(const kube::ResourceType& type, const std::string& ns,
                                const kube::ListOptions& options) override {
    std::lock_guard lock(mu_);
    if (auto f = fault("list", type.plural)) return *f;
    kube::ObjectList out;
    for (const auto& [k, v] : store_) {
      if (std::get<0>(k) != type.plural) continue;
      if (!ns.empty() && std::get<1>(k) != ns) continue;
      if (!matches(v, options.label_selector)) continue;
      out.items.push_back(v);
    }
    out.resource_version = std::to_string(rv_);
    return out;
  }

  Result<Object> create(const kube::ResourceType& type, const std::string& ns,
                        const Object& object) override {
    std::lock_guard lock(mu_);
    const std::string name = object["metadata"].value("name", "");
    calls_.push_back("create " + type.plural + " " + ns + "/" + name);
    if (auto f = fault("create", type.plural + " " + name)) return *f;
    if (store_.contains({type.plural, ns, name})) {
      return fail("AlreadyExists", type.plural + " \"" + name + "\" already exists", 409);
    }
    Object stored = object;
    stored["apiVersion"] = type.api_version();
    stored["kind"] = type.kind;
    auto& md = stored["metadata"];
    md["namespace"] = ns;
    md["uid"] = "uid-" + std::to_string(++uid_);
    md["generation"] = 1;
    md["resourceVersion"] = std::to_string(++rv_);
    md["creationTimestamp"] = "2027-01-01T00:00:00Z";
    store_[{type.plural, ns, name}] = stored;
    return stored;
  }

  Result<Object> update(const kube::ResourceType& type, const Object& object) override {
    std::lock_guard lock(mu_);
    return write(type, object, false, "update");
  }

  Result<Object> update_status(const kube::ResourceType& type, const Object& object) override {
    std::lock_guard lock(mu_);
    return write(type, object, true, "update");
  }

  Result<Object> patch(const kube::ResourceType& type, const std::string& ns,
                       const std::string& name, kube::PatchType patch_type, const Object& patch,
                       bool status_subresource) override {
    std::lock_guard lock(mu_);
    auto it = store_.find({type.plural, ns, name});
    const std::string target = type.plural + (status_subresource ? "/status " : " ") + name;
    if (auto f = fault("patch", target)) {
      calls_.push_back("patch " + target + " (failed)");
      return *f;
    }
    if (it == store_.end()) return not_found(type, name);
    Object patched = it->second;
    try {
      if (patch_type == kube::PatchType::JsonPatch) {
        patched = patched.patch(patch);
      } else {
        patched.merge_patch(patch);
      }
    } catch (const nlohmann::json::exception& e) {
      return fail("Invalid", std::string("the patch did not apply: ") + e.what(), 422);
    }
    patched["metadata"]["resourceVersion"] = it->second["metadata"]["resourceVersion"];
    return write(type, patched, status_subresource, "patch");
  }

  Status remove(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                const kube::DeleteOptions&) override {
    std::lock_guard lock(mu_);
    calls_.push_back("delete " + type.plural + " " + ns + "/" + name);
    if (auto f = fault("delete", type.plural + " " + name)) return fail(f->error());
    auto it = store_.find({type.plural, ns, name});
    if (it == store_.end()) return fail(not_found(type, name).error());
    auto& md = it->second["metadata"];
    if (md.contains("finalizers") && !md["finalizers"].empty()) {
      if (!md.contains("deletionTimestamp")) md["deletionTimestamp"] = "2027-01-01T00:00:00Z";
      md["resourceVersion"] = std::to_string(++rv_);
      return ok();
    }
    erase_with_dependents(it);
    return ok();
  }

  Result<Object> create_subresource(const kube::ResourceType& type, const std::string& ns,
                                    const std::string& name, const std::string& subresource,
                                    const Object&) override {
    std::lock_guard lock(mu_);
    calls_.push_back("create " + type.plural + "/" + subresource + " " + ns + "/" + name);
    if (auto f = fault("create", type.plural + "/" + subresource + " " + name)) return *f;
    auto it = store_.find({type.plural, ns, name});
    if (it == store_.end()) return not_found(type, name);
    if (type.plural != "pods" || subresource != "eviction") {
      return fail("NotFound", "no such subresource " + subresource, 404);
    }
    const Object pod = it->second;
    for (const auto& [k, pdb] : store_) {
      if (std::get<0>(k) != "poddisruptionbudgets" || std::get<1>(k) != ns) continue;
      const auto& sel = pdb["spec"]["selector"]["matchLabels"];
      if (!labels_match(pod, sel)) continue;
      int healthy = 0;
      for (const auto& [pk, p] : store_) {
        if (std::get<0>(pk) == "pods" && std::get<1>(pk) == ns && labels_match(p, sel) &&
            ready(p)) {
          ++healthy;
        }
      }
      const int min_available = pdb["spec"].value("minAvailable", 0);
      if (healthy - (ready(pod) ? 1 : 0) < min_available) {
        return fail("TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.", 429);
      }
    }
    auto& md = it->second["metadata"];
    if (md.contains("finalizers") && !md["finalizers"].empty()) {
      md["deletionTimestamp"] = "2027-01-01T00:00:00Z";
      md["resourceVersion"] = std::to_string(++rv_);
    } else {
      erase_with_dependents(it);
    }
    return Object{{"kind", "Status"}, {"status", "Success"}, {"code", 201}};
  }

  Status watch(const kube::ResourceType&, const std::string&, const kube::ListOptions&,
               const std::function<bool(const kube::WatchEvent&)>&, std::stop_token) override {
    return fail("NotSupported", "FakeKubeApi does not serve watches; use the fake API server");
  }

  Result<Object> get_path(const std::string& path) override {
    return fail("NotFound", "FakeKubeApi serves no path " + path, 404);
  }

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // plural, namespace, name
  struct Fault {
    int count;
    int status;
    std::string verb;
    std::string substring;
  };

  static bool namespaced(const Json& o) {
    const std::string kind = o.value("kind", "");
    return kind != "Namespace";
  }

  static std::string plural_of(const std::string& kind) {
    static const std::map<std::string, std::string> plurals = {
        {"Pod", "pods"},           {"Secret", "secrets"},         {"Event", "events"},
        {"Deployment", "deployments"}, {"StatefulSet", "statefulsets"},
        {"DaemonSet", "daemonsets"},   {"ReplicaSet", "replicasets"}, {"Lease", "leases"},
        {"PodDisruptionBudget", "poddisruptionbudgets"}, {"ApiKey", "apikeys"}};
    auto it = plurals.find(kind);
    return it == plurals.end() ? kind : it->second;
  }

  static Key key_of(const Json& o) {
    return {plural_of(o.value("kind", "")), o["metadata"].value("namespace", "default"),
            o["metadata"].value("name", "")};
  }

  static bool has_status_subresource(const kube::ResourceType& type) {
    return type.plural != "secrets" && type.plural != "events" && type.plural != "leases" &&
           type.plural != "poddisruptionbudgets";
  }

  static bool ready(const Json& pod) {
    if (pod["metadata"].contains("deletionTimestamp")) return false;
    for (const auto& c : pod["status"].value("conditions", Json::array())) {
      if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
    }
    return false;
  }

  static bool labels_match(const Json& o, const Json& match_labels) {
    const Json labels = o["metadata"].value("labels", Json::object());
    for (const auto& [k, v] : match_labels.items()) {
      if (!labels.contains(k) || labels[k] != v) return false;
    }
    return true;
  }

  static bool matches(const Json& o, const std::string& selector) {
    if (selector.empty()) return true;
    const Json labels = o["metadata"].value("labels", Json::object());
    std::size_t start = 0;
    while (start <= selector.size()) {
      const auto comma = selector.find(',', start);
      const std::string term =
          selector.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      const auto eq = term.find('=');
      if (eq == std::string::npos) {
        if (!labels.contains(term)) return false;
      } else {
        const std::string k = term.substr(0, eq);
        const std::string v = term.substr(term[eq + 1] == '=' ? eq + 2 : eq + 1);
        if (!labels.contains(k) || labels[k] != v) return false;
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return true;
  }

  std::optional<std::unexpected<Error>> fault(const std::string& verb, const std::string& target) {
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if ((it->verb.empty() || it->verb == verb) &&
          (it->substring.empty() || target.find(it->substring) != std::string::npos)) {
        const int status = it->status;
        if (--it->count <= 0) faults_.erase(it);
        const std::string reason = status == 409   ? "Conflict"
                                   : status == 429 ? "TooManyRequests"
                                   : status == 404 ? "NotFound"
                                                   : "InternalError";
        return fail(reason, verb + " " + target + ": injected failure", status);
      }
    }
    return std::nullopt;
  }

  static std::unexpected<Error> not_found(const kube::ResourceType& type, const std::string& name) {
    return fail("NotFound", type.plural + " \"" + name + "\" not found", 404);
  }

  // PUT or PATCH semantics after the patch was applied. Caller holds mu_.
  Result<Object> write(const kube::ResourceType& type, const Object& object, bool status_only,
                       const std::string& verb) {
    const std::string ns = object["metadata"].value("namespace", "");
    const std::string name = object["metadata"].value("name", "");
    const std::string target = type.plural + (status_only ? "/status " : " ") + name;
    if (verb == "update") {
      calls_.push_back("update " + target);
      if (auto f = fault("update", target)) return *f;
    } else {
      calls_.push_back("patch " + target);
    }
    auto it = store_.find({type.plural, ns, name});
    if (it == store_.end()) return not_found(type, name);
    Object& current = it->second;
    const std::string want_rv = object["metadata"].value("resourceVersion", "");
    if (!want_rv.empty() && want_rv != current["metadata"].value("resourceVersion", "")) {
      return fail("Conflict",
                  "Operation cannot be fulfilled on " + type.plural + " \"" + name +
                      "\": the object has been modified; please apply your changes to the latest "
                      "version and try again",
                  409);
    }
    Object next = current;
    if (status_only) {
      if (object.contains("status")) next["status"] = object["status"];
    } else {
      const Json old_spec = spec_of(current);
      for (const auto& [k, v] : object.items()) {
        if (k == "status" && has_status_subresource(type)) continue;
        if (k == "metadata") continue;
        next[k] = v;
      }
      for (const auto& k : std::vector<std::string>{"data", "spec", "stringData", "type"}) {
        if (!object.contains(k) && next.contains(k)) next.erase(k);
      }
      Json md = object["metadata"];
      for (const char* keep : {"uid", "creationTimestamp", "deletionTimestamp", "generation"}) {
        if (current["metadata"].contains(keep)) {
          md[keep] = current["metadata"][keep];
        } else {
          md.erase(keep);
        }
      }
      next["metadata"] = md;
      if (spec_of(next) != old_spec) {
        next["metadata"]["generation"] = current["metadata"].value("generation", 1) + 1;
      }
    }
    next["metadata"]["resourceVersion"] = std::to_string(++rv_);
    const auto& md = next["metadata"];
    if (md.contains("deletionTimestamp") &&
        (!md.contains("finalizers") || md["finalizers"].empty())) {
      erase_with_dependents(it);
      return next;
    }
    current = next;
    return next;
  }

  static Json spec_of(const Json& o) {
    Json s = o;
    s.erase("metadata");
    s.erase("status");
    return s;
  }

  // Deletes an object and (garbage collection) everything whose owner reference names it.
  void erase_with_dependents(std::map<Key, Json>::iterator it) {
    const std::string uid = it->second["metadata"].value("uid", "");
    store_.erase(it);
    for (auto dep = store_.begin(); dep != store_.end();) {
      bool owned = false;
      for (const auto& ref : dep->second["metadata"].value("ownerReferences", Json::array())) {
        owned = owned || ref.value("uid", "") == uid;
      }
      if (owned) {
        erase_with_dependents(dep);
        dep = store_.begin();
      } else {
        ++dep;
      }
    }
  }

  mutable std::mutex mu_;  // guards everything below
  std::map<Key, Json> store_;
  std::vector<Fault> faults_;
  std::vector<std::string> calls_;
  std::uint64_t rv_ = 100;
  std::uint64_t uid_ = 0;
};

}  // namespace keyward::testing
