#include "common/kube/kube_client.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"
#include "tests/support/memory_filesystem.h"
#include "tests/support/scripted_transport.h"

namespace keyward::kube {
namespace {

// A namespaced custom resource (the shape of Keyward's ApiKey; the client serves any).
ResourceType apikeys_crd() { return {"keyward.dev", "v1alpha1", "apikeys", "ApiKey", true}; }

using keyward::testing::FakeClock;
using keyward::testing::MemoryFilesystem;
using keyward::testing::ScriptedTransport;

struct LogCapture {
  std::shared_ptr<MemorySink> sink = std::make_shared<MemorySink>();
  std::shared_ptr<Redactor> redactor = std::make_shared<Redactor>();
  Logger logger{"kube", sink, redactor, LogLevel::Debug};
};

KubeClientOptions opts() {
  KubeClientOptions o;
  o.server_url = "https://10.0.0.1:6443";
  return o;
}

TEST(KubeUrls, PathsForCoreGroupAndClusterScopedTypes) {
  EXPECT_EQ(resource_path(ResourceType::pods(), "bots", "alpha"),
            "/api/v1/namespaces/bots/pods/alpha");
  EXPECT_EQ(resource_path(ResourceType::pods(), ""), "/api/v1/pods");
  EXPECT_EQ(resource_path(apikeys_crd(), "bots", "a", "status"),
            "/apis/keyward.dev/v1alpha1/namespaces/bots/apikeys/a/status");
  EXPECT_EQ(resource_path(ResourceType::namespaces(), "ignored", "bots"),
            "/api/v1/namespaces/bots");
  EXPECT_EQ(resource_path(ResourceType::pods(), "a b", "x/y?z"),
            "/api/v1/namespaces/a%20b/pods/x%2Fy%3Fz");
}

TEST(KubeUrls, QueryEscapesSelectors) {
  ListOptions o;
  o.label_selector = "keyward.dev/apikey in (a,b),tier!=web";
  o.limit = 50;
  o.continue_token = "abc=/+";
  EXPECT_EQ(list_query(o, false),
            "?labelSelector=keyward.dev%2Fapikey%20in%20%28a%2Cb%29%2Ctier%21%3Dweb&limit=50&"
            "continue=abc%3D%2F%2B");
  ListOptions w;
  w.resource_version = "42";
  w.timeout_seconds = 300;
  EXPECT_EQ(list_query(w, true),
            "?watch=1&resourceVersion=42&timeoutSeconds=300&allowWatchBookmarks=true");
}

TEST(KubeClient, GetSendsHeadersAndDecodesTheObject) {
  ScriptedTransport t;
  t.push(200, R"({"kind":"Pod","metadata":{"name":"alpha"}})");
  LogCapture logs;
  KubeClient client(t, BearerTokenSource::fixed("tok-12345", logs.logger), logs.logger, opts());
  auto r = client.get(ResourceType::pods(), "bots", "alpha");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ((*r)["metadata"]["name"], "alpha");
  const auto req = t.requests().at(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/api/v1/namespaces/bots/pods/alpha");
  EXPECT_EQ(req.headers.find("authorization")->second, "Bearer tok-12345");
  EXPECT_EQ(req.headers.find("Accept")->second, "application/json");
}

TEST(KubeClient, StatusBodyBecomesError) {
  ScriptedTransport t;
  t.push(
      404,
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"b\" not found","reason":"NotFound","code":404})");
  LogCapture logs;
  KubeClient client(t, nullptr, logs.logger, opts());
  auto r = client.get(ResourceType::pods(), "a", "b");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, "NotFound");
  EXPECT_EQ(r.error().http_status, 404);
  EXPECT_EQ(r.error().message,
            "GET https://10.0.0.1:6443/api/v1/namespaces/a/pods/b: pods \"b\" not found");
}

TEST(KubeClient, HtmlErrorPageIsInvalidResponse) {
  ScriptedTransport t;
  t.push(502, "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
         "text/html");
  LogCapture logs;
  KubeClient client(t, nullptr, logs.logger, opts());
  auto r = client.list(apikeys_crd(), "bots", {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, "InvalidResponse");
  EXPECT_EQ(r.error().http_status, 502);
  EXPECT_EQ(r.error().message,
            "GET https://10.0.0.1:6443/apis/keyward.dev/v1alpha1/namespaces/bots/apikeys: expected "
            "JSON from the API server, got text/html (HTTP 502): <html> <head><title>502 Bad "
            "Gateway</title></head> <body>nginx</body></html>; check the server address points at "
            "a Kubernetes API server");
}

TEST(KubeClient, TooManyRequestsCarriesRetryAfter) {
  ScriptedTransport t;
  HttpResponse r429;
  r429.status = 429;
  r429.body =
      R"({"kind":"Status","reason":"TooManyRequests","message":"Cannot evict pod as it would violate the pod's disruption budget.","code":429})";
  r429.headers.emplace("Retry-After", "7");
  t.push(r429);
  LogCapture logs;
  KubeClient client(t, nullptr, logs.logger, opts());
  auto r = client.create_subresource(ResourceType::pods(), "bots", "p1", "eviction",
                                     {{"apiVersion", "policy/v1"}, {"kind", "Eviction"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, "TooManyRequests");
  EXPECT_EQ(r.error().retry_after, std::chrono::seconds(7));
  EXPECT_NE(r.error().message.find("retry after 7 seconds"), std::string::npos);
  EXPECT_EQ(t.requests().at(0).path, "/api/v1/namespaces/bots/pods/p1/eviction");
}

TEST(KubeClient, PatchContentTypesAndStatusSubresource) {
  ScriptedTransport t;
  t.push(200, "{}");
  LogCapture logs;
  KubeClient client(t, nullptr, logs.logger, opts());
  ASSERT_TRUE(client.patch(apikeys_crd(), "n", "k", PatchType::Merge, {{"a", 1}}, true));
  ASSERT_TRUE(client.patch(ResourceType::pods(), "n", "p", PatchType::JsonPatch, Object::array()));
  ASSERT_TRUE(client.patch(ResourceType::deployments(), "n", "d", PatchType::StrategicMerge, {}));
  const auto reqs = t.requests();
  EXPECT_EQ(reqs[0].path, "/apis/keyward.dev/v1alpha1/namespaces/n/apikeys/k/status");
  EXPECT_EQ(reqs[0].content_type, "application/merge-patch+json");
  EXPECT_EQ(reqs[0].method, "PATCH");
  EXPECT_EQ(reqs[1].content_type, "application/json-patch+json");
  EXPECT_EQ(reqs[2].content_type, "application/strategic-merge-patch+json");
}

TEST(KubeClient, DeleteSendsPreconditions) {
  ScriptedTransport t;
  t.push(200, R"({"kind":"Status","status":"Success"})");
  LogCapture logs;
  KubeClient client(t, nullptr, logs.logger, opts());
  DeleteOptions d;
  d.precondition_uid = "u-1";
  d.propagation_policy = "Background";
  ASSERT_TRUE(client.remove(ResourceType::secrets(), "n", "s", d));
  const auto body = nlohmann::json::parse(t.requests().at(0).body);
  EXPECT_EQ(body["preconditions"]["uid"], "u-1");
  EXPECT_EQ(body["propagationPolicy"], "Background");
  EXPECT_EQ(t.requests().at(0).method, "DELETE");
}

TEST(KubeClient, ListFillsKindAndReturnsResourceVersion) {
  ScriptedTransport t;
  t.push(
      200,
      R"({"kind":"PodList","metadata":{"resourceVersion":"77","continue":"next"},"items":[{"metadata":{"name":"a"}}]})");
  LogCapture logs;
  KubeClient client(t, nullptr, logs.logger, opts());
  auto r = client.list(ResourceType::pods(), "", {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->resource_version, "77");
  EXPECT_EQ(r->continue_token, "next");
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0]["kind"], "Pod");
  EXPECT_EQ(r->items[0]["apiVersion"], "v1");
}

TEST(KubeClient, UnauthorizedRereadsTheTokenFileAndRetriesOnce) {
  MemoryFilesystem fs;
  FakeClock clock;
  fs.set("/sa/token", "old-token-aaaa");
  LogCapture logs;
  auto tokens = BearerTokenSource::from_file("/sa/token", fs, clock, logs.logger);
  ASSERT_TRUE(tokens.has_value());
  ScriptedTransport t;
  t.push_handler([](const HttpRequest& req) -> Result<HttpResponse> {
    HttpResponse r;
    r.status = req.headers.find("Authorization")->second == "Bearer new-token-bbbb" ? 200 : 401;
    r.body = r.status == 200 ? "{}" : R"({"kind":"Status","reason":"Unauthorized","code":401})";
    return r;
  });
  KubeClient client(t, std::move(*tokens), logs.logger, opts());
  fs.set("/sa/token", "new-token-bbbb\n");  // the kubelet rotated it; the recheck is not due yet
  auto r = client.get(ResourceType::pods(), "a", "b");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(t.requests().size(), 2u);

  // A 401 with an unchanged token is not retried.
  auto again = client.get_path("/version");
  ASSERT_TRUE(again.has_value());
  ScriptedTransport t2;
  t2.push(401, R"({"kind":"Status","reason":"Unauthorized","code":401,"message":"Unauthorized"})");
  KubeClient client2(t2, BearerTokenSource::fixed("fixed-token-cccc", logs.logger), logs.logger,
                     opts());
  auto denied = client2.get(ResourceType::pods(), "a", "b");
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().reason, "Unauthorized");
  EXPECT_EQ(t2.requests().size(), 1u);
}

TEST(BearerTokenSource, RereadsTheFileOnlyAfterTheRecheckInterval) {
  MemoryFilesystem fs;
  FakeClock clock;
  fs.set("/t", "first-token-1");
  LogCapture logs;
  auto source = BearerTokenSource::from_file("/t", fs, clock, logs.logger, Seconds(60));
  ASSERT_TRUE(source.has_value());
  fs.set("/t", "second-token-2");
  EXPECT_EQ((*source)->token(), "first-token-1");
  clock.advance(Seconds(59));
  EXPECT_EQ((*source)->token(), "first-token-1");
  clock.advance(Seconds(1));
  EXPECT_EQ((*source)->token(), "second-token-2");
  // A vanished file keeps the last token.
  fs.remove("/t");
  clock.advance(Seconds(60));
  EXPECT_EQ((*source)->token(), "second-token-2");
  // Tokens never reach the logs.
  const std::string logged = logs.logger.redactor().redact(logs.sink->joined());
  EXPECT_EQ(logs.sink->joined().find("first-token-1"), std::string::npos);
  EXPECT_EQ(logs.sink->joined().find("second-token-2"), std::string::npos);
  EXPECT_EQ(logs.redactor->redact("x second-token-2 first-token-1"), "x [REDACTED] [REDACTED]");
  EXPECT_FALSE(logged.empty());
}

TEST(KubeClient, SecretsInAnErrorPageAreRedacted) {
  ScriptedTransport t;
  t.push(500, "oops: Bearer tok-leaky-9999 was rejected", "text/plain");
  LogCapture logs;
  KubeClient client(t, BearerTokenSource::fixed("tok-leaky-9999", logs.logger), logs.logger,
                    opts());
  auto r = client.get(ResourceType::pods(), "a", "b");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.find("tok-leaky-9999"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("[REDACTED]"), std::string::npos);
}

TEST(KubeClient, WatchDecodesEventsAndStatusErrors) {
  ScriptedTransport t;
  t.push(
      200,
      "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"5\"}}}\n"
      "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n");
  t.push(
      410,
      R"j({"kind":"Status","reason":"Expired","message":"too old resource version: 1 (9)","code":410})j");
  LogCapture logs;
  KubeClient client(t, nullptr, logs.logger, opts());
  std::vector<WatchEvent> events;
  ListOptions o;
  o.resource_version = "4";
  auto s = client.watch(ResourceType::pods(), "n", o,
                        [&](const WatchEvent& e) {
                          events.push_back(e);
                          return true;
                        },
                        {});
  ASSERT_TRUE(s.has_value()) << s.error().to_string();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, WatchEventType::Added);
  EXPECT_EQ(events[1].type, WatchEventType::Bookmark);
  EXPECT_EQ(t.requests().at(0).path,
            "/api/v1/namespaces/n/pods?watch=1&resourceVersion=4&allowWatchBookmarks=true");
  auto gone =
      client.watch(ResourceType::pods(), "n", o, [](const WatchEvent&) { return true; }, {});
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().http_status, 410);
  EXPECT_EQ(gone.error().reason, "Expired");
}

TEST(RetryOnConflict, RetriesOnlyConflictsUpToTheLimit) {
  int calls = 0;
  auto r = retry_on_conflict([&]() -> Result<int> {
    if (++calls == 1) return fail("Conflict", "stale", 409);
    return 42;
  });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls, 2);

  calls = 0;
  auto always = retry_on_conflict(
      [&]() -> Status {
        ++calls;
        return fail("Conflict", "stale", 409);
      },
      3);
  EXPECT_FALSE(always.has_value());
  EXPECT_EQ(calls, 3);

  calls = 0;
  auto other = retry_on_conflict([&]() -> Status {
    ++calls;
    return fail("Forbidden", "no", 403);
  });
  EXPECT_EQ(other.error().reason, "Forbidden");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace keyward::kube
