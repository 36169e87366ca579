// The fake API server driven over real HTTP: CRUD, conflicts, generation, status subresource,
// finalizers, selectors, paging, patches, schema, faults, auth, eviction, GC, discovery, tables.
#include "tests/fake_apiserver/fake_apiserver.h"

#include <gtest/gtest.h>

#include "tests/fake_apiserver/test_helpers.h"

namespace keyward::testing {
namespace {

using nlohmann::json;

class FakeApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeApiServerOptions options;
    // The test copy of the CRD, so these tests do not follow every change of crds/apikey.yaml
    // (kubectl_test.cc uses the real one).
    options.crd_files = {testdata("apikey-crd.yaml")};
    options.random_seed = 42;
    server_ = std::make_unique<FakeApiServer>(options);
    ASSERT_TRUE(server_->start());
    client_ = std::make_unique<ApiClient>(server_->url());
  }
  void TearDown() override {
    client_.reset();
    server_->stop();
  }
  std::unique_ptr<FakeApiServer> server_;
  std::unique_ptr<ApiClient> client_;
};

// TokenReview as the real API server answers it (authentication.k8s.io/v1): the request echoed
// with status {authenticated, user{username, uid, groups, extra}, audiences}, or, for a token
// it does not know (or for other audiences), status {user: {}, error} without authenticated.
TEST_F(FakeApiServerTest, TokenReviewAnswersRegisteredTokensOnly) {
  const std::string path = "/apis/authentication.k8s.io/v1/tokenreviews";
  server_->add_token("bound-token",
                     TokenIdentity::bound_pod("bots", "bot", "alpha-0", "0b9c-pod-uid"));
  auto review = [&](const std::string& token, json audiences = nullptr) {
    json spec = {{"token", token}};
    if (!audiences.is_null()) spec["audiences"] = std::move(audiences);
    return client_->post(
        path,
        {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenReview"}, {"spec", spec}});
  };
  auto ok = review("bound-token");
  ASSERT_EQ(ok.status, 201) << ok.body.dump();
  EXPECT_EQ(ok.body["kind"], "TokenReview");
  const json& st = ok.body["status"];
  EXPECT_EQ(st["authenticated"], true);
  EXPECT_EQ(st["user"]["username"], "system:serviceaccount:bots:bot");
  EXPECT_EQ(st["user"]["groups"],
            json::array(
                {"system:serviceaccounts", "system:serviceaccounts:bots", "system:authenticated"}));
  EXPECT_EQ(st["user"]["extra"]["authentication.kubernetes.io/pod-name"], json::array({"alpha-0"}));
  EXPECT_EQ(st["user"]["extra"]["authentication.kubernetes.io/pod-uid"],
            json::array({"0b9c-pod-uid"}));
  EXPECT_EQ(st["audiences"], json::array({"https://kubernetes.default.svc.cluster.local"}));

  auto unknown = review("never-issued");
  ASSERT_EQ(unknown.status, 201);
  EXPECT_FALSE(unknown.body["status"].value("authenticated", false));
  EXPECT_EQ(unknown.body["status"]["user"], json::object());
  EXPECT_NE(unknown.body["status"].value("error", ""), "");

  auto other_audience = review("bound-token", json::array({"vault"}));
  EXPECT_FALSE(other_audience.body["status"].value("authenticated", false));
  auto same_audience =
      review("bound-token", json::array({"https://kubernetes.default.svc.cluster.local"}));
  EXPECT_TRUE(same_audience.body["status"].value("authenticated", false));

  server_->add_token("legacy-token", TokenIdentity::legacy("bots", "bot"));
  auto legacy = review("legacy-token");
  EXPECT_TRUE(legacy.body["status"]["authenticated"]);
  EXPECT_FALSE(legacy.body["status"]["user"].contains("extra"));
  server_->remove_token("legacy-token");
  EXPECT_FALSE(review("legacy-token").body["status"].value("authenticated", false));
}

TEST_F(FakeApiServerTest, CreateGetUpdateAndStaleUpdateConflict) {
  auto created = client_->post(kApiKeys, api_key("alpha"));
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_FALSE(created.body["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE(created.body["metadata"]["creationTimestamp"].get<std::string>().empty());
  std::string rv1 = created.body["metadata"]["resourceVersion"];

  auto got = client_->get(std::string(kApiKeys) + "/alpha");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body["spec"]["displayName"], "Bot alpha");

  json changed = got.body;
  changed["spec"]["displayName"] = "changed";
  auto updated = client_->put(std::string(kApiKeys) + "/alpha", changed);
  ASSERT_EQ(updated.status, 200) << updated.body.dump();
  EXPECT_NE(updated.body["metadata"]["resourceVersion"], rv1);
  EXPECT_GT(std::stoull(updated.body["metadata"]["resourceVersion"].get<std::string>()),
            std::stoull(rv1));

  // The same write again still carries rv1: stale.
  auto stale = client_->put(std::string(kApiKeys) + "/alpha", changed);
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.body["kind"], "Status");
  EXPECT_EQ(stale.body["reason"], "Conflict");
  EXPECT_EQ(stale.body["message"],
            "Operation cannot be fulfilled on apikeys.keyward.dev \"alpha\": the object has been "
            "modified; please "
            "apply your changes to the latest version and try again");
  EXPECT_EQ(stale.body["details"]["name"], "alpha");
  EXPECT_EQ(stale.body["details"]["group"], "keyward.dev");
  EXPECT_EQ(stale.body["details"]["kind"], "apikeys");
  EXPECT_EQ(stale.body["code"], 409);

  EXPECT_EQ(client_->put(std::string(kApiKeys) + "/missing", api_key("missing")).status, 404);
}

TEST_F(FakeApiServerTest, CreateRejectsDuplicatesAndMissingNamespaceAndSupportsGenerateName) {
  ASSERT_EQ(client_->post(kConfigMaps, config_map("a")).status, 201);
  auto dup = client_->post(kConfigMaps, config_map("a"));
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.body["reason"], "AlreadyExists");
  EXPECT_EQ(dup.body["message"], "configmaps \"a\" already exists");

  auto no_ns = client_->post("/api/v1/namespaces/nowhere/configmaps", config_map("a", "nowhere"));
  EXPECT_EQ(no_ns.status, 404);
  EXPECT_EQ(no_ns.body["message"], "namespaces \"nowhere\" not found");

  json generated = config_map("");
  generated["metadata"].erase("name");
  generated["metadata"]["generateName"] = "gen-";
  auto made = client_->post(kConfigMaps, generated);
  ASSERT_EQ(made.status, 201);
  std::string name = made.body["metadata"]["name"];
  EXPECT_EQ(name.rfind("gen-", 0), 0u);
  EXPECT_EQ(name.size(), 9u);

  ASSERT_EQ(client_->post("/api/v1/namespaces", {{"metadata", {{"name", "bots"}}}}).status, 201);
  EXPECT_EQ(client_->post("/api/v1/namespaces/bots/configmaps", config_map("a", "bots")).status,
            201);
}

TEST_F(FakeApiServerTest, GenerationBumpsOnlyWhenSpecChanges) {
  auto created = client_->post(kApiKeys, api_key("gen"));
  ASSERT_EQ(created.body["metadata"]["generation"], 1);
  json obj = created.body;
  obj["metadata"]["labels"] = {{"team", "a"}};
  auto labelled = client_->put(std::string(kApiKeys) + "/gen", obj);
  ASSERT_EQ(labelled.status, 200);
  EXPECT_EQ(labelled.body["metadata"]["generation"], 1);
  EXPECT_NE(labelled.body["metadata"]["resourceVersion"],
            created.body["metadata"]["resourceVersion"]);

  auto patched =
      client_->patch(std::string(kApiKeys) + "/gen", {{"spec", {{"displayName", "new"}}}});
  ASSERT_EQ(patched.status, 200);
  EXPECT_EQ(patched.body["metadata"]["generation"], 2);

  // A no-op write changes nothing, not even the resourceVersion.
  auto noop = client_->patch(std::string(kApiKeys) + "/gen", {{"spec", {{"displayName", "new"}}}});
  EXPECT_EQ(noop.body["metadata"]["resourceVersion"], patched.body["metadata"]["resourceVersion"]);
}

TEST_F(FakeApiServerTest, StatusSubresourceSeparatesSpecAndStatus) {
  json key = api_key("st");
  key["status"] = {{"keyVersion", 9}};
  auto created = client_->post(kApiKeys, key);
  ASSERT_EQ(created.status, 201);
  EXPECT_FALSE(created.body.contains("status"))
      << "status is dropped on create with a status subresource";

  json main = created.body;
  main["status"] = {{"keyVersion", 3}};
  auto via_main = client_->put(std::string(kApiKeys) + "/st", main);
  ASSERT_EQ(via_main.status, 200);
  EXPECT_FALSE(via_main.body.contains("status"));

  json via_status_body = via_main.body;
  via_status_body["status"] = {{"keyVersion", 4}};
  via_status_body["spec"]["displayName"] = "ignored";
  auto via_status = client_->put(std::string(kApiKeys) + "/st/status", via_status_body);
  ASSERT_EQ(via_status.status, 200) << via_status.body.dump();
  EXPECT_EQ(via_status.body["status"]["keyVersion"], 4);
  EXPECT_EQ(via_status.body["spec"]["displayName"], "Bot st");
  EXPECT_EQ(via_status.body["metadata"]["generation"], 1);

  auto status_patch =
      client_->patch(std::string(kApiKeys) + "/st/status", {{"status", {{"keyHint", "nt_…abcd"}}}});
  ASSERT_EQ(status_patch.status, 200);
  EXPECT_EQ(status_patch.body["status"]["keyVersion"], 4);
  EXPECT_EQ(status_patch.body["status"]["keyHint"], "nt_…abcd");

  // ConfigMaps have no status subresource.
  EXPECT_EQ(client_->get(std::string(kConfigMaps) + "/x/status").status, 404);
}

TEST_F(FakeApiServerTest, FinalizersDelayDeletionUntilRemoved) {
  json key = api_key("fin");
  key["metadata"]["finalizers"] = {"keyward.dev/cleanup"};
  ASSERT_EQ(client_->post(kApiKeys, key).status, 201);
  WatchReader watch(server_->url(), std::string(kApiKeys) + "?watch=true&resourceVersion=" +
                                        server_->resource_version());

  auto deleting = client_->del(std::string(kApiKeys) + "/fin");
  ASSERT_EQ(deleting.status, 200);
  EXPECT_FALSE(deleting.body["metadata"]["deletionTimestamp"].get<std::string>().empty());
  EXPECT_EQ(deleting.body["metadata"]["deletionGracePeriodSeconds"], 0);
  auto still = client_->get(std::string(kApiKeys) + "/fin");
  ASSERT_EQ(still.status, 200);
  auto modified = watch.next();
  ASSERT_TRUE(modified);
  EXPECT_EQ((*modified)["type"], "MODIFIED");

  json ops = json::array(
      {{{"op", "test"}, {"path", "/metadata/finalizers/0"}, {"value", "keyward.dev/cleanup"}},
       {{"op", "remove"}, {"path", "/metadata/finalizers/0"}}});
  auto released =
      client_->patch(std::string(kApiKeys) + "/fin", ops, "application/json-patch+json");
  ASSERT_EQ(released.status, 200) << released.body.dump();
  EXPECT_EQ(client_->get(std::string(kApiKeys) + "/fin").status, 404);
  auto deleted = watch.next();
  ASSERT_TRUE(deleted);
  EXPECT_EQ((*deleted)["type"], "DELETED");
  EXPECT_EQ((*deleted)["object"]["metadata"]["name"], "fin");
}

TEST_F(FakeApiServerTest, ApplyThatDropsTheLastFinalizerFinishesTheDeletion) {
  json key = api_key("applied");
  key["metadata"]["finalizers"] = {"keyward.dev/cleanup"};
  key["status"] = {{"keyVersion", 1}};
  server_->apply(key);
  ASSERT_EQ(client_->del(std::string(kApiKeys) + "/applied").status, 200);
  ASSERT_TRUE(server_->get("keyward.dev/v1alpha1", "ApiKey", "default", "applied"));
  key["metadata"]["finalizers"] = json::array();
  server_->apply(key);
  EXPECT_FALSE(server_->get("keyward.dev/v1alpha1", "ApiKey", "default", "applied"));
}

TEST_F(FakeApiServerTest, DeletePreconditionsConflict) {
  auto created = client_->post(kConfigMaps, config_map("pre"));
  auto wrong_uid =
      client_->del(std::string(kConfigMaps) + "/pre", {{"preconditions", {{"uid", "nope"}}}});
  EXPECT_EQ(wrong_uid.status, 409);
  auto wrong_rv = client_->del(std::string(kConfigMaps) + "/pre",
                               {{"preconditions", {{"resourceVersion", "1"}}}});
  EXPECT_EQ(wrong_rv.status, 409);
  auto right = client_->del(std::string(kConfigMaps) + "/pre",
                            {{"preconditions", {{"uid", created.body["metadata"]["uid"]}}}});
  EXPECT_EQ(right.status, 200);
  EXPECT_EQ(client_->get(std::string(kConfigMaps) + "/pre").status, 404);
  EXPECT_EQ(client_->del(std::string(kConfigMaps) + "/pre").status, 404);
}

TEST_F(FakeApiServerTest, ListFiltersByLabelAndFieldSelectorsAndPages) {
  client_->post(kConfigMaps, config_map("a1", "default", {{"app", "a"}, {"tier", "web"}}));
  client_->post(kConfigMaps, config_map("a2", "default", {{"app", "a"}}));
  client_->post(kConfigMaps, config_map("b1", "default", {{"app", "b"}}));
  client_->post(kConfigMaps, config_map("n1", "default"));
  auto names = [&](const std::string& query) {
    std::vector<std::string> out;
    auto reply = client_->get(std::string(kConfigMaps) + query);
    for (const auto& item : reply.body["items"]) out.push_back(item["metadata"]["name"]);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("?labelSelector=app%3Da"), (V{"a1", "a2"}));
  EXPECT_EQ(names("?labelSelector=app%21%3Da"), (V{"b1", "n1"}));
  EXPECT_EQ(names("?labelSelector=app%20in%20(a%2Cb)%2Ctier"), (V{"a1"}));
  EXPECT_EQ(names("?labelSelector=app%20notin%20(a)"), (V{"b1", "n1"}));
  EXPECT_EQ(names("?labelSelector=%21app"), (V{"n1"}));
  EXPECT_EQ(names("?fieldSelector=metadata.name%3Db1"), (V{"b1"}));
  EXPECT_EQ(names("?fieldSelector=metadata.name%21%3Db1%2Cmetadata.namespace%3Ddefault"),
            (V{"a1", "a2", "n1"}));
  EXPECT_EQ(client_->get(std::string(kConfigMaps) + "?labelSelector=a%20in%20b").status, 400);

  auto page1 = client_->get(std::string(kConfigMaps) + "?limit=3");
  ASSERT_EQ(page1.body["items"].size(), 3u);
  EXPECT_EQ(page1.body["kind"], "ConfigMapList");
  EXPECT_EQ(page1.body["metadata"]["resourceVersion"], server_->resource_version());
  EXPECT_EQ(page1.body["metadata"]["remainingItemCount"], 1);
  std::string token = page1.body["metadata"]["continue"];
  auto page2 = client_->get(std::string(kConfigMaps) + "?limit=3&continue=" + token);
  ASSERT_EQ(page2.body["items"].size(), 1u);
  EXPECT_EQ(page2.body["items"][0]["metadata"]["name"], "n1");
  EXPECT_FALSE(page2.body["metadata"].contains("continue"));

  // All namespaces.
  client_->post("/api/v1/namespaces", {{"metadata", {{"name", "other"}}}});
  client_->post("/api/v1/namespaces/other/configmaps", config_map("o1", "other"));
  EXPECT_EQ(client_->get("/api/v1/configmaps").body["items"].size(), 5u);
}

TEST_F(FakeApiServerTest, PatchKinds) {
  client_->post(kConfigMaps, config_map("p", "default", {{"a", "1"}, {"b", "2"}}));
  auto merged = client_->patch(std::string(kConfigMaps) + "/p",
                               {{"metadata", {{"labels", {{"a", nullptr}, {"c", "3"}}}}}});
  ASSERT_EQ(merged.status, 200);
  EXPECT_EQ(merged.body["metadata"]["labels"], (json{{"b", "2"}, {"c", "3"}}));

  auto strategic = client_->patch(std::string(kConfigMaps) + "/p",
                                  {{"$setElementOrder/x", json::array()}, {"data", {{"k2", "v2"}}}},
                                  "application/strategic-merge-patch+json");
  ASSERT_EQ(strategic.status, 200);
  EXPECT_EQ(strategic.body["data"]["k2"], "v2");
  EXPECT_FALSE(strategic.body.contains("$setElementOrder/x"));

  auto failed_test =
      client_->patch(std::string(kConfigMaps) + "/p",
                     json::array({{{"op", "test"}, {"path", "/data/k"}, {"value", "other"}},
                                  {{"op", "replace"}, {"path", "/data/k"}, {"value", "x"}}}),
                     "application/json-patch+json");
  EXPECT_EQ(failed_test.status, 422);
  EXPECT_EQ(failed_test.body["reason"], "Invalid");
  EXPECT_EQ(client_->get(std::string(kConfigMaps) + "/p").body["data"]["k"], "v");

  auto stale =
      client_->patch(std::string(kConfigMaps) + "/p", {{"metadata", {{"resourceVersion", "1"}}}});
  EXPECT_EQ(stale.status, 409);

  auto ssa = client_->patch(std::string(kConfigMaps) + "/p", json::object(),
                            "application/apply-patch+yaml");
  EXPECT_EQ(ssa.status, 415);
}

TEST_F(FakeApiServerTest, CrdSchemaDefaultsValidatesAndPrunes) {
  auto created = client_->post(kApiKeys, api_key("schema"));
  ASSERT_EQ(created.status, 201);
  EXPECT_EQ(created.body["spec"]["active"], true) << "schema default applied";

  json bad = api_key("bad");
  bad["spec"].erase("displayName");
  bad["spec"]["source"]["generate"]["alphabet"] = "emoji";
  bad["spec"]["source"]["generate"]["length"] = 5;
  auto invalid = client_->post(kApiKeys, bad);
  ASSERT_EQ(invalid.status, 422);
  EXPECT_EQ(invalid.body["reason"], "Invalid");
  std::set<std::string> fields;
  for (const auto& cause : invalid.body["details"]["causes"]) fields.insert(cause["field"]);
  EXPECT_TRUE(fields.contains("spec.displayName"));
  EXPECT_TRUE(fields.contains("spec.source.generate.alphabet"));
  EXPECT_TRUE(fields.contains("spec.source.generate.length"));

  json extra = api_key("extra");
  extra["spec"]["unknownField"] = 1;
  auto pruned = client_->post(kApiKeys, extra);
  ASSERT_EQ(pruned.status, 201);
  EXPECT_FALSE(pruned.body["spec"].contains("unknownField"));
  extra["metadata"]["name"] = "extra2";
  auto strict = to_reply(client_->raw().Post(std::string(kApiKeys) + "?fieldValidation=Strict",
                                             extra.dump(), "application/json"));
  EXPECT_EQ(strict.status, 400);
  EXPECT_NE(strict.body["message"].get<std::string>().find("unknown field \"spec.unknownField\""),
            std::string::npos);
}

TEST_F(FakeApiServerTest, FailNextAnswersWithStatusBodiesAndRetryAfter) {
  server_->fail_next(2, 503, "GET", "/configmaps");
  EXPECT_EQ(client_->get(kApiKeys).status, 200) << "other paths unaffected";
  auto first = client_->get(kConfigMaps);
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(first.body["kind"], "Status");
  EXPECT_EQ(first.body["reason"], "ServiceUnavailable");
  EXPECT_EQ(client_->get(kConfigMaps).status, 503);
  EXPECT_EQ(client_->get(kConfigMaps).status, 200);

  server_->fail_next(1, 429, "", "", 7);
  auto throttled = client_->get(kConfigMaps);
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.body["reason"], "TooManyRequests");
  ASSERT_TRUE(throttled.headers.contains("Retry-After"));
  EXPECT_EQ(throttled.headers.find("Retry-After")->second, "7");
  EXPECT_EQ(throttled.body["details"]["retryAfterSeconds"], 7);

  EXPECT_EQ(server_->request_count("GET", "/configmaps"), 4u);
  EXPECT_EQ(server_->request_count("DELETE"), 0u);
}

TEST_F(FakeApiServerTest, BearerTokenIsRequiredAndRotatable) {
  server_->set_bearer_token("first");
  EXPECT_EQ(client_->get(kConfigMaps).status, 401);
  EXPECT_EQ(client_->get(kConfigMaps).body["reason"], "Unauthorized");
  ApiClient with_first(server_->url(), "first");
  EXPECT_EQ(with_first.get(kConfigMaps).status, 200);
  server_->set_bearer_token("second");
  EXPECT_EQ(with_first.get(kConfigMaps).status, 401);
  ApiClient with_second(server_->url(), "second");
  EXPECT_EQ(with_second.get(kConfigMaps).status, 200);
}

json pod(const std::string& name, bool healthy, json labels = {{"app", "bot"}}) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", labels}}},
          {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}},
          {"status",
           {{"phase", "Running"},
            {"conditions",
             json::array({{{"type", "Ready"}, {"status", healthy ? "True" : "False"}}})}}}};
}

TEST_F(FakeApiServerTest, EvictionRespectsPodDisruptionBudgets) {
  server_->apply(pod("p1", true));
  server_->apply(pod("p2", true));
  server_->apply(pod("p3", false));
  server_->apply(
      {{"apiVersion", "policy/v1"},
       {"kind", "PodDisruptionBudget"},
       {"metadata", {{"name", "bot-pdb"}, {"namespace", "default"}}},
       {"spec", {{"minAvailable", 2}, {"selector", {{"matchLabels", {{"app", "bot"}}}}}}}});
  json eviction = {{"apiVersion", "policy/v1"},
                   {"kind", "Eviction"},
                   {"metadata", {{"name", "p1"}, {"namespace", "default"}}}};
  auto refused = client_->post("/api/v1/namespaces/default/pods/p1/eviction", eviction);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.body["reason"], "TooManyRequests");
  EXPECT_EQ(refused.body["message"],
            "Cannot evict pod as it would violate the pod's disruption budget.");
  EXPECT_EQ(refused.body["details"]["causes"][0]["reason"], "DisruptionBudget");
  EXPECT_TRUE(server_->get("v1", "Pod", "default", "p1"));

  // The unhealthy pod can always go.
  eviction["metadata"]["name"] = "p3";
  EXPECT_EQ(client_->post("/api/v1/namespaces/default/pods/p3/eviction", eviction).status, 201);
  EXPECT_FALSE(server_->get("v1", "Pod", "default", "p3"));

  server_->apply(pod("p4", true));
  eviction["metadata"]["name"] = "p1";
  auto allowed = client_->post("/api/v1/namespaces/default/pods/p1/eviction", eviction);
  EXPECT_EQ(allowed.status, 201);
  EXPECT_EQ(allowed.body["status"], "Success");
  EXPECT_FALSE(server_->get("v1", "Pod", "default", "p1"));

  // maxUnavailable as a percentage: 2 matching pods, 50% -> 1 may go.
  server_->apply(
      {{"apiVersion", "policy/v1"},
       {"kind", "PodDisruptionBudget"},
       {"metadata", {{"name", "bot-pdb"}, {"namespace", "default"}}},
       {"spec", {{"maxUnavailable", "50%"}, {"selector", {{"matchLabels", {{"app", "bot"}}}}}}}});
  eviction["metadata"]["name"] = "p2";
  EXPECT_EQ(client_->post("/api/v1/namespaces/default/pods/p2/eviction", eviction).status, 201);
  // minAvailable 100% of the one pod left: it must stay.
  server_->apply(
      {{"apiVersion", "policy/v1"},
       {"kind", "PodDisruptionBudget"},
       {"metadata", {{"name", "bot-pdb"}, {"namespace", "default"}}},
       {"spec", {{"minAvailable", "100%"}, {"selector", {{"matchLabels", {{"app", "bot"}}}}}}}});
  eviction["metadata"]["name"] = "p4";
  EXPECT_EQ(client_->post("/api/v1/namespaces/default/pods/p4/eviction", eviction).status, 429);
}

TEST_F(FakeApiServerTest, GarbageCollectsDependentsAndNamespaceContents) {
  auto owner = server_->apply(api_key("owner"));
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata",
                  {{"name", "keyward-owner"},
                   {"namespace", "default"},
                   {"ownerReferences", json::array({{{"apiVersion", "keyward.dev/v1alpha1"},
                                                     {"kind", "ApiKey"},
                                                     {"name", "owner"},
                                                     {"uid", owner["metadata"]["uid"]}}})}}}};
  server_->apply(secret);
  ASSERT_EQ(client_->del(std::string(kApiKeys) + "/owner").status, 200);
  EXPECT_FALSE(server_->get("v1", "Secret", "default", "keyward-owner"));

  server_->apply(config_map("inside", "doomed"));
  ASSERT_TRUE(server_->get("v1", "ConfigMap", "doomed", "inside"));
  ASSERT_EQ(client_->del("/api/v1/namespaces/doomed").status, 200);
  EXPECT_FALSE(server_->get("v1", "ConfigMap", "doomed", "inside"));
  EXPECT_EQ(
      client_->post("/api/v1/namespaces/doomed/configmaps", config_map("again", "doomed")).status,
      404);
}

TEST_F(FakeApiServerTest, DiscoveryVersionAndTables) {
  server_->set_git_version("v1.29.4");
  auto version = client_->get("/version");
  EXPECT_EQ(version.body["gitVersion"], "v1.29.4");
  EXPECT_EQ(version.body["major"], "1");
  EXPECT_EQ(version.body["minor"], "29");

  auto core = client_->get("/api/v1");
  ASSERT_EQ(core.status, 200);
  std::set<std::string> names;
  for (const auto& r : core.body["resources"]) names.insert(r["name"]);
  EXPECT_TRUE(names.contains("pods"));
  EXPECT_TRUE(names.contains("pods/eviction"));
  EXPECT_TRUE(names.contains("pods/status"));
  EXPECT_TRUE(names.contains("secrets"));

  auto groups = client_->get("/apis");
  std::set<std::string> group_names;
  for (const auto& g : groups.body["groups"]) group_names.insert(g["name"]);
  EXPECT_TRUE(group_names.contains("keyward.dev"));
  EXPECT_TRUE(group_names.contains("apps"));
  EXPECT_TRUE(group_names.contains("coordination.k8s.io"));

  auto keyward = client_->get("/apis/keyward.dev/v1alpha1");
  ASSERT_EQ(keyward.status, 200);
  EXPECT_EQ(keyward.body["resources"][0]["name"], "apikeys");
  EXPECT_EQ(keyward.body["resources"][0]["shortNames"][0], "ak");

  json key = api_key("tab");
  server_->apply(key);
  server_->apply({{"apiVersion", "keyward.dev/v1alpha1"},
                  {"kind", "ApiKey"},
                  {"metadata", {{"name", "tab"}, {"namespace", "default"}}},
                  {"spec", key["spec"]},
                  {"status",
                   {{"keyVersion", 7},
                    {"keyHint", "nt_…9f3a"},
                    {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}});
  auto table = client_->get(kApiKeys, {{"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io"}});
  ASSERT_EQ(table.status, 200);
  EXPECT_EQ(table.body["kind"], "Table");
  std::vector<std::string> columns;
  for (const auto& c : table.body["columnDefinitions"]) columns.push_back(c["name"]);
  ASSERT_GE(columns.size(), 4u);
  EXPECT_EQ(columns[0], "Name");
  EXPECT_EQ(columns[1], "Active");
  json cells = table.body["rows"][0]["cells"];
  EXPECT_EQ(cells[0], "tab");
  EXPECT_EQ(cells[1], true);
  EXPECT_EQ(cells[2], 7);
  EXPECT_EQ(cells[3], "nt_…9f3a");
  EXPECT_EQ(cells[4], "True");
  EXPECT_EQ(table.body["rows"][0]["object"]["kind"], "PartialObjectMetadata");

  EXPECT_EQ(client_->get("/apis/nothing.example/v1/things").status, 404);

  server_->apply(pod("tp", true));
  auto pods = client_->get("/api/v1/namespaces/default/pods",
                           {{"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io"}});
  ASSERT_EQ(pods.status, 200);
  std::vector<std::string> pod_columns;
  for (const auto& c : pods.body["columnDefinitions"]) pod_columns.push_back(c["name"]);
  EXPECT_EQ(pod_columns, (std::vector<std::string>{"Name", "Ready", "Status", "Node", "Age"}));
  EXPECT_EQ(pods.body["rows"][0]["cells"][1], "True");
  EXPECT_EQ(pods.body["rows"][0]["cells"][2], "Running");
}

TEST_F(FakeApiServerTest, CrdPostedOverHttpIsServedAtOnce) {
  json crd = {
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", "widgets.example.com"}}},
      {"spec",
       {{"group", "example.com"},
        {"scope", "Cluster"},
        {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}}},
        {"versions", json::array({{{"name", "v1"},
                                   {"served", true},
                                   {"storage", true},
                                   {"schema",
                                    {{"openAPIV3Schema",
                                      {{"type", "object"},
                                       {"x-kubernetes-preserve-unknown-fields", true}}}}}}})}}}};
  auto created = client_->post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
  ASSERT_EQ(created.status, 201) << created.body.dump();
  bool established = false;
  for (const auto& c : created.body["status"]["conditions"])
    established |= c["type"] == "Established" && c["status"] == "True";
  EXPECT_TRUE(established);
  auto widget =
      client_->post("/apis/example.com/v1/widgets", {{"metadata", {{"name", "w1"}}}, {"size", 3}});
  ASSERT_EQ(widget.status, 201) << widget.body.dump();
  EXPECT_FALSE(widget.body["metadata"].contains("namespace"));
  ASSERT_EQ(
      client_->del("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
          .status,
      200);
  EXPECT_EQ(client_->get("/apis/example.com/v1/widgets").status, 404);
}

TEST_F(FakeApiServerTest, PodMutatorSeesEveryPodCreation) {
  server_->set_pod_mutator([](const json& p) {
    json out = p;
    out["metadata"]["annotations"]["keyward.dev/injected"] = "true";
    return out;
  });
  auto created = client_->post("/api/v1/namespaces/default/pods", pod("m1", true));
  ASSERT_EQ(created.status, 201);
  EXPECT_EQ(created.body["metadata"]["annotations"]["keyward.dev/injected"], "true");
}

TEST_F(FakeApiServerTest, ControllerSimulationRollsPodsOnTemplateChange) {
  server_->enable_controller_simulation(true);
  json deploy = {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", "bot"}, {"namespace", "default"}}},
      {"spec",
       {{"replicas", 2},
        {"selector", {{"matchLabels", {{"app", "bot"}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", "bot"}}}}},
          {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "i"}}})}}}}}}}};
  ASSERT_EQ(client_->post("/apis/apps/v1/namespaces/default/deployments", deploy).status, 201);
  auto wait_for = [&](auto predicate) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    WatchReader watch(server_->url(), "/api/v1/namespaces/default/pods?watch=true");
    while (!predicate()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      watch.next(std::chrono::milliseconds(200));  // wake on any pod event, bounded
    }
    return true;
  };
  auto pod_names = [&] {
    std::set<std::string> names;
    for (const auto& p : server_->list("v1", "Pod", "default")) {
      if (p["metadata"].value("deletionTimestamp", "").empty()) names.insert(p["metadata"]["name"]);
    }
    return names;
  };
  ASSERT_TRUE(wait_for([&] { return pod_names().size() == 2; }));
  auto first = pod_names();
  auto one = server_->list("v1", "Pod", "default")[0];
  EXPECT_EQ(one["status"]["phase"], "Running");
  EXPECT_EQ(one["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");

  auto restarted = client_->patch(
      "/apis/apps/v1/namespaces/default/deployments/bot",
      {{"spec",
        {{"template",
          {{"metadata",
            {{"annotations",
              {{"kubectl.kubernetes.io/restartedAt", "2026-11-23T05:00:00Z"}}}}}}}}}},
      "application/strategic-merge-patch+json");
  ASSERT_EQ(restarted.status, 200);
  ASSERT_TRUE(wait_for([&] {
    auto now = pod_names();
    if (now.size() != 2) return false;
    for (const auto& n : now)
      if (first.contains(n)) return false;
    return true;
  }));
  for (const auto& p : server_->list("v1", "Pod", "default")) {
    EXPECT_EQ(p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
              "2026-11-23T05:00:00Z");
  }
  ASSERT_TRUE(wait_for([&] {
    auto d = server_->get("apps/v1", "Deployment", "default", "bot");
    return d && d->contains("status") && (*d)["status"].value("updatedReplicas", 0) == 2 &&
           (*d)["status"].value("observedGeneration", 0) == 2;
  }));
}

}  // namespace
}  // namespace keyward::testing
