// Watch semantics over HTTP: replay from a resourceVersion, synthetic ADDED, 410 Expired after
// compaction or history overflow, bookmarks, timeouts, cut_watches, selector transitions, and
// the bounded per-watcher queue.
#include <gtest/gtest.h>

#include "common/core/clock.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/fake_apiserver/object_store.h"
#include "tests/fake_apiserver/test_helpers.h"

namespace keyward::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class WatchTest : public ::testing::Test {
 protected:
  void start(FakeApiServerOptions options = {}) {
    options.crd_files = {apikey_crd_path()};
    server_ = std::make_unique<FakeApiServer>(options);
    ASSERT_TRUE(server_->start());
    client_ = std::make_unique<ApiClient>(server_->url());
  }
  void TearDown() override {
    client_.reset();
    if (server_) server_->stop();
  }
  std::string watch_path(const std::string& query) const {
    return std::string(kConfigMaps) + "?watch=true" + query;
  }
  std::unique_ptr<FakeApiServer> server_;
  std::unique_ptr<ApiClient> client_;
};

TEST_F(WatchTest, ReplaysHistoryAfterResourceVersionThenStreamsLive) {
  start();
  auto a = client_->post(kConfigMaps, config_map("a"));
  std::string after_a = a.body["metadata"]["resourceVersion"];
  client_->post(kConfigMaps, config_map("b"));
  client_->patch(std::string(kConfigMaps) + "/a", {{"data", {{"k", "changed"}}}});

  WatchReader watch(server_->url(), watch_path("&resourceVersion=" + after_a));
  auto e1 = watch.next();
  ASSERT_TRUE(e1);
  EXPECT_EQ((*e1)["type"], "ADDED");
  EXPECT_EQ((*e1)["object"]["metadata"]["name"], "b");
  auto e2 = watch.next();
  ASSERT_TRUE(e2);
  EXPECT_EQ((*e2)["type"], "MODIFIED");
  EXPECT_EQ((*e2)["object"]["data"]["k"], "changed");

  client_->del(std::string(kConfigMaps) + "/b");
  auto e3 = watch.next();
  ASSERT_TRUE(e3);
  EXPECT_EQ((*e3)["type"], "DELETED");
  EXPECT_EQ((*e3)["object"]["metadata"]["name"], "b");
  EXPECT_EQ((*e3)["object"]["metadata"]["resourceVersion"], server_->resource_version());
  EXPECT_EQ(watch.status(), 0) << "stream still open";
}

TEST_F(WatchTest, WithoutResourceVersionStartsWithSyntheticAdded) {
  start();
  client_->post(kConfigMaps, config_map("x"));
  client_->post(kConfigMaps, config_map("y"));
  WatchReader watch(server_->url(), watch_path(""));
  std::set<std::string> names;
  for (int i = 0; i < 2; ++i) {
    auto e = watch.next();
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["type"], "ADDED");
    names.insert((*e)["object"]["metadata"]["name"]);
  }
  EXPECT_EQ(names, (std::set<std::string>{"x", "y"}));
  EXPECT_FALSE(watch.next(100ms)) << "nothing else until something changes";
}

TEST_F(WatchTest, TooOldResourceVersionAfterCompactGetsExpiredErrorEvent) {
  start();
  auto a = client_->post(kConfigMaps, config_map("a"));
  std::string old_rv = a.body["metadata"]["resourceVersion"];
  client_->post(kConfigMaps, config_map("b"));
  server_->compact();
  WatchReader watch(server_->url(), watch_path("&resourceVersion=" + old_rv));
  auto e = watch.next();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "ERROR");
  EXPECT_EQ((*e)["object"]["kind"], "Status");
  EXPECT_EQ((*e)["object"]["code"], 410);
  EXPECT_EQ((*e)["object"]["reason"], "Expired");
  EXPECT_EQ((*e)["object"]["message"],
            "too old resource version: " + old_rv + " (" + server_->resource_version() + ")");
  EXPECT_TRUE(watch.wait_closed());
  EXPECT_EQ(watch.status(), 200);

  // The current resourceVersion is still fine.
  WatchReader fresh(server_->url(), watch_path("&resourceVersion=" + server_->resource_version()));
  client_->post(kConfigMaps, config_map("c"));
  auto live = fresh.next();
  ASSERT_TRUE(live);
  EXPECT_EQ((*live)["type"], "ADDED");
}

TEST_F(WatchTest, HistoryLimitExpiresOldResourceVersions) {
  FakeApiServerOptions options;
  options.history_limit = 3;
  start(options);
  auto first = client_->post(kConfigMaps, config_map("h0"));
  for (int i = 1; i <= 4; ++i) client_->post(kConfigMaps, config_map("h" + std::to_string(i)));
  WatchReader expired(server_->url(),
                      watch_path("&resourceVersion=" +
                                 first.body["metadata"]["resourceVersion"].get<std::string>()));
  auto e = expired.next();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "ERROR");
  EXPECT_EQ((*e)["object"]["code"], 410);
}

TEST_F(WatchTest, BookmarksCarryOnlyTheResourceVersion) {
  FakeApiServerOptions options;
  options.bookmark_interval = 50ms;
  start(options);
  client_->post(kConfigMaps, config_map("a"));
  WatchReader watch(server_->url(), watch_path("&allowWatchBookmarks=true&resourceVersion=" +
                                               server_->resource_version()));
  auto bookmark = watch.next_of("BOOKMARK");
  ASSERT_TRUE(bookmark);
  EXPECT_EQ((*bookmark)["object"]["kind"], "ConfigMap");
  EXPECT_EQ((*bookmark)["object"]["metadata"].size(), 1u);
  EXPECT_EQ((*bookmark)["object"]["metadata"]["resourceVersion"], server_->resource_version());

  WatchReader no_bookmarks(server_->url(),
                           watch_path("&resourceVersion=" + server_->resource_version()));
  EXPECT_FALSE(no_bookmarks.next(200ms)) << "no BOOKMARK without allowWatchBookmarks";
}

TEST_F(WatchTest, TimeoutSecondsEndsTheStreamWithABookmark) {
  start();
  WatchReader watch(server_->url(),
                    watch_path("&timeoutSeconds=1&allowWatchBookmarks=true&resourceVersion=" +
                               server_->resource_version()));
  auto bookmark = watch.next(3s);
  ASSERT_TRUE(bookmark);
  EXPECT_EQ((*bookmark)["type"], "BOOKMARK");
  EXPECT_TRUE(watch.wait_closed(3s));
}

TEST_F(WatchTest, CutWatchesClosesEveryStream) {
  start();
  WatchReader w1(server_->url(), watch_path("&resourceVersion=" + server_->resource_version()));
  WatchReader w2(server_->url(), watch_path("&resourceVersion=" + server_->resource_version()));
  // Make sure both are registered before cutting: an event reaches each of them.
  client_->post(kConfigMaps, config_map("before"));
  ASSERT_TRUE(w1.next());
  ASSERT_TRUE(w2.next());
  server_->cut_watches();
  EXPECT_TRUE(w1.wait_closed());
  EXPECT_TRUE(w2.wait_closed());
}

TEST_F(WatchTest, SelectorTransitionsBecomeAddedAndDeleted) {
  start();
  client_->post(kConfigMaps, config_map("s", "default", {{"app", "a"}}));
  WatchReader watch(server_->url(), watch_path("&labelSelector=app%3Da&resourceVersion=" +
                                               server_->resource_version()));
  client_->post(kConfigMaps, config_map("other", "default", {{"app", "b"}}));
  client_->patch(std::string(kConfigMaps) + "/s", {{"metadata", {{"labels", {{"app", "b"}}}}}});
  auto gone = watch.next();
  ASSERT_TRUE(gone);
  EXPECT_EQ((*gone)["type"], "DELETED") << "stopped matching";
  EXPECT_EQ((*gone)["object"]["metadata"]["name"], "s");
  client_->patch(std::string(kConfigMaps) + "/other", {{"metadata", {{"labels", {{"app", "a"}}}}}});
  auto came = watch.next();
  ASSERT_TRUE(came);
  EXPECT_EQ((*came)["type"], "ADDED") << "started matching";
  EXPECT_EQ((*came)["object"]["metadata"]["name"], "other");
}

TEST_F(WatchTest, NamespacedWatchSeesOnlyItsNamespace) {
  start();
  client_->post("/api/v1/namespaces", {{"metadata", {{"name", "other"}}}});
  WatchReader watch(server_->url(), watch_path("&resourceVersion=" + server_->resource_version()));
  WatchReader all(server_->url(),
                  "/api/v1/configmaps?watch=true&resourceVersion=" + server_->resource_version());
  client_->post("/api/v1/namespaces/other/configmaps", config_map("elsewhere", "other"));
  client_->post(kConfigMaps, config_map("here"));
  auto e = watch.next();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["object"]["metadata"]["name"], "here");
  auto a1 = all.next();
  auto a2 = all.next();
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ((*a1)["object"]["metadata"]["name"], "elsewhere");
  EXPECT_EQ((*a2)["object"]["metadata"]["name"], "here");
}

TEST(WatchChannelTest, SlowWatcherIsClosedInsteadOfBlockingWriters) {
  RealClock clock;
  fake::StoreOptions options;
  options.watch_queue_limit = 5;
  fake::ObjectStore store(options, clock);
  auto info = *store.find_resource("", "v1", "configmaps");
  auto started = store.watch(info, "default", {});
  ASSERT_TRUE(started);
  auto channel = started->channel;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store.create(info, "default", config_map("c" + std::to_string(i))))
        << "writers never block";
  }
  EXPECT_TRUE(channel->closed());
  EXPECT_TRUE(channel->overflowed());
  fake::WatchEvent event;
  EXPECT_EQ(channel->pop(event, std::chrono::steady_clock::now()), fake::WatchChannel::Pop::Closed);
}

TEST(WatchChannelTest, HoldsTwentyThousandObjectsAndPagesThem) {
  // Functional scale check only: speed is measured in bench/apiserver, not in a timed test.
  RealClock clock;
  fake::ObjectStore store({}, clock);
  auto info = *store.find_resource("", "v1", "configmaps");
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(store.create(info, "default", config_map("cm" + std::to_string(i))));
  }
  auto listed =
      store.list(info, "default",
                 {.label_selector = "", .field_selector = "", .limit = 500, .continue_token = ""});
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->items.size(), 500u);
  EXPECT_EQ(listed->remaining_item_count, 19500);
  EXPECT_TRUE(store.get(info, "default", "cm19999"));
}

}  // namespace
}  // namespace keyward::testing
