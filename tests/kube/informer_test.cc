// Store (copy-on-write snapshots, indexes, diffs on relist) and Informer sync waiting.
#include "common/kube/informer.h"

#include <gtest/gtest.h>

#include <atomic>

#include "tests/support/fake_clock.h"
#include "tests/support/list_watch_only_api.h"
#include "tests/support/wait_and_files.h"

namespace keyward::kube {
namespace {

using keyward::testing::eventually;
using keyward::testing::FakeClock;

Object obj(const std::string& ns, const std::string& name, const std::string& rv,
           const std::string& apikey = "") {
  Object o = {{"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", rv}}}};
  if (!apikey.empty()) o["metadata"]["labels"]["keyward.dev/apikey"] = apikey;
  return o;
}

std::vector<std::string> keys(const std::vector<ObjectPtr>& objects) {
  std::vector<std::string> out;
  out.reserve(objects.size());
  for (const auto& o : objects) out.push_back(object_key(*o));
  std::sort(out.begin(), out.end());
  return out;
}

// The keys of the cached objects carrying label keyward.dev/apikey=value (what the store holds,
// read back through list()).
std::vector<std::string> labelled(const Store& store, const std::string& value) {
  std::vector<std::string> out;
  for (const auto& o : store.list()) {
    const auto& meta = (*o)["metadata"];
    if (meta.contains("labels") && meta["labels"].value("keyward.dev/apikey", "") == value) {
      out.push_back(object_key(*o));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Store, ReplaceReportsAddsUpdatesAndDeletes) {
  Store store;
  std::vector<ObjectPtr> added, deleted;
  std::vector<std::pair<ObjectPtr, ObjectPtr>> updated;
  store.replace({obj("a", "x", "1", "k1"), obj("a", "y", "2", "k1"), obj("b", "z", "3")}, added,
                updated, deleted);
  EXPECT_EQ(keys(added), (std::vector<std::string>{"a/x", "a/y", "b/z"}));
  EXPECT_TRUE(updated.empty());
  EXPECT_TRUE(deleted.empty());
  EXPECT_EQ(labelled(store, "k1"), (std::vector<std::string>{"a/x", "a/y"}));
  EXPECT_EQ(keys(store.list_namespace("b")), (std::vector<std::string>{"b/z"}));

  const auto before = store.list();  // a reader's objects stay valid and unchanged
  added.clear();
  store.replace({obj("a", "x", "1", "k1"), obj("a", "y", "5", "k2"), obj("c", "w", "6")}, added,
                updated, deleted);
  EXPECT_EQ(keys(added), (std::vector<std::string>{"c/w"}));
  ASSERT_EQ(updated.size(), 1u);
  EXPECT_EQ(object_key(*updated[0].second), "a/y");
  EXPECT_EQ(resource_version_of(*updated[0].first), "2");
  EXPECT_EQ(keys(deleted), (std::vector<std::string>{"b/z"}));
  EXPECT_EQ(labelled(store, "k1"), (std::vector<std::string>{"a/x"}));
  EXPECT_EQ(labelled(store, "k2"), (std::vector<std::string>{"a/y"}));
  EXPECT_TRUE(store.list_namespace("b").empty());
  EXPECT_EQ(keys(before), (std::vector<std::string>{"a/x", "a/y", "b/z"}));
  EXPECT_EQ(resource_version_of(*before[1]), "2");  // the old a/y, as it was when listed
}

TEST(Store, ApplyAndRemoveKeepTheNewestObject) {
  Store store;
  auto [prev, now] = store.apply(obj("a", "x", "1", "k1"));
  EXPECT_EQ(prev, nullptr);
  auto [prev2, now2] = store.apply(obj("a", "x", "2", "k2"));
  ASSERT_NE(prev2, nullptr);
  EXPECT_EQ(resource_version_of(*prev2), "1");
  EXPECT_TRUE(labelled(store, "k1").empty());
  EXPECT_EQ(labelled(store, "k2").size(), 1u);
  auto removed = store.remove(obj("a", "x", "3", "k2"));
  EXPECT_EQ(resource_version_of(*removed), "3");
  EXPECT_EQ(store.size(), 0u);
  EXPECT_TRUE(labelled(store, "k2").empty());
  EXPECT_TRUE(store.list_namespace("a").empty());
  EXPECT_EQ(store.get("a/x"), nullptr);
}

// Every list fails: the informer never syncs and backs off on the clock.
class DownKubeApi final : public testing::ListWatchOnlyApi {
 public:
  std::atomic<int> lists{0};
  Result<ObjectList> list(const ResourceType&, const std::string&, const ListOptions&) override {
    ++lists;
    return fail("Unreachable", "cannot reach the test server");
  }
  Status watch(const ResourceType&, const std::string&, const ListOptions&,
               const std::function<bool(const WatchEvent&)>&, std::stop_token) override {
    return fail("Unreachable", "down");
  }
};

// An overloaded API server: 429 with Retry-After on every list.
class ThrottlingKubeApi final : public testing::ListWatchOnlyApi {
 public:
  std::atomic<int> lists{0};
  Result<ObjectList> list(const ResourceType&, const std::string&, const ListOptions&) override {
    ++lists;
    Error e{"TooManyRequests", "the server is overloaded", 429};
    e.retry_after = std::chrono::seconds(7);
    return fail(e);
  }
  Status watch(const ResourceType&, const std::string&, const ListOptions&,
               const std::function<bool(const WatchEvent&)>&, std::stop_token) override {
    return fail("Unreachable", "down");
  }
};

class HalfRandom final : public Random {
 public:
  double uniform01() override { return 0.5; }
};

TEST(Informer, ANeverAnsweringServerLeavesItUnsyncedRetryingWithBackoff) {
  FakeClock clock;
  HalfRandom random;
  DownKubeApi api;
  Informer informer(api, ResourceType::pods(), "", {}, clock, random, make_null_logger());
  informer.start();
  ASSERT_TRUE(eventually([&] { return api.lists == 1 && clock.sleepers() == 1; }));
  EXPECT_EQ(clock.next_deadline(), clock.now() + std::chrono::milliseconds(800));
  clock.advance(std::chrono::milliseconds(800));  // backoff over: a second list
  ASSERT_TRUE(eventually([&] { return api.lists == 2; }));
  EXPECT_FALSE(informer.has_synced());
  const auto before = std::chrono::steady_clock::now();
  informer.stop();  // ends the backoff sleep at once
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
}

TEST(Informer, AnOverloadedServersRetryAfterIsHonouredNotTheShorterBackoff) {
  FakeClock clock;
  HalfRandom random;
  ThrottlingKubeApi api;
  Informer informer(api, ResourceType::pods(), "", {}, clock, random, make_null_logger());
  informer.start();
  ASSERT_TRUE(eventually([&] { return api.lists == 1 && clock.sleepers() == 1; }));
  EXPECT_EQ(clock.next_deadline(), clock.now() + std::chrono::seconds(7))
      << "the 800 ms backoff was used instead of the server's Retry-After";
  clock.advance(std::chrono::seconds(6));
  EXPECT_EQ(api.lists, 1) << "listed again before Retry-After";
  clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(eventually([&] { return api.lists == 2; }));
  informer.stop();
}

}  // namespace
}  // namespace keyward::kube
