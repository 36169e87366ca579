// The one reader of keyward.dev/inject and keyward.dev/apikey on pods.

#include "operator/apikey/pod_assignment.h"

#include <gtest/gtest.h>

#include "operator/apikey/apikey.h"

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

// spec.environment: a value that contradicts a provider's live or demo endpoint is refused.
TEST(Environment, ContradictingTheEndpointIsRefusedAndDemoIsTheDefault) {
  auto key = [](const std::string& environment, const std::string& endpoint) {
    json spec = {{"source", {{"generate", json::object()}}},
                 {"tokenExchange", {{"provider", "tradovate"}, {"endpoint", endpoint}}}};
    if (!environment.empty()) spec["environment"] = environment;
    return json{{"apiVersion", "keyward.dev/v1alpha1"},
                {"kind", "ApiKey"},
                {"metadata", {{"name", "a"}, {"namespace", "bots"}}},
                {"spec", spec}};
  };
  auto demo = parse_apikey(key("", "https://demo.tradovateapi.com/v1"));
  ASSERT_TRUE(demo) << demo.error().message;
  EXPECT_EQ(demo->spec.environment, TradingEnvironment::Demo);
  auto live = parse_apikey(key("live", "https://LIVE.tradovateapi.com/v1"));
  ASSERT_TRUE(live) << live.error().message;
  EXPECT_EQ(live->spec.environment, TradingEnvironment::Live);
  auto wrong = parse_apikey(key("", "https://live.tradovateapi.com/v1"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().reason, "InvalidSpec");
  EXPECT_NE(wrong.error().message.find("spec.environment"), std::string::npos);
  EXPECT_NE(wrong.error().message.find("set environment: live"), std::string::npos)
      << wrong.error().message;
  EXPECT_FALSE(parse_apikey(key("live", "https://demo.tradovateapi.com/v1")));
  // A provider whose endpoints say nothing: the declaration stands.
  EXPECT_TRUE(parse_apikey(key("live", "https://gateway.desk.example/v1")));
  EXPECT_EQ(environment_of_endpoint("https://md.tradovateapi.com/v1"), TradingEnvironment::Live);
  EXPECT_FALSE(environment_of_endpoint("https://example.com"));
}

}  // namespace
}  // namespace keyward::apikey
