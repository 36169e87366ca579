#pragma once
// Helpers for the fake API server's own tests: JSON requests over httplib, and a watch reader
// that collects events on its own thread and lets the test wait for them with a deadline.
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "tests/fake_apiserver/fake_apiserver.h"

namespace keyward::testing {

struct JsonReply {
  int status = 0;
  nlohmann::json body;
  httplib::Headers headers;
};

inline JsonReply to_reply(const httplib::Result& r) {
  JsonReply reply;
  if (!r) return reply;
  reply.status = r->status;
  reply.headers = r->headers;
  reply.body = nlohmann::json::parse(r->body, nullptr, false);
  return reply;
}

class ApiClient {
 public:
  explicit ApiClient(const std::string& url, std::string token = "")
      : client_(url), token_(std::move(token)) {
    client_.set_connection_timeout(std::chrono::seconds(5));
    client_.set_read_timeout(std::chrono::seconds(10));
  }
  JsonReply get(const std::string& path, httplib::Headers extra = {}) {
    return to_reply(client_.Get(path, headers(std::move(extra))));
  }
  JsonReply post(const std::string& path, const nlohmann::json& body) {
    return to_reply(client_.Post(path, headers(), body.dump(), "application/json"));
  }
  JsonReply put(const std::string& path, const nlohmann::json& body) {
    return to_reply(client_.Put(path, headers(), body.dump(), "application/json"));
  }
  JsonReply patch(const std::string& path, const nlohmann::json& body,
                  const std::string& type = "application/merge-patch+json") {
    return to_reply(client_.Patch(path, headers(), body.dump(), type));
  }
  JsonReply del(const std::string& path, const nlohmann::json& body = nullptr) {
    if (body.is_null()) return to_reply(client_.Delete(path, headers()));
    return to_reply(client_.Delete(path, headers(), body.dump(), "application/json"));
  }
  httplib::Client& raw() { return client_; }

 private:
  httplib::Headers headers(httplib::Headers extra = {}) const {
    if (!token_.empty()) extra.emplace("Authorization", "Bearer " + token_);
    return extra;
  }
  httplib::Client client_;
  std::string token_;
};

// Reads a watch stream line by line on its own thread.
class WatchReader {
 public:
  WatchReader(const std::string& url, const std::string& path, httplib::Headers headers = {})
      : client_(url) {
    client_.set_read_timeout(std::chrono::seconds(30));
    thread_ = std::jthread([this, path, headers = std::move(headers)] {
      auto result = client_.Get(path, headers, [this](const char* data, std::size_t n) {
        std::lock_guard lock(mu_);
        buffer_.append(data, n);
        for (auto nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n')) {
          lines_.push_back(nlohmann::json::parse(buffer_.substr(0, nl), nullptr, false));
          buffer_.erase(0, nl + 1);
        }
        cv_.notify_all();
        return true;
      });
      std::lock_guard lock(mu_);
      status_ = result ? result->status : -1;
      done_ = true;
      cv_.notify_all();
    });
  }
  ~WatchReader() {
    // stop() only aborts a request that has a socket; repeat until the reader thread is done,
    // in case the request had not connected yet.
    std::unique_lock lock(mu_);
    while (!done_) {
      lock.unlock();
      client_.stop();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return done_; });
    }
    lock.unlock();
    thread_.join();
  }
  WatchReader(const WatchReader&) = delete;
  WatchReader& operator=(const WatchReader&) = delete;

  // The next event, or nullopt if none arrives within `timeout` (or the stream ended).
  std::optional<nlohmann::json> next(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !lines_.empty() || done_; });
    if (lines_.empty()) return std::nullopt;
    nlohmann::json event = std::move(lines_.front());
    lines_.pop_front();
    return event;
  }
  // Skips events until one of `type` arrives.
  std::optional<nlohmann::json> next_of(
      const std::string& type, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto event = next(left);
      if (!event) return std::nullopt;
      if ((*event)["type"] == type) return event;
    }
    return std::nullopt;
  }
  // True once the server has ended the stream (all events consumed or not).
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done_; });
  }
  int status() {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  httplib::Client client_;
  std::mutex mu_;  // guards buffer_, lines_, done_, status_
  std::condition_variable cv_;
  std::string buffer_;
  std::deque<nlohmann::json> lines_;
  bool done_ = false;
  int status_ = 0;
  std::jthread thread_;
};

inline std::string testdata(const std::string& name) {
  return std::string(KEYWARD_FAKE_APISERVER_TESTDATA) + "/" + name;
}

// crds/apikey.yaml when the repository has it, else the test copy.
inline std::string apikey_crd_path() {
  std::string real = std::string(KEYWARD_SOURCE_DIR) + "/crds/apikey.yaml";
  std::error_code ec;
  return std::filesystem::exists(real, ec) ? real : testdata("apikey-crd.yaml");
}

inline nlohmann::json api_key(const std::string& name, const std::string& ns = "default") {
  return {
      {"apiVersion", "keyward.dev/v1alpha1"},
      {"kind", "ApiKey"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"spec",
       {{"displayName", "Bot " + name},
        {"source", {{"generate", {{"prefix", "nt_"}, {"length", 40}, {"alphabet", "base62"}}}}}}}};
}

inline nlohmann::json config_map(const std::string& name, const std::string& ns = "default",
                                 nlohmann::json labels = nlohmann::json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"data", {{"k", "v"}}}};
}

inline const char* kApiKeys = "/apis/keyward.dev/v1alpha1/namespaces/default/apikeys";
inline const char* kConfigMaps = "/api/v1/namespaces/default/configmaps";

}  // namespace keyward::testing
