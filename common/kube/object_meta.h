#pragma once
// The one reader of a Kubernetes object's metadata: name, namespace, resourceVersion, labels,
// annotations. Lenient by design: a missing or mistyped field reads as "" (objects come from the
// API server, and checking a resource's shape is its parser's job, e.g. apikey::parse_apikey).
// Header-only, so libraries that use only the KubeApi interface need not link the client.
//
//   kube::metadata_string(pod, "namespace");       // "bots"
//   kube::annotation(pod, "keyward.dev/inject");   // "" when absent
//   kube::label(secret, "keyward.dev/apikey");
//   kube::metadata_list(apikey, "finalizers");     // [] when absent
//   kube::controller_owner(pod);                   // the ReplicaSet's reference, or null

#include <string>
#include <string_view>

#include "common/kube/kube_api.h"

namespace keyward::kube {

namespace meta_detail {
// metadata.<section> when it is an object, else null.
inline const Object* section(const Object& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) return nullptr;
  auto s = md->find(name);
  return s == md->end() || !s->is_object() ? nullptr : &*s;
}
inline std::string string_in(const Object* map, std::string_view key) {
  if (map == nullptr) return "";
  auto it = map->find(key);
  return it == map->end() || !it->is_string() ? "" : it->get<std::string>();
}
}  // namespace meta_detail

// metadata.<field> when it is a string, else "".
inline std::string metadata_string(const Object& object, std::string_view field) {
  if (!object.is_object()) return "";
  auto md = object.find("metadata");
  return md == object.end() || !md->is_object() ? "" : meta_detail::string_in(&*md, field);
}

// The resourceVersion of an object ("" when absent).
inline std::string resource_version_of(const Object& object) {
  return metadata_string(object, "resourceVersion");
}

// metadata.labels[key] / metadata.annotations[key] when a string, else "".
inline std::string label(const Object& object, std::string_view key) {
  return meta_detail::string_in(meta_detail::section(object, "labels"), key);
}
inline std::string annotation(const Object& object, std::string_view key) {
  return meta_detail::string_in(meta_detail::section(object, "annotations"), key);
}
// Whether metadata.annotations has key (with any value, even "").
inline bool has_annotation(const Object& object, std::string_view key) {
  const Object* a = meta_detail::section(object, "annotations");
  return a != nullptr && a->contains(key);
}

// metadata.<field> when it is a list (finalizers, ownerReferences), else an empty list.
inline Object metadata_list(const Object& object, std::string_view field) {
  if (!object.is_object()) return Object::array();
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) return Object::array();
  auto list = md->find(field);
  return list == md->end() || !list->is_array() ? Object::array() : *list;
}

// The owner reference marked controller: true (the workload that manages the object), or null.
inline const Object* controller_owner(const Object& object) {
  if (!object.is_object()) return nullptr;
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) return nullptr;
  auto owners = md->find("ownerReferences");
  if (owners == md->end() || !owners->is_array()) return nullptr;
  for (const Object& ref : *owners) {
    auto flag = ref.is_object() ? ref.find("controller") : ref.end();
    if (ref.is_object() && flag != ref.end() && flag->is_boolean() && flag->get<bool>())
      return &ref;
  }
  return nullptr;
}

// The value at a JSON pointer of object keys ("/spec/tokenExchange/provider"; a key with '/'
// is written "~1"), or null when a step is missing, not an object, or null: nlohmann's
// json_pointer without its exceptions. For the one place a resource's parser is not used.
inline const Object* find_path(const Object& object, const std::string& pointer) {
  const Object::json_pointer path(pointer);
  if (!object.contains(path)) return nullptr;
  const Object& value = object.at(path);
  return value.is_null() ? nullptr : &value;
}
// A copy of that value, or null.
inline Object value_at(const Object& object, const std::string& pointer) {
  const Object* v = find_path(object, pointer);
  return v == nullptr ? Object() : *v;
}
// That value when it is a string, else "".
inline std::string string_at(const Object& object, const std::string& pointer) {
  const Object* v = find_path(object, pointer);
  return v != nullptr && v->is_string() ? v->get<std::string>() : "";
}

}  // namespace keyward::kube
