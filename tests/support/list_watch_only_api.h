#pragma once
// A KubeApi test double for code that only lists and watches (the Watcher, the Informer).
// Subclasses script list() and watch(); every other verb fails the test that reached it.

#include <gtest/gtest.h>

#include "common/kube/kube_api.h"

namespace keyward::kube::testing {

class ListWatchOnlyApi : public KubeApi {
 public:
  Result<Object> get(const ResourceType&, const std::string&, const std::string&) final {
    return unexpected_verb("get");
  }
  Result<Object> create(const ResourceType&, const std::string&, const Object&) final {
    return unexpected_verb("create");
  }
  Result<Object> update(const ResourceType&, const Object&) final {
    return unexpected_verb("update");
  }
  Result<Object> update_status(const ResourceType&, const Object&) final {
    return unexpected_verb("update_status");
  }
  Result<Object> patch(const ResourceType&, const std::string&, const std::string&, PatchType,
                       const Object&, bool) final {
    return unexpected_verb("patch");
  }
  Status remove(const ResourceType&, const std::string&, const std::string&,
                const DeleteOptions&) final {
    return unexpected_verb("remove");
  }
  Result<Object> create_subresource(const ResourceType&, const std::string&, const std::string&,
                                    const std::string&, const Object&) final {
    return unexpected_verb("create_subresource");
  }
  Result<Object> get_path(const std::string&) final { return unexpected_verb("get_path"); }

 private:
  static std::unexpected<Error> unexpected_verb(const char* verb) {
    ADD_FAILURE() << "the code under test called KubeApi::" << verb
                  << "; it should only list and watch";
    return fail("NotScripted", "this test double answers only list and watch");
  }
};

}  // namespace keyward::kube::testing
