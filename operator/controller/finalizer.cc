#include "operator/controller/finalizer.h"

#include "common/kube/object_meta.h"

namespace keyward::controller {
namespace {

kube::Object finalizers_of(const kube::Object& object) {
  return kube::metadata_list(object, "finalizers");
}

}  // namespace

bool has_finalizer(const kube::Object& object, std::string_view finalizer) {
  for (const auto& f : finalizers_of(object)) {
    if (f.is_string() && f.get<std::string>() == finalizer) return true;
  }
  return false;
}

kube::Object add_finalizer_patch(const kube::Object& object, std::string_view finalizer) {
  const kube::Object current = finalizers_of(object);
  if (current.empty()) {
    return kube::Object::array(
        {{{"op", "test"},
          {"path", "/metadata/resourceVersion"},
          {"value", kube::resource_version_of(object)}},
         {{"op", "add"}, {"path", "/metadata/finalizers"}, {"value", {std::string(finalizer)}}}});
  }
  return kube::Object::array(
      {{{"op", "test"}, {"path", "/metadata/finalizers"}, {"value", current}},
       {{"op", "add"}, {"path", "/metadata/finalizers/-"}, {"value", std::string(finalizer)}}});
}

kube::Object remove_finalizer_patch(const kube::Object& object, std::string_view finalizer) {
  const kube::Object current = finalizers_of(object);
  std::size_t index = 0;
  for (; index < current.size(); ++index) {
    if (current[index].is_string() && current[index].get<std::string>() == finalizer) break;
  }
  const std::string path = "/metadata/finalizers/" + std::to_string(index);
  return kube::Object::array({{{"op", "test"}, {"path", path}, {"value", std::string(finalizer)}},
                              {{"op", "remove"}, {"path", path}}});
}

Result<kube::Object> add_finalizer(kube::KubeApi& api, const kube::ResourceType& type,
                                   const kube::Object& object, std::string_view finalizer) {
  const auto& md = object.at("metadata");
  return api.patch(type, md.value("namespace", ""), md.value("name", ""),
                   kube::PatchType::JsonPatch, add_finalizer_patch(object, finalizer));
}

Result<kube::Object> remove_finalizer(kube::KubeApi& api, const kube::ResourceType& type,
                                      const kube::Object& object, std::string_view finalizer) {
  const auto& md = object.at("metadata");
  return api.patch(type, md.value("namespace", ""), md.value("name", ""),
                   kube::PatchType::JsonPatch, remove_finalizer_patch(object, finalizer));
}

}  // namespace keyward::controller
