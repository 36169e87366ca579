#include "tests/fake_apiserver/object_store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tests/fake_apiserver/crd_validator.h"
#include "tests/fake_apiserver/schema_validator.h"

namespace keyward::testing::fake {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// WatchChannel

void WatchChannel::push(const WatchEvent& event) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (queue_.size() >= limit_) {
      overflowed_ = true;
      closed_ = true;
      queue_.clear();
    } else {
      queue_.push_back(event);
    }
  }
  cv_.notify_all();
}

WatchChannel::Pop WatchChannel::pop(WatchEvent& out,
                                    std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_until(lock, deadline, [&] { return closed_ || !queue_.empty(); }))
    return Pop::Timeout;
  if (closed_) return Pop::Closed;
  out = std::move(queue_.front());
  queue_.pop_front();
  return Pop::Event;
}

void WatchChannel::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    queue_.clear();
  }
  cv_.notify_all();
}

bool WatchChannel::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

bool WatchChannel::empty() const {
  std::lock_guard lock(mu_);
  return queue_.empty();
}

bool WatchChannel::overflowed() const {
  std::lock_guard lock(mu_);
  return overflowed_;
}

// ---------------------------------------------------------------------------------------------
// ObjectFilter

bool ObjectFilter::matches(const json& object) const {
  return labels.matches(labels_of(object)) && fields.matches(object);
}

bool ObjectFilter::translate(WatchEvent& event) const {
  if (labels.empty() && fields.empty()) return true;
  bool now = event.object && matches(*event.object);
  bool was = event.previous && matches(*event.previous);
  if (event.type == "ADDED") return now;
  if (event.type == "DELETED") return was || now;
  if (now && was) return true;
  if (now) {
    event.type = "ADDED";
    return true;
  }
  if (was) {
    event.type = "DELETED";
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Helpers

namespace {

json& metadata_of(json& object) {
  if (!object.contains("metadata") || !object["metadata"].is_object())
    object["metadata"] = json::object();
  return object["metadata"];
}

// Everything the generation counts: all but metadata and status.
json spec_part(const json& object) {
  json copy = object;
  if (copy.is_object()) {
    copy.erase("metadata");
    copy.erase("status");
    copy.erase("apiVersion");
    copy.erase("kind");
  }
  return copy;
}

std::int64_t generation_of(const json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->contains("generation")) return 0;
  const json& g = (*meta)["generation"];
  return g.is_number() ? g.get<std::int64_t>() : 0;
}

std::vector<std::string> owner_uids(const json& object) {
  std::vector<std::string> uids;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return uids;
  auto refs = meta->find("ownerReferences");
  if (refs == meta->end() || !refs->is_array()) return uids;
  for (const auto& ref : *refs) {
    if (ref.is_object() && ref.contains("uid") && ref["uid"].is_string())
      uids.push_back(ref["uid"].get<std::string>());
  }
  return uids;
}

bool has_finalizers(const json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return false;
  auto f = meta->find("finalizers");
  return f != meta->end() && f->is_array() && !f->empty();
}

std::string to_hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> from_hex(const std::string& s) {
  if (s.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nib(s[i]);
    int lo = nib(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

bool parse_rv(const std::string& s, std::uint64_t& out) {
  if (s.empty()) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

// Removes strategic-merge-patch directives ($patch, $setElementOrder/..., $retainKeys,
// $deleteFromPrimitiveList/...) so the rest applies as a JSON merge patch.
void strip_directives(json& patch) {
  if (patch.is_object()) {
    for (auto it = patch.begin(); it != patch.end();) {
      if (!it.key().empty() && it.key()[0] == '$')
        it = patch.erase(it);
      else {
        strip_directives(*it);
        ++it;
      }
    }
  } else if (patch.is_array()) {
    for (auto& item : patch) strip_directives(item);
  }
}

bool is_healthy_pod(const json& pod) {
  if (!meta_string(pod, "deletionTimestamp").empty()) return false;
  const json status = pod.value("status", json::object());
  if (status.value("phase", "") != "Running") return false;
  for (const auto& c : status.value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

// intstr: 2 or "50%"; percentages scaled against `total`, rounded up.
std::optional<long long> scaled_value(const json& v, long long total) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.get<long long>();
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (!s.empty() && s.back() == '%') {
      try {
        long long pct = std::stoll(s.substr(0, s.size() - 1));
        return (pct * total + 99) / 100;
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
    try {
      return std::stoll(s);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

ResourceInfo builtin(std::string group, std::string version, std::string kind, std::string plural,
                     bool namespaced, bool status, std::vector<std::string> short_names = {}) {
  ResourceInfo info;
  info.group = std::move(group);
  info.version = std::move(version);
  info.singular = kind;
  std::transform(info.singular.begin(), info.singular.end(), info.singular.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  info.kind = std::move(kind);
  info.plural = std::move(plural);
  info.namespaced = namespaced;
  info.status_subresource = status;
  info.short_names = std::move(short_names);
  return info;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ObjectStore: registry

ObjectStore::ObjectStore(StoreOptions options, const Clock& clock)
    : options_(options),
      clock_(clock),
      rng_(options.random_seed != 0 ? options.random_seed : std::random_device{}()) {
  std::lock_guard lock(mu_);
  register_builtin_resources_locked();
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    json object = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
    (void)create_locked(*storage_info_locked("/namespaces"), "", object, {});
  }
  history_floor_ = 0;
}

void ObjectStore::register_builtin_resources_locked() {
  std::vector<ResourceInfo> infos = {
      builtin("", "v1", "Namespace", "namespaces", false, true, {"ns"}),
      builtin("", "v1", "Pod", "pods", true, true, {"po"}),
      builtin("", "v1", "Secret", "secrets", true, false),
      builtin("", "v1", "ConfigMap", "configmaps", true, false, {"cm"}),
      builtin("", "v1", "ServiceAccount", "serviceaccounts", true, false, {"sa"}),
      builtin("", "v1", "Service", "services", true, true, {"svc"}),
      builtin("", "v1", "Event", "events", true, false, {"ev"}),
      builtin("", "v1", "Node", "nodes", false, true, {"no"}),
      builtin("events.k8s.io", "v1", "Event", "events", true, false, {"ev"}),
      builtin("apps", "v1", "Deployment", "deployments", true, true, {"deploy"}),
      builtin("apps", "v1", "StatefulSet", "statefulsets", true, true, {"sts"}),
      builtin("apps", "v1", "DaemonSet", "daemonsets", true, true, {"ds"}),
      builtin("apps", "v1", "ReplicaSet", "replicasets", true, true, {"rs"}),
      builtin("batch", "v1", "Job", "jobs", true, true),
      builtin("batch", "v1", "CronJob", "cronjobs", true, true, {"cj"}),
      builtin("coordination.k8s.io", "v1", "Lease", "leases", true, false),
      builtin("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, true, {"pdb"}),
      builtin("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
              false, true, {"crd", "crds"}),
      builtin("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
              "mutatingwebhookconfigurations", false, false),
      builtin("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
              "validatingwebhookconfigurations", false, false),
      builtin("rbac.authorization.k8s.io", "v1", "Role", "roles", true, false),
      builtin("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true, false),
      builtin("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false, false),
      builtin("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false,
              false),
  };
  auto column = [](const char* name, const char* type, const char* path) {
    return json{{"name", name}, {"type", type}, {"jsonPath", path}};
  };
  const json age = column("Age", "date", ".metadata.creationTimestamp");
  for (ResourceInfo& info : infos) {
    // A few of the columns kubectl shows for built-ins, so the demo's `kubectl get` reads well.
    if (info.plural == "pods") {
      info.eviction_subresource = true;
      info.printer_columns =
          json::array({column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status"),
                       column("Status", "string", ".status.phase"),
                       column("Node", "string", ".spec.nodeName"), age});
    } else if (info.plural == "deployments" || info.plural == "replicasets" ||
               info.plural == "statefulsets") {
      info.printer_columns =
          json::array({column("Desired", "integer", ".spec.replicas"),
                       column("Ready", "integer", ".status.readyReplicas"),
                       column("Up-to-date", "integer", ".status.updatedReplicas"),
                       column("Available", "integer", ".status.availableReplicas"), age});
    } else if (info.plural == "namespaces") {
      info.printer_columns = json::array({column("Status", "string", ".status.phase"), age});
    } else if (info.plural == "secrets") {
      info.printer_columns = json::array({column("Type", "string", ".type"), age});
    }
    register_resource_locked(info, true);
  }
}

void ObjectStore::register_resource_locked(const ResourceInfo& info, bool storage_version) {
  std::string gvr = info.group + "/" + info.version + "/" + info.plural;
  by_gvr_[gvr] = info;
  gvr_by_kind_[info.api_version() + "/" + info.kind] = gvr;
  if (storage_version || !by_storage_key_.contains(info.storage_key()))
    by_storage_key_[info.storage_key()] = info;
  objects_[info.storage_key()];
}

Status ObjectStore::register_crd_locked(const json& crd) {
  const json spec = crd.value("spec", json::object());
  const json names = spec.value("names", json::object());
  std::string group = spec.value("group", "");
  std::string plural = names.value("plural", "");
  std::string kind = names.value("kind", "");
  const json versions = spec.value("versions", json::array());
  if (group.empty() || plural.empty() || kind.empty() || !versions.is_array() || versions.empty()) {
    return fail("Invalid",
                "spec.group, spec.names.plural, spec.names.kind and spec.versions are required");
  }
  if (meta_string(crd, "name") != plural + "." + group) {
    return fail("Invalid", "metadata.name must be spec.names.plural+\".\"+spec.group (" + plural +
                               "." + group + ")");
  }
  for (const auto& v : versions) {
    if (!v.value("served", true)) continue;
    ResourceInfo info;
    info.group = group;
    info.version = v.value("name", "");
    info.kind = kind;
    info.plural = plural;
    info.singular = names.value("singular", "");
    if (info.singular.empty()) {
      info.singular = kind;
      std::transform(info.singular.begin(), info.singular.end(), info.singular.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    info.namespaced = spec.value("scope", "Namespaced") == "Namespaced";
    info.short_names = names.value("shortNames", std::vector<std::string>{});
    info.categories = names.value("categories", std::vector<std::string>{});
    json sub = v.value("subresources", json::object());
    info.status_subresource = sub.contains("status");
    info.printer_columns = v.value("additionalPrinterColumns", json::array());
    info.schema = v.value("schema", json::object()).value("openAPIV3Schema", json());
    info.from_crd = true;
    register_resource_locked(info, v.value("storage", false));
  }
  return ok();
}

void ObjectStore::unregister_crd_locked(const json& crd) {
  const json spec = crd.value("spec", json::object());
  std::string group = spec.value("group", "");
  std::string plural = spec.value("names", json::object()).value("plural", "");
  std::string storage_key = group + "/" + plural;
  // Delete every custom resource of the definition, as the real server does.
  auto bucket = objects_.find(storage_key);
  if (bucket != objects_.end()) {
    std::vector<ObjectPtr> doomed;
    for (auto& [ns, names] : bucket->second.by_namespace)
      for (auto& [name, obj] : names) doomed.push_back(obj);
    for (const ObjectPtr& obj : doomed) {
      json last = *obj;
      metadata_of(last)["resourceVersion"] = std::to_string(++rv_);
      commit_locked("DELETED", storage_key, std::make_shared<const json>(std::move(last)), obj);
    }
  }
  for (auto it = by_gvr_.begin(); it != by_gvr_.end();) {
    if (it->second.storage_key() == storage_key) {
      gvr_by_kind_.erase(it->second.api_version() + "/" + it->second.kind);
      it = by_gvr_.erase(it);
    } else {
      ++it;
    }
  }
  by_storage_key_.erase(storage_key);
}

std::optional<ResourceInfo> ObjectStore::find_resource(const std::string& group,
                                                       const std::string& version,
                                                       const std::string& plural) const {
  std::lock_guard lock(mu_);
  auto it = by_gvr_.find(group + "/" + version + "/" + plural);
  if (it == by_gvr_.end()) return std::nullopt;
  return it->second;
}

std::optional<ResourceInfo> ObjectStore::find_kind(const std::string& api_version,
                                                   const std::string& kind) const {
  std::lock_guard lock(mu_);
  auto it = gvr_by_kind_.find(api_version + "/" + kind);
  if (it == gvr_by_kind_.end()) return std::nullopt;
  return by_gvr_.at(it->second);
}

std::vector<ResourceInfo> ObjectStore::resources() const {
  std::lock_guard lock(mu_);
  std::vector<ResourceInfo> out;
  for (const auto& [key, info] : by_gvr_) out.push_back(info);
  return out;
}

const ResourceInfo* ObjectStore::storage_info_locked(const std::string& storage_key) const {
  auto it = by_storage_key_.find(storage_key);
  return it == by_storage_key_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------------------
// ObjectStore: reads

ObjectPtr ObjectStore::find_locked(const std::string& storage_key, const std::string& ns,
                                   const std::string& name) const {
  auto bucket = objects_.find(storage_key);
  if (bucket == objects_.end()) return nullptr;
  auto names = bucket->second.by_namespace.find(ns);
  if (names == bucket->second.by_namespace.end()) return nullptr;
  auto it = names->second.find(name);
  return it == names->second.end() ? nullptr : it->second;
}

bool ObjectStore::namespace_exists_locked(const std::string& ns) const {
  return find_locked("/namespaces", "", ns) != nullptr;
}

ApiResult<ObjectPtr> ObjectStore::get(const ResourceInfo& info, const std::string& ns,
                                      const std::string& name) const {
  std::lock_guard lock(mu_);
  ObjectPtr obj = find_locked(info.storage_key(), info.namespaced ? ns : "", name);
  if (!obj) return not_found(info, name);
  return obj;
}

ApiResult<ListResult> ObjectStore::list(const ResourceInfo& info, const std::string& ns,
                                        const ListOptions& options) const {
  ObjectFilter filter;
  auto labels = LabelSelector::parse(options.label_selector);
  if (!labels) return bad_request("unable to parse requirement: " + labels.error().message);
  auto fields = FieldSelector::parse(options.field_selector);
  if (!fields) return bad_request(fields.error().message);
  filter.labels = std::move(*labels);
  filter.fields = std::move(*fields);

  // Continue tokens are the hex of "namespace\0name" of the last item returned.
  std::string start_ns;
  std::string start_name;
  bool has_start = false;
  if (!options.continue_token.empty()) {
    auto raw = from_hex(options.continue_token);
    std::size_t sep = raw ? raw->find('\0') : std::string::npos;
    if (sep == std::string::npos) {
      return bad_request("continue key is not valid: " + options.continue_token);
    }
    start_ns = raw->substr(0, sep);
    start_name = raw->substr(sep + 1);
    has_start = true;
  }

  std::lock_guard lock(mu_);
  ListResult result;
  result.resource_version = std::to_string(rv_);
  auto bucket = objects_.find(info.storage_key());
  if (bucket == objects_.end()) return result;
  const auto& by_ns = bucket->second.by_namespace;
  auto ns_it = info.namespaced && !ns.empty() ? by_ns.find(ns) : by_ns.begin();
  if (has_start && (ns.empty() || !info.namespaced)) {
    ns_it = by_ns.lower_bound(start_ns);
  }
  bool full = false;
  std::int64_t remaining = 0;
  for (; ns_it != by_ns.end(); ++ns_it) {
    if (info.namespaced && !ns.empty() && ns_it->first != ns) break;
    auto name_it = ns_it->second.begin();
    if (has_start && ns_it->first == start_ns) name_it = ns_it->second.upper_bound(start_name);
    for (; name_it != ns_it->second.end(); ++name_it) {
      const ObjectPtr& obj = name_it->second;
      if (!filter.matches(*obj)) continue;
      if (full) {
        ++remaining;
        continue;
      }
      result.items.push_back(obj);
      if (options.limit > 0 && result.items.size() == options.limit) {
        full = true;
        result.continue_token = to_hex(ns_it->first + std::string(1, '\0') + name_it->first);
      }
    }
  }
  if (full && remaining == 0) result.continue_token.clear();
  if (full && remaining > 0) result.remaining_item_count = remaining;
  return result;
}

// ---------------------------------------------------------------------------------------------
// ObjectStore: writes

std::string ObjectStore::random_suffix_locked(std::size_t n) {
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::uniform_int_distribution<std::size_t> pick(0, sizeof(alphabet) - 2);
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += alphabet[pick(rng_)];
  return out;
}

std::string ObjectStore::new_uid_locked() {
  std::uniform_int_distribution<unsigned> byte(0, 255);
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(byte(rng_));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char buf[40];
  std::snprintf(buf, sizeof buf,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return buf;
}

ApiResult<void> ObjectStore::admit_locked(const ResourceInfo& info, json& object,
                                          const WriteOptions& options) {
  if (info.plural == "customresourcedefinitions" && info.group == "apiextensions.k8s.io") {
    default_crd(object);
    return admit_crd(object);
  }
  if (!info.from_crd || !info.schema.is_object()) return {};
  SchemaOutcome outcome = apply_schema(object, info.schema);
  std::string name = meta_string(object, "name");
  if (options.strict_fields && !outcome.unknown_fields.empty()) {
    std::string list;
    for (const auto& f : outcome.unknown_fields)
      list += (list.empty() ? "" : ", ") + std::string("unknown field \"") + f + "\"";
    return bad_request(info.kind + " in version \"" + info.version + "\" cannot be handled as a " +
                       info.kind + ": strict decoding error: " + list);
  }
  if (outcome.causes.empty()) return {};
  json causes = json::array();
  std::string summary;
  for (const auto& c : outcome.causes) {
    causes.push_back({{"reason", c.reason}, {"message", c.message}, {"field", c.field}});
    summary += (summary.empty() ? "" : ", ") + c.field + ": " + c.message;
  }
  if (outcome.causes.size() > 1) summary = "[" + summary + "]";
  json details = {{"name", name}, {"group", info.group}, {"kind", info.kind}, {"causes", causes}};
  return api_error(422, "Invalid",
                   info.kind + "." + info.group + " \"" + name + "\" is invalid: " + summary,
                   std::move(details));
}

// apiextensions.k8s.io/v1's defaulting, which runs before validation: listKind is kind + "List",
// singular the lower-case kind, conversion strategy None.
void ObjectStore::default_crd(json& crd) {
  if (!crd.contains("spec") || !crd["spec"].is_object()) return;
  json& spec = crd["spec"];
  if (spec.contains("names") && spec["names"].is_object()) {
    json& names = spec["names"];
    const std::string kind = names.value("kind", "");
    if (!kind.empty() && names.value("listKind", "").empty()) names["listKind"] = kind + "List";
    if (!kind.empty() && names.value("singular", "").empty()) {
      std::string singular = kind;
      std::transform(singular.begin(), singular.end(), singular.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      names["singular"] = singular;
    }
  }
  if (!spec.contains("conversion")) spec["conversion"] = {{"strategy", "None"}};
}

// What apiextensions.k8s.io/v1 refuses (crd_validator.h): 422 Invalid with the real causes.
ApiResult<void> ObjectStore::admit_crd(const json& crd) {
  const std::vector<SchemaCause> found = validate_crd(crd);
  if (found.empty()) return {};
  const std::string name = meta_string(crd, "name");
  json causes = json::array();
  for (const auto& c : found) {
    causes.push_back({{"reason", c.reason}, {"message", c.message}, {"field", c.field}});
  }
  return api_error(422, "Invalid", crd_invalid_message(name, found),
                   json{{"name", name},
                        {"group", "apiextensions.k8s.io"},
                        {"kind", "CustomResourceDefinition"},
                        {"causes", causes}});
}

void ObjectStore::commit_locked(const std::string& type, const std::string& storage_key,
                                const ObjectPtr& object, const ObjectPtr& previous) {
  std::string ns = meta_string(*object, "namespace");
  std::string name = meta_string(*object, "name");
  std::string uid = meta_string(*object, "uid");
  NameMap& names = objects_[storage_key].by_namespace[ns];
  if (previous) {
    for (const std::string& owner : owner_uids(*previous)) {
      auto [lo, hi] = dependents_.equal_range(owner);
      for (auto it = lo; it != hi; ++it) {
        if (it->second.storage_key == storage_key && it->second.ns == ns &&
            it->second.name == name) {
          dependents_.erase(it);
          break;
        }
      }
    }
  }
  if (type == "DELETED") {
    names.erase(name);
    if (names.empty()) objects_[storage_key].by_namespace.erase(ns);
    by_uid_.erase(uid);
  } else {
    names[name] = object;
    by_uid_[uid] = ObjectRef{storage_key, ns, name};
    for (const std::string& owner : owner_uids(*object))
      dependents_.emplace(owner, ObjectRef{storage_key, ns, name});
  }

  WatchEvent event{type, object, previous, rv_, storage_key};
  history_.push_back(event);
  while (history_.size() > options_.history_limit) {
    history_floor_ = history_.front().resource_version;
    history_.pop_front();
  }
  auto subs = subscribers_.find(storage_key);
  if (subs != subscribers_.end()) {
    auto& list = subs->second;
    std::erase_if(list, [](const Subscriber& s) { return s.channel->closed(); });
    for (const Subscriber& s : list) {
      if (s.ns.empty() || s.ns == ns) s.channel->push(event);
    }
  }
}

ApiResult<ObjectPtr> ObjectStore::create(const ResourceInfo& info, const std::string& ns,
                                         json object, const WriteOptions& options) {
  std::lock_guard lock(mu_);
  return create_locked(info, ns, std::move(object), options);
}

ApiResult<ObjectPtr> ObjectStore::create_locked(const ResourceInfo& info, const std::string& ns,
                                                json object, const WriteOptions& options) {
  if (!object.is_object()) return bad_request("the request body must be a JSON object");
  json& meta = metadata_of(object);
  std::string body_ns = meta.value("namespace", "");
  std::string target_ns = info.namespaced ? (ns.empty() ? body_ns : ns) : "";
  if (info.namespaced) {
    if (!body_ns.empty() && body_ns != target_ns) {
      return bad_request(
          "the namespace of the provided object does not match the namespace sent on the request");
    }
    if (target_ns.empty()) return bad_request("the namespace of the object must be set");
    if (!namespace_exists_locked(target_ns)) return namespace_not_found(target_ns);
    meta["namespace"] = target_ns;
  } else {
    meta.erase("namespace");
  }
  std::string name = meta.value("name", "");
  if (name.empty()) {
    std::string prefix = meta.value("generateName", "");
    if (prefix.empty()) {
      return api_error(
          422, "Invalid",
          info.kind +
              " \"\" is invalid: metadata.name: Required value: name or generateName is required",
          json{{"kind", info.kind},
               {"group", info.group},
               {"causes",
                json::array({{{"reason", "FieldValueRequired"},
                              {"message", "Required value: name or generateName is required"},
                              {"field", "metadata.name"}}})}});
    }
    do {
      name = prefix + random_suffix_locked(5);
    } while (find_locked(info.storage_key(), target_ns, name));
    meta["name"] = name;
  }
  if (find_locked(info.storage_key(), target_ns, name)) return already_exists(info, name);

  object["apiVersion"] = info.api_version();
  object["kind"] = info.kind;
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  meta["uid"] = new_uid_locked();
  meta["creationTimestamp"] = format_rfc3339(clock_.now());
  meta["generation"] = 1;
  if (info.from_crd && info.status_subresource && !options.keep_status) object.erase("status");
  if (info.plural == "pods" && info.group.empty()) {
    if (!object.contains("status") || !object["status"].is_object())
      object["status"] = json::object();
    if (!object["status"].contains("phase")) object["status"]["phase"] = "Pending";
  }
  if (info.plural == "namespaces" && info.group.empty()) object["status"] = {{"phase", "Active"}};
  if (auto admitted = admit_locked(info, object, options); !admitted)
    return std::unexpected(admitted.error());
  if (info.plural == "pods" && info.group.empty() && pod_mutator_) {
    object = pod_mutator_(object);
  }
  if (info.plural == "customresourcedefinitions" && info.group == "apiextensions.k8s.io") {
    if (Status registered = options.dry_run ? ok() : register_crd_locked(object); !registered) {
      return api_error(422, "Invalid",
                       "CustomResourceDefinition.apiextensions.k8s.io \"" + name +
                           "\" is invalid: " + registered.error().message,
                       json{{"name", name}, {"group", info.group}, {"kind", info.kind}});
    }
    const json names = object["spec"].value("names", json::object());
    std::string now = format_rfc3339(clock_.now());
    object["status"] = {
        {"acceptedNames", names},
        {"storedVersions", json::array({object["spec"]["versions"][0].value("name", "")})},
        {"conditions", json::array({{{"type", "NamesAccepted"},
                                     {"status", "True"},
                                     {"reason", "NoConflicts"},
                                     {"message", "no conflicts found"},
                                     {"lastTransitionTime", now}},
                                    {{"type", "Established"},
                                     {"status", "True"},
                                     {"reason", "InitialNamesAccepted"},
                                     {"message", "the initial names have been accepted"},
                                     {"lastTransitionTime", now}}})}};
  }
  if (options.dry_run) {
    metadata_of(object)["resourceVersion"] = std::to_string(rv_);
    return std::make_shared<const json>(std::move(object));
  }
  metadata_of(object)["resourceVersion"] = std::to_string(++rv_);
  auto stored = std::make_shared<const json>(std::move(object));
  commit_locked("ADDED", info.storage_key(), stored, nullptr);
  return stored;
}

ApiResult<ObjectPtr> ObjectStore::update(const ResourceInfo& info, const std::string& ns,
                                         const std::string& name, json object,
                                         bool status_subresource, const WriteOptions& options) {
  if (!object.is_object()) return bad_request("the request body must be a JSON object");
  std::string body_name = meta_string(object, "name");
  if (!body_name.empty() && body_name != name) {
    return bad_request("the name of the object (" + body_name +
                       ") does not match the name on the URL (" + name + ")");
  }
  std::lock_guard lock(mu_);
  ObjectPtr old = find_locked(info.storage_key(), info.namespaced ? ns : "", name);
  if (!old) return not_found(info, name);
  std::string rv = meta_string(object, "resourceVersion");
  if (!rv.empty() && rv != meta_string(*old, "resourceVersion")) {
    return conflict(info, name,
                    "the object has been modified; please apply your changes to the latest version "
                    "and try again");
  }
  return update_locked(info, old, std::move(object), status_subresource, options);
}

ApiResult<ObjectPtr> ObjectStore::update_locked(const ResourceInfo& info, const ObjectPtr& old,
                                                json next, bool status_subresource,
                                                const WriteOptions& options) {
  json result;
  if (status_subresource) {
    result = *old;
    if (next.contains("status"))
      result["status"] = next["status"];
    else
      result.erase("status");
  } else {
    result = std::move(next);
    json& meta = metadata_of(result);
    const json& old_meta = (*old)["metadata"];
    for (const char* field : {"uid", "creationTimestamp", "deletionTimestamp",
                              "deletionGracePeriodSeconds", "generation", "name", "namespace"}) {
      if (old_meta.contains(field))
        meta[field] = old_meta[field];
      else
        meta.erase(field);
    }
    if (info.status_subresource) {
      if (old->contains("status"))
        result["status"] = (*old)["status"];
      else
        result.erase("status");
    }
  }
  result["apiVersion"] = info.api_version();
  result["kind"] = info.kind;
  metadata_of(result)["resourceVersion"] = meta_string(*old, "resourceVersion");
  if (auto admitted = admit_locked(info, result, options); !admitted)
    return std::unexpected(admitted.error());
  if (spec_part(result) != spec_part(*old))
    metadata_of(result)["generation"] = generation_of(*old) + 1;
  bool finishing = !meta_string(result, "deletionTimestamp").empty() && !has_finalizers(result);
  if (result == *old && !finishing)
    return old;  // a no-op write changes nothing, not even resourceVersion
  if (options.dry_run) return std::make_shared<const json>(std::move(result));
  if (info.plural == "customresourcedefinitions" && info.group == "apiextensions.k8s.io" &&
      !status_subresource) {
    if (Status registered = register_crd_locked(result); !registered) {
      return api_error(422, "Invalid",
                       "CustomResourceDefinition.apiextensions.k8s.io \"" +
                           meta_string(result, "name") +
                           "\" is invalid: " + registered.error().message);
    }
  }
  metadata_of(result)["resourceVersion"] = std::to_string(++rv_);
  auto stored = std::make_shared<const json>(std::move(result));
  if (finishing) {
    // The last finalizer is gone from an object being deleted: now it really goes.
    commit_locked("DELETED", info.storage_key(), stored, old);
    if (info.plural == "customresourcedefinitions") unregister_crd_locked(*stored);
    collect_garbage_locked(meta_string(*stored, "uid"));
    return stored;
  }
  commit_locked("MODIFIED", info.storage_key(), stored, old);
  return stored;
}

ApiResult<ObjectPtr> ObjectStore::patch(const ResourceInfo& info, const std::string& ns,
                                        const std::string& name, const std::string& content_type,
                                        const std::string& body, bool status_subresource,
                                        const WriteOptions& options) {
  std::string type = content_type.substr(0, content_type.find(';'));
  if (type == "application/apply-patch+yaml") {
    return api_error(
        415, "UnsupportedMediaType",
        "the fake API server does not implement server-side apply (application/apply-patch+yaml); "
        "use a merge patch or kubectl client-side apply");
  }
  if (type != "application/merge-patch+json" && type != "application/json-patch+json" &&
      type != "application/strategic-merge-patch+json") {
    return api_error(
        415, "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted "
        "media types include: application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json");
  }
  json patch_doc;
  try {
    patch_doc = json::parse(body);
  } catch (const json::exception& e) {
    return bad_request(std::string("error decoding patch: ") + e.what());
  }
  std::lock_guard lock(mu_);
  ObjectPtr old = find_locked(info.storage_key(), info.namespaced ? ns : "", name);
  if (!old) return not_found(info, name);
  json patched = *old;
  if (type == "application/json-patch+json") {
    if (!patch_doc.is_array()) return bad_request("a JSON patch must be an array of operations");
    try {
      patched = old->patch(patch_doc);
    } catch (const json::exception& e) {
      return api_error(
          422, "Invalid",
          std::string("the server rejected our request due to an error in our request"),
          json{
              {"name", name},
              {"group", info.group},
              {"kind", info.plural},
              {"causes", json::array({{{"reason", "FieldValueInvalid"}, {"message", e.what()}}})}});
    }
  } else {
    if (!patch_doc.is_object()) return bad_request("a merge patch must be a JSON object");
    if (type == "application/strategic-merge-patch+json") strip_directives(patch_doc);
    patched.merge_patch(patch_doc);
  }
  std::string rv = meta_string(patched, "resourceVersion");
  if (!rv.empty() && rv != meta_string(*old, "resourceVersion")) {
    return conflict(info, name,
                    "the object has been modified; please apply your changes to the latest version "
                    "and try again");
  }
  std::string patched_name = meta_string(patched, "name");
  if (patched_name != name) return bad_request("metadata.name cannot be changed by a patch");
  return update_locked(info, old, std::move(patched), status_subresource, options);
}

ApiResult<ObjectPtr> ObjectStore::remove(const ResourceInfo& info, const std::string& ns,
                                         const std::string& name, const json& delete_options) {
  std::lock_guard lock(mu_);
  ObjectPtr old = find_locked(info.storage_key(), info.namespaced ? ns : "", name);
  if (!old) return not_found(info, name);
  return remove_locked(info, old, delete_options);
}

ApiResult<ObjectPtr> ObjectStore::remove_locked(const ResourceInfo& info, const ObjectPtr& old,
                                                const json& delete_options) {
  std::string name = meta_string(*old, "name");
  if (delete_options.is_object() && delete_options.contains("preconditions")) {
    const json& pre = delete_options["preconditions"];
    if (pre.contains("uid") && pre["uid"].is_string() &&
        pre["uid"].get<std::string>() != meta_string(*old, "uid")) {
      return conflict(info, name,
                      "Precondition failed: UID in precondition: " + pre["uid"].get<std::string>() +
                          ", UID in object meta: " + meta_string(*old, "uid"));
    }
    if (pre.contains("resourceVersion") && pre["resourceVersion"].is_string() &&
        pre["resourceVersion"].get<std::string>() != meta_string(*old, "resourceVersion")) {
      return conflict(
          info, name,
          "Precondition failed: ResourceVersion in precondition: " +
              pre["resourceVersion"].get<std::string>() +
              ", ResourceVersion in object meta: " + meta_string(*old, "resourceVersion"));
    }
  }
  if (delete_options.is_object() && delete_options.contains("dryRun")) return old;
  if (has_finalizers(*old)) {
    if (!meta_string(*old, "deletionTimestamp").empty()) return old;  // already being deleted
    json next = *old;
    json& meta = metadata_of(next);
    meta["deletionTimestamp"] = format_rfc3339(clock_.now());
    meta["deletionGracePeriodSeconds"] = 0;
    meta["resourceVersion"] = std::to_string(++rv_);
    auto stored = std::make_shared<const json>(std::move(next));
    commit_locked("MODIFIED", info.storage_key(), stored, old);
    return stored;
  }
  json last = *old;
  metadata_of(last)["resourceVersion"] = std::to_string(++rv_);
  auto stored = std::make_shared<const json>(std::move(last));
  commit_locked("DELETED", info.storage_key(), stored, old);
  if (info.plural == "customresourcedefinitions" && info.group == "apiextensions.k8s.io") {
    unregister_crd_locked(*stored);
  }
  if (info.plural == "namespaces" && info.group.empty()) delete_namespace_contents_locked(name);
  collect_garbage_locked(meta_string(*stored, "uid"));
  return stored;
}

void ObjectStore::collect_garbage_locked(const std::string& owner_uid) {
  std::vector<ObjectRef> refs;
  auto [lo, hi] = dependents_.equal_range(owner_uid);
  for (auto it = lo; it != hi; ++it) refs.push_back(it->second);
  for (const ObjectRef& ref : refs) {
    ObjectPtr dependent = find_locked(ref.storage_key, ref.ns, ref.name);
    const ResourceInfo* info = storage_info_locked(ref.storage_key);
    if (!dependent || info == nullptr) continue;
    bool other_owner_alive = false;
    for (const std::string& uid : owner_uids(*dependent))
      other_owner_alive = other_owner_alive || by_uid_.contains(uid);
    if (other_owner_alive) continue;
    (void)remove_locked(*info, dependent, json::object());
  }
}

void ObjectStore::delete_namespace_contents_locked(const std::string& ns) {
  std::vector<std::pair<std::string, ObjectPtr>> doomed;
  for (auto& [key, bucket] : objects_) {
    auto it = bucket.by_namespace.find(ns);
    if (it == bucket.by_namespace.end() || key == "/namespaces") continue;
    for (auto& [name, obj] : it->second) doomed.emplace_back(key, obj);
  }
  for (const auto& [key, obj] : doomed) {
    const ResourceInfo* info = storage_info_locked(key);
    if (info == nullptr) continue;
    ObjectPtr current = find_locked(key, ns, meta_string(*obj, "name"));
    if (current) (void)remove_locked(*info, current, json::object());
  }
}

ApiResult<std::size_t> ObjectStore::remove_collection(const ResourceInfo& info,
                                                      const std::string& ns,
                                                      const ListOptions& options) {
  auto listed = list(info, ns, options);
  if (!listed) return std::unexpected(listed.error());
  std::lock_guard lock(mu_);
  std::size_t count = 0;
  for (const ObjectPtr& obj : listed->items) {
    ObjectPtr current =
        find_locked(info.storage_key(), meta_string(*obj, "namespace"), meta_string(*obj, "name"));
    if (current && remove_locked(info, current, json::object())) ++count;
  }
  return count;
}

ApiResult<json> ObjectStore::evict(const std::string& ns, const std::string& name,
                                   const json& eviction) {
  std::lock_guard lock(mu_);
  const ResourceInfo* pods = storage_info_locked("/pods");
  ObjectPtr pod = find_locked("/pods", ns, name);
  if (!pod) return not_found(*pods, name);
  std::string body_name = eviction.is_object() ? meta_string(eviction, "name") : "";
  if (!body_name.empty() && body_name != name) {
    return bad_request("name in URL does not match name in Eviction object");
  }
  json labels = labels_of(*pod);
  std::vector<ObjectPtr> matching_pdbs;
  auto pdb_bucket = objects_.find("policy/poddisruptionbudgets");
  if (pdb_bucket != objects_.end()) {
    auto names = pdb_bucket->second.by_namespace.find(ns);
    if (names != pdb_bucket->second.by_namespace.end()) {
      for (const auto& [pdb_name, pdb] : names->second) {
        auto sel =
            LabelSelector::from_json(pdb->value("spec", json::object()).value("selector", json()));
        // A PDB with a null selector matches nothing; an empty one matches every pod.
        if (!pdb->value("spec", json::object()).contains("selector")) continue;
        if (sel && sel->matches(labels)) matching_pdbs.push_back(pdb);
      }
    }
  }
  if (matching_pdbs.size() > 1) {
    return api_error(500, "InternalError",
                     "This pod has more than one PodDisruptionBudget, which the eviction "
                     "subresource does not support.");
  }
  if (matching_pdbs.size() == 1 && is_healthy_pod(*pod)) {
    const ObjectPtr& pdb = matching_pdbs.front();
    const json spec = pdb->value("spec", json::object());
    auto sel = LabelSelector::from_json(spec.value("selector", json()));
    long long expected = 0;
    long long healthy = 0;
    auto names = objects_.at("/pods").by_namespace.find(ns);
    if (names != objects_.at("/pods").by_namespace.end()) {
      for (const auto& [pod_name, candidate] : names->second) {
        if (!sel || !sel->matches(labels_of(*candidate))) continue;
        ++expected;
        if (is_healthy_pod(*candidate)) ++healthy;
      }
    }
    long long desired = 0;
    if (spec.contains("minAvailable")) {
      desired = scaled_value(spec["minAvailable"], expected).value_or(expected);
    } else if (spec.contains("maxUnavailable")) {
      desired = expected - scaled_value(spec["maxUnavailable"], expected).value_or(0);
    }
    if (healthy - desired <= 0) {
      std::string pdb_name = meta_string(*pdb, "name");
      return api_error(
          429, "TooManyRequests",
          "Cannot evict pod as it would violate the pod's disruption budget.",
          json{{"causes",
                json::array({{{"reason", "DisruptionBudget"},
                              {"message", "The disruption budget " + pdb_name + " needs " +
                                              std::to_string(desired) + " healthy pods and has " +
                                              std::to_string(healthy) + " currently"}}})}});
    }
  }
  json delete_options =
      eviction.is_object() ? eviction.value("deleteOptions", json::object()) : json::object();
  auto removed = remove_locked(*pods, pod, delete_options);
  if (!removed) return std::unexpected(removed.error());
  return make_success_status(201);
}

// ---------------------------------------------------------------------------------------------
// ObjectStore: watch

ApiResult<WatchStart> ObjectStore::watch(const ResourceInfo& info, const std::string& ns,
                                         const WatchOptions& options) {
  WatchStart start;
  auto labels = LabelSelector::parse(options.label_selector);
  if (!labels) return bad_request("unable to parse requirement: " + labels.error().message);
  auto fields = FieldSelector::parse(options.field_selector);
  if (!fields) return bad_request(fields.error().message);
  start.filter.labels = std::move(*labels);
  start.filter.fields = std::move(*fields);
  std::string watch_ns = info.namespaced ? ns : "";
  std::string key = info.storage_key();

  std::lock_guard lock(mu_);
  const std::string& rv_text = options.resource_version;
  if (rv_text.empty() || rv_text == "0") {
    auto bucket = objects_.find(key);
    if (bucket != objects_.end()) {
      for (const auto& [object_ns, names] : bucket->second.by_namespace) {
        if (!watch_ns.empty() && object_ns != watch_ns) continue;
        for (const auto& [name, obj] : names) {
          WatchEvent event{"ADDED", obj, nullptr, rv_, key};
          if (start.filter.translate(event)) start.initial.push_back(std::move(event));
        }
      }
    }
  } else {
    std::uint64_t from = 0;
    if (!parse_rv(rv_text, from)) {
      return bad_request("invalid resource version \"" + rv_text + "\": it must be an integer");
    }
    if (from < history_floor_) {
      json status = make_status(
          410, "Expired",
          "too old resource version: " + rv_text + " (" + std::to_string(history_floor_) + ")");
      start.error_event = json{{"type", "ERROR"}, {"object", std::move(status)}};
      return start;
    }
    for (const WatchEvent& past : history_) {
      if (past.resource_version <= from || past.storage_key != key) continue;
      if (!watch_ns.empty() && meta_string(*past.object, "namespace") != watch_ns) continue;
      WatchEvent event = past;
      if (start.filter.translate(event)) start.initial.push_back(std::move(event));
    }
  }
  start.channel = std::make_shared<WatchChannel>(options_.watch_queue_limit);
  subscribers_[key].push_back(Subscriber{watch_ns, start.channel});
  return start;
}

std::shared_ptr<WatchChannel> ObjectStore::subscribe(const std::vector<std::string>& storage_keys) {
  std::lock_guard lock(mu_);
  auto channel = std::make_shared<WatchChannel>(std::size_t{1} << 20);
  for (const std::string& key : storage_keys) subscribers_[key].push_back(Subscriber{"", channel});
  return channel;
}

std::optional<std::uint64_t> ObjectStore::bookmark_version(const WatchChannel& channel) const {
  std::lock_guard lock(mu_);
  if (!channel.empty()) return std::nullopt;
  return rv_;
}

void ObjectStore::cut_watches() {
  std::lock_guard lock(mu_);
  for (auto& [key, list] : subscribers_) {
    for (Subscriber& s : list) s.channel->close();
    list.clear();
  }
}

void ObjectStore::compact() {
  std::lock_guard lock(mu_);
  history_.clear();
  history_floor_ = rv_;
}

std::uint64_t ObjectStore::resource_version() const {
  std::lock_guard lock(mu_);
  return rv_;
}

void ObjectStore::set_pod_mutator(PodMutator mutator) {
  std::lock_guard lock(mu_);
  pod_mutator_ = std::move(mutator);
}

ApiResult<ObjectPtr> ObjectStore::apply(json object) {
  std::string api_version = object.value("apiVersion", "");
  std::string kind = object.value("kind", "");
  auto info = find_kind(api_version, kind);
  if (!info) {
    return api_error(404, "NotFound",
                     "the server could not find the requested resource: no kind \"" + kind +
                         "\" is registered for version \"" + api_version + "\"");
  }
  std::string ns = info->namespaced ? meta_string(object, "namespace") : "";
  if (info->namespaced && ns.empty()) {
    ns = "default";
    metadata_of(object)["namespace"] = ns;
  }
  std::string name = meta_string(object, "name");
  std::lock_guard lock(mu_);
  if (info->namespaced && !namespace_exists_locked(ns)) {
    json ns_object = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
    auto created = create_locked(*storage_info_locked("/namespaces"), "", ns_object, {});
    if (!created) return std::unexpected(created.error());
  }
  ObjectPtr old = name.empty() ? nullptr : find_locked(info->storage_key(), ns, name);
  WriteOptions options;
  options.keep_status = true;
  if (!old) return create_locked(*info, ns, std::move(object), options);
  metadata_of(object).erase("resourceVersion");
  // Replace everything, status included: update the main resource, then its status.
  json status = object.contains("status") ? object["status"] : json();
  auto updated = update_locked(*info, old, object, false, options);
  if (!updated || !info->status_subresource) return updated;
  // Removing the last finalizer of an object being deleted deletes it: nothing left to update.
  if (!find_locked(info->storage_key(), ns, name)) return updated;
  json with_status = **updated;
  if (status.is_null())
    with_status.erase("status");
  else
    with_status["status"] = status;
  return update_locked(*info, *updated, std::move(with_status), true, options);
}

}  // namespace keyward::testing::fake
