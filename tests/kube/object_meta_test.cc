// The one reader of object metadata: lenient (missing or mistyped reads as ""), and JSON
// pointers for the rare path elsewhere.

#include "common/kube/object_meta.h"

#include <gtest/gtest.h>

namespace keyward::kube {
namespace {

TEST(ObjectMeta, ReadsFieldsLabelsAndAnnotationsLeniently) {
  const Object pod = {{"metadata",
                       {{"name", "alpha-0"},
                        {"namespace", "bots"},
                        {"resourceVersion", "812"},
                        {"generation", 3},
                        {"labels", {{"keyward.dev/apikey", "alpha"}}},
                        {"annotations", {{"keyward.dev/hold", ""}, {"count", 2}}}}}};
  EXPECT_EQ(metadata_string(pod, "name"), "alpha-0");
  EXPECT_EQ(metadata_string(pod, "generation"), "") << "not a string";
  EXPECT_EQ(resource_version_of(pod), "812");
  EXPECT_EQ(label(pod, "keyward.dev/apikey"), "alpha");
  EXPECT_EQ(label(pod, "absent"), "");
  EXPECT_TRUE(has_annotation(pod, "keyward.dev/hold")) << "present with an empty value";
  EXPECT_EQ(annotation(pod, "keyward.dev/hold"), "");
  EXPECT_EQ(annotation(pod, "count"), "") << "not a string";
  for (const Object& odd : {Object(), Object("text"), Object{{"metadata", 7}},
                            Object{{"metadata", {{"labels", "x"}}}}}) {
    EXPECT_EQ(metadata_string(odd, "name"), "");
    EXPECT_EQ(label(odd, "x"), "");
    EXPECT_FALSE(has_annotation(odd, "x"));
  }
}

TEST(ObjectMeta, JsonPointersForOtherPaths) {
  const Object key = {{"spec",
                       {{"tokenExchange", {{"provider", "tradovate"}, {"caBundle", nullptr}}},
                        {"source", "not an object"}}},
                      {"metadata", {{"annotations", {{"keyward.dev/rotate", "now"}}}}}};
  EXPECT_EQ(string_at(key, "/spec/tokenExchange/provider"), "tradovate");
  EXPECT_EQ(find_path(key, "/spec/tokenExchange/caBundle"), nullptr) << "null reads as absent";
  EXPECT_EQ(find_path(key, "/spec/source/generate"), nullptr) << "through a non-object";
  EXPECT_TRUE(value_at(key, "/spec/missing").is_null());
  EXPECT_EQ(string_at(key, "/metadata/annotations/keyward.dev~1rotate"), "now");
}

}  // namespace
}  // namespace keyward::kube
