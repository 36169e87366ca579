#include "operator/controller/finalizer.h"

#include <gtest/gtest.h>

#include "operator/apikey/names.h"
#include "tests/operator/operator_fixture.h"

namespace keyward::testing {
namespace {

TEST_F(OperatorTest, FinalizerIsAddedOnceAndOnlyOursIsRemoved) {
  Json obj = put(make_apikey("alpha"));
  auto added =
      controller::add_finalizer(api, apikey::apikey_resource(), obj, "keyward.dev/cleanup");
  ASSERT_TRUE(added) << added.error().to_string();
  EXPECT_EQ((*added)["metadata"]["finalizers"], Json::array({"keyward.dev/cleanup"}));
  // A stale copy cannot add it again (the test op guards the write).
  EXPECT_FALSE(
      controller::add_finalizer(api, apikey::apikey_resource(), obj, "keyward.dev/cleanup"));

  Json current = apikey();
  current["metadata"]["finalizers"] =
      Json::array({"other.io/a", "keyward.dev/cleanup", "other.io/b"});
  current = put(current);
  auto removed =
      controller::remove_finalizer(api, apikey::apikey_resource(), current, "keyward.dev/cleanup");
  ASSERT_TRUE(removed) << removed.error().to_string();
  EXPECT_EQ((*removed)["metadata"]["finalizers"], Json::array({"other.io/a", "other.io/b"}));
  // Removing from a stale copy fails instead of removing someone else's entry.
  EXPECT_FALSE(
      controller::remove_finalizer(api, apikey::apikey_resource(), current, "keyward.dev/cleanup"));
  EXPECT_EQ(apikey()["metadata"]["finalizers"], Json::array({"other.io/a", "other.io/b"}));
}

}  // namespace
}  // namespace keyward::testing
