// The one reader of keyward.dev/inject and keyward.dev/apikey on pods.

#include "operator/apikey/pod_assignment.h"

#include <gtest/gtest.h>

namespace keyward::apikey {
namespace {

using nlohmann::json;

json pod(const std::string& ns, const json& annotations, const json& labels = json::object()) {
  return {{"metadata",
           {{"name", "p"}, {"namespace", ns}, {"annotations", annotations}, {"labels", labels}}}};
}

TEST(PodAssignment, ParsesNameAndNamespacedForms) {
  auto plain = parse_inject_annotation(" alpha ", "bots");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->ns, "bots");
  EXPECT_EQ(plain->name, "alpha");
  EXPECT_FALSE(plain->explicit_namespace);
  auto qualified = parse_inject_annotation("bots/alpha", "bots");
  ASSERT_TRUE(qualified);
  EXPECT_EQ(qualified->ns, "bots");
  EXPECT_EQ(qualified->name, "alpha");
  EXPECT_TRUE(qualified->explicit_namespace);
  EXPECT_FALSE(parse_inject_annotation("  ", "bots"));
  EXPECT_EQ(parse_inject_annotation("bots/", "bots")->name, "");
}

TEST(PodAssignment, TheNamespacedFormOfTheOwnNamespaceIsTheSameKey) {
  // Seen before there was one reader: accepted by the webhook, enqueued as bots/bots/alpha.
  EXPECT_EQ(assigned_apikey(pod("bots", {{"keyward.dev/inject", "bots/alpha"}})), "alpha");
  EXPECT_EQ(assigned_apikey(pod("bots", {{"keyward.dev/inject", "alpha"}})), "alpha");
  // Another namespace's key is no key of this pod.
  EXPECT_FALSE(assigned_apikey(pod("bots", {{"keyward.dev/inject", "other/alpha"}})));
}

TEST(PodAssignment, TheAnnotationDecidesAndTheLabelServesWithoutIt) {
  EXPECT_EQ(assigned_apikey(pod("bots", json::object(), {{"keyward.dev/apikey", "beta"}})), "beta");
  EXPECT_EQ(assigned_apikey(
                pod("bots", {{"keyward.dev/inject", "alpha"}}, {{"keyward.dev/apikey", "beta"}})),
            "alpha");
  EXPECT_FALSE(assigned_apikey(pod("bots", json::object())));
  EXPECT_EQ(inject_reference(pod("", {{"keyward.dev/inject", "alpha"}}), "bots")->ns, "bots");
}

}  // namespace
}  // namespace keyward::apikey
