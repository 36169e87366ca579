// Measures the fake API server at cluster scale through the real KubeClient:
// create N pods (sequential requests), list all, list by label selector, get by name, and the
// time for one update to reach W concurrent watchers. Prints one JSON object; run.sh turns it
// into the table in docs/benchmarks.md.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/core/http_transport_httplib.h"
#include "common/core/log.h"
#include "common/kube/kube_client.h"
#include "tests/fake_apiserver/fake_apiserver.h"

namespace {

using Clock = std::chrono::steady_clock;
using keyward::kube::ResourceType;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

nlohmann::json make_pod(int i) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", "bot-" + std::to_string(i)},
            {"namespace", "bots"},
            {"labels", {{"app", "bot"}, {"shard", std::to_string(i % 100)}}},
            {"annotations", {{"keyward.dev/inject", "alpha"}, {"keyward.dev/key-version", "1"}}}}},
          {"spec", {{"containers", {{{"name", "bot"}, {"image", "registry.example/bot:1"}}}}}}};
}

}  // namespace

int main(int argc, char** argv) {
  int objects = 20000;
  int watchers = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--objects")
      objects = std::stoi(argv[i + 1]);
    else if (std::string(argv[i]) == "--watchers")
      watchers = std::stoi(argv[i + 1]);
    else {
      std::cerr << "usage: keyward-bench-apiserver [--objects N] [--watchers W]\n";
      return 2;
    }
  }
  keyward::testing::FakeApiServerOptions options;
  options.history_limit = static_cast<std::size_t>(objects) + 1000;
  keyward::testing::FakeApiServer server(options);
  if (auto s = server.start(); !s) {
    std::cerr << "bench: cannot start the fake API server: " << s.error().message << "\n";
    return 1;
  }
  auto endpoint = keyward::HttpEndpoint::parse(server.url());
  auto transport = keyward::HttplibTransport::create(*endpoint, {});
  if (!transport) {
    std::cerr << "bench: " << transport.error().message << "\n";
    return 1;
  }
  keyward::kube::KubeClient client(std::move(*transport), nullptr, keyward::make_null_logger());
  const auto pods = ResourceType::pods();
  if (auto ns = client.create(
          ResourceType::namespaces(), "",
          {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bots"}}}});
      !ns) {
    std::cerr << "bench: " << ns.error().message << "\n";
    return 1;
  }

  nlohmann::ordered_json result;
  result["objects"] = objects;
  result["watchers"] = watchers;

  auto start = Clock::now();
  for (int i = 0; i < objects; ++i) {
    if (auto r = client.create(pods, "bots", make_pod(i)); !r) {
      std::cerr << "bench: create failed at " << i << ": " << r.error().message << "\n";
      return 1;
    }
    if (objects >= 10 && i % (objects / 10) == 0 && i > 0) {
      std::cerr << "bench: created " << i << " of " << objects << " pods\n";
    }
  }
  const double create_ms = ms_since(start);
  result["create_per_second"] = objects / (create_ms / 1000.0);

  start = Clock::now();
  auto all = client.list(pods, "bots", {});
  result["list_all_ms"] = ms_since(start);
  if (!all || static_cast<int>(all->items.size()) != objects) {
    std::cerr << "bench: list returned the wrong number of pods\n";
    return 1;
  }

  start = Clock::now();
  keyward::kube::ListOptions sel;
  sel.label_selector = "app=bot,shard=7";
  auto some = client.list(pods, "bots", sel);
  result["list_selector_ms"] = ms_since(start);
  if (!some || static_cast<int>(some->items.size()) != (objects + 99 - 7) / 100) {
    std::cerr << "bench: selector list returned " << (some ? some->items.size() : 0) << " pods\n";
    return 1;
  }

  start = Clock::now();
  const int gets = std::min(objects, 1000);
  for (int i = 0; i < gets; ++i) {
    if (!client.get(pods, "bots", "bot-" + std::to_string(i * (objects / gets)))) return 1;
  }
  result["get_mean_ms"] = ms_since(start) / gets;

  // W watchers from the current resourceVersion; one update; time until all have seen it.
  std::mutex mu;  // guards seen
  std::condition_variable cv;
  int seen = 0;
  std::vector<std::jthread> threads;
  const std::string rv = all->resource_version;
  // request_count matches the path only (not the query): count GETs on the collection from here.
  const std::uint64_t gets_before = server.request_count("GET", "/namespaces/bots/pods");
  threads.reserve(static_cast<std::size_t>(watchers));
  for (int w = 0; w < watchers; ++w) {
    threads.emplace_back([&](std::stop_token st) {
      auto ep = keyward::HttpEndpoint::parse(server.url());
      auto t = keyward::HttplibTransport::create(*ep, {});
      keyward::kube::KubeClient c(std::move(*t), nullptr, keyward::make_null_logger());
      keyward::kube::ListOptions opts;
      opts.resource_version = rv;
      opts.label_selector = "shard=3";
      (void)c.watch(
          pods, "bots", opts,
          [&](const keyward::kube::WatchEvent& e) {
            if (e.type == keyward::kube::WatchEventType::Modified) {
              std::lock_guard lock(mu);
              ++seen;
              cv.notify_all();
              return false;
            }
            return true;
          },
          st);
    });
  }
  // Give every watcher its connection: wait until the server counts W watch requests.
  const auto connect_deadline = Clock::now() + std::chrono::seconds(30);
  while (server.request_count("GET", "/namespaces/bots/pods") <
             gets_before + static_cast<std::uint64_t>(watchers) &&
         Clock::now() < connect_deadline) {
    std::this_thread::yield();
  }
  std::cerr << "bench: watchers connected\n";
  start = Clock::now();
  if (!client.patch(pods, "bots", "bot-3", keyward::kube::PatchType::Merge,
                    {{"metadata", {{"annotations", {{"keyward.dev/key-version", "2"}}}}}})) {
    return 1;
  }
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return seen == watchers; })) {
      std::cerr << "bench: only " << seen << " of " << watchers << " watchers saw the update\n";
      return 1;
    }
  }
  result["watch_fanout_ms"] = ms_since(start);
  std::cerr << "bench: stopping watchers\n";
  for (auto& t : threads) t.request_stop();
  threads.clear();
  server.cut_watches();  // the server notices a closed plain-HTTP watch only at its next event
  std::cerr << "bench: watchers stopped\n";
  result["server_rss_mib"] = static_cast<double>(rss_kib()) / 1024.0;
  std::cout << result.dump() << "\n";
  return 0;
}
