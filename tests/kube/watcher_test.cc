// Watcher and Backoff against a hand-written scripted KubeApi: the state machine step by step.
#include "common/kube/watcher.h"

#include <gtest/gtest.h>

#include <deque>

#include "common/kube/backoff.h"
#include "tests/support/fake_clock.h"
#include "tests/support/list_watch_only_api.h"

namespace keyward::kube {
namespace {

using keyward::testing::FakeClock;

Object obj(const std::string& name, const std::string& rv) {
  return {{"metadata", {{"name", name}, {"namespace", "n"}, {"resourceVersion", rv}}}};
}

// Answers list() and watch() from queues and records the options it was called with.
class ScriptedKubeApi final : public testing::ListWatchOnlyApi {
 public:
  std::deque<Result<ObjectList>> lists;
  struct WatchScript {
    std::vector<WatchEvent> events;
    Status end;
  };
  std::deque<WatchScript> watches;
  std::vector<ListOptions> list_calls, watch_calls;

  Result<ObjectList> list(const ResourceType&, const std::string&, const ListOptions& o) override {
    list_calls.push_back(o);
    auto r = std::move(lists.front());
    lists.pop_front();
    return r;
  }
  Status watch(const ResourceType&, const std::string&, const ListOptions& o,
               const std::function<bool(const WatchEvent&)>& on_event, std::stop_token) override {
    watch_calls.push_back(o);
    auto w = std::move(watches.front());
    watches.pop_front();
    for (const auto& e : w.events) {
      if (!on_event(e)) break;
    }
    return w.end;
  }
};

ObjectList page(std::vector<Object> items, std::string rv, std::string cont = "") {
  ObjectList l;
  l.items = std::move(items);
  l.resource_version = std::move(rv);
  l.continue_token = std::move(cont);
  return l;
}

struct Recorder {
  std::vector<WatcherEvent> events;
  std::function<void(const WatcherEvent&)> fn() {
    return [this](const WatcherEvent& e) { events.push_back(e); };
  }
};

TEST(Watcher, PagesThroughTheListThenWatchesFromItsResourceVersion) {
  ScriptedKubeApi api;
  api.lists.push_back(page({obj("a", "1")}, "", "tok"));
  api.lists.push_back(page({obj("b", "2")}, "10"));
  api.watches.push_back(
      {{WatchEvent{WatchEventType::Added, obj("c", "11")},
        WatchEvent{WatchEventType::Bookmark, {{"metadata", {{"resourceVersion", "15"}}}}}},
       ok()});
  api.watches.push_back({{WatchEvent{WatchEventType::Deleted, obj("a", "16")}}, ok()});
  WatcherOptions options;
  options.page_size = 1;
  options.label_selector = "app=x";
  Watcher w(api, ResourceType::pods(), "n", options, make_null_logger());
  Recorder r;

  ASSERT_TRUE(w.step(r.fn(), {}));
  EXPECT_EQ(w.state(), Watcher::State::InitListing);
  EXPECT_TRUE(r.events.empty());  // nothing until the list is complete
  ASSERT_TRUE(w.step(r.fn(), {}));
  EXPECT_EQ(w.state(), Watcher::State::InitialWatch);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].type, WatcherEvent::Type::Restarted);
  EXPECT_EQ(r.events[0].objects.size(), 2u);
  EXPECT_EQ(api.list_calls[1].continue_token, "tok");
  EXPECT_EQ(api.list_calls[1].label_selector, "app=x");

  ASSERT_TRUE(w.step(r.fn(), {}));
  EXPECT_EQ(w.state(), Watcher::State::Watching);
  EXPECT_EQ(api.watch_calls[0].resource_version, "10");
  EXPECT_EQ(w.resource_version(), "15");  // the bookmark moved the resume point
  ASSERT_TRUE(w.step(r.fn(), {}));
  EXPECT_EQ(api.watch_calls[1].resource_version, "15");
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[1].type, WatcherEvent::Type::Applied);
  EXPECT_EQ(r.events[2].type, WatcherEvent::Type::Deleted);
  EXPECT_EQ(w.resource_version(), "16");
}

TEST(Watcher, GoneInEitherFormRelists) {
  ScriptedKubeApi api;
  api.lists.push_back(page({obj("a", "1")}, "5"));
  // 410 as an ERROR event inside the stream
  api.watches.push_back(
      {{WatchEvent{
           WatchEventType::Error,
           {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}, {"message", "too old"}}}},
       ok()});
  api.lists.push_back(page({obj("b", "7")}, "8"));
  // 410 as the response status
  api.watches.push_back({{}, fail("Expired", "gone", 410)});
  api.lists.push_back(page({}, "9"));
  Watcher w(api, ResourceType::pods(), "n", {}, make_null_logger());
  Recorder r;
  ASSERT_TRUE(w.step(r.fn(), {}));
  auto s = w.step(r.fn(), {});
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().http_status, 410);
  EXPECT_EQ(w.state(), Watcher::State::Empty);
  ASSERT_TRUE(w.step(r.fn(), {}));  // relist
  EXPECT_EQ(r.events.back().type, WatcherEvent::Type::Restarted);
  EXPECT_EQ(r.events.back().objects.at(0)["metadata"]["name"], "b");
  EXPECT_FALSE(w.step(r.fn(), {}).has_value());
  EXPECT_EQ(w.state(), Watcher::State::Empty);
  ASSERT_TRUE(w.step(r.fn(), {}));
  EXPECT_EQ(w.resource_version(), "9");
  EXPECT_EQ(api.list_calls.size(), 3u);
}

TEST(Watcher, OtherErrorsKeepTheResumePoint) {
  ScriptedKubeApi api;
  api.lists.push_back(page({}, "5"));
  api.watches.push_back({{WatchEvent{WatchEventType::Modified, obj("a", "6")}},
                         fail("Unreachable", "connection reset")});
  api.watches.push_back({{}, ok()});
  Watcher w(api, ResourceType::pods(), "n", {}, make_null_logger());
  Recorder r;
  ASSERT_TRUE(w.step(r.fn(), {}));
  auto s = w.step(r.fn(), {});
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().reason, "Unreachable");
  EXPECT_EQ(w.state(), Watcher::State::InitialWatch);
  ASSERT_TRUE(w.step(r.fn(), {}));
  EXPECT_EQ(api.watch_calls[1].resource_version, "6");
  EXPECT_EQ(api.list_calls.size(), 1u);  // no relist
}

TEST(Watcher, ExpiredContinueTokenRestartsTheList) {
  ScriptedKubeApi api;
  api.lists.push_back(page({obj("a", "1")}, "", "tok"));
  api.lists.push_back(fail("Expired", "continue token expired", 410));
  api.lists.push_back(page({obj("a", "1"), obj("b", "2")}, "3"));
  WatcherOptions options;
  options.page_size = 1;
  Watcher w(api, ResourceType::pods(), "n", options, make_null_logger());
  Recorder r;
  ASSERT_TRUE(w.step(r.fn(), {}));
  EXPECT_FALSE(w.step(r.fn(), {}).has_value());
  EXPECT_EQ(w.state(), Watcher::State::Empty);
  ASSERT_TRUE(w.step(r.fn(), {}));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].objects.size(), 2u);  // no duplicate "a" from the abandoned page
  EXPECT_EQ(api.list_calls[2].continue_token, "");
}

class FixedRandom final : public Random {
 public:
  explicit FixedRandom(double v) : v_(v) {}
  double uniform01() override { return v_; }

 private:
  double v_;
};

TEST(Backoff, GrowsWithJitterCapsAndResetsAfterAHealthyPeriod) {
  FakeClock clock;
  FixedRandom mid(0.5);  // jitter factor exactly 1
  Backoff b(clock, mid);
  constexpr int kDelays = 8;
  std::vector<long> delays;
  delays.reserve(kDelays);
  for (int i = 0; i < kDelays; ++i) delays.push_back(static_cast<long>(b.next().count()));
  EXPECT_EQ(delays, (std::vector<long>{800, 1600, 3200, 6400, 12800, 25600, 30000, 30000}));
  clock.advance(std::chrono::seconds(119));
  EXPECT_EQ(b.next().count(), 30000);
  clock.advance(std::chrono::seconds(120));
  EXPECT_EQ(b.next().count(), 800);  // a quiet period reset it

  FixedRandom low(0.0), high(0.999999);
  Backoff lo(clock, low), hi(clock, high);
  EXPECT_EQ(lo.next().count(), 400);
  EXPECT_EQ(hi.next().count(), 1199);
}

}  // namespace
}  // namespace keyward::kube
