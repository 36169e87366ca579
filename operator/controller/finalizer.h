#pragma once
// Adding and removing one finalizer entry with JSON patches, as kube-rs finalizer.rs does:
// a `test` of the current list (or of the entry at its index) guards each change, so a
// concurrent writer makes the patch fail (422/409) instead of clobbering someone else's entry.
// (kube-rs tests "/metadata/finalizers" against null when the list is absent; not every JSON
// patch implementation treats a missing member as null, so we test the resourceVersion then.)

#include <string>
#include <string_view>

#include "common/core/result.h"
#include "common/kube/kube_api.h"

namespace keyward::controller {

[[nodiscard]] bool has_finalizer(const kube::Object& object, std::string_view finalizer);

// The JSON patch that appends `finalizer`; the object must not have it yet.
[[nodiscard]] kube::Object add_finalizer_patch(const kube::Object& object,
                                               std::string_view finalizer);
// The JSON patch that removes `finalizer` (test + remove at its index); the object must have it.
[[nodiscard]] kube::Object remove_finalizer_patch(const kube::Object& object,
                                                  std::string_view finalizer);

Result<kube::Object> add_finalizer(kube::KubeApi& api, const kube::ResourceType& type,
                                   const kube::Object& object, std::string_view finalizer);
Result<kube::Object> remove_finalizer(kube::KubeApi& api, const kube::ResourceType& type,
                                      const kube::Object& object, std::string_view finalizer);

}  // namespace keyward::controller
