#pragma once
// Shared test fixture for the operator's scenario tests: the project's fake API server
// (in-process, port 0, crds/apikey.yaml registered, timestamps from the test's FakeClock) reached
// through the real KubeClient over HTTP, plus captured logs, a deterministic key generator and an
// idempotent fake key provider. Setup and inspection go straight to the server's store
// (put/find/all); the code under test only ever talks HTTP.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/io/filesystem.h"
#include "common/kube/kube_client.h"
#include "common/kube/object_meta.h"
#include "operator/apikey/key_generator.h"
#include "operator/apikey/key_secret.h"
#include "operator/apikey/names.h"
#include "operator/controller/apikey_reconciler.h"
#include "operator/controller/event_recorder.h"
#include "operator/controller/operator_metrics.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/fake_clock.h"
#include "tests/support/scripted_transport.h"

namespace keyward::testing {

using Json = nlohmann::json;

// Keys "nt_" + 37 letters + a 3-digit serial: distinct, recognisable, never random.
class CountingKeyGenerator final : public apikey::KeyGenerator {
 public:
  Result<std::string> generate(const apikey::GenerateSource& spec) override {
    std::lock_guard lock(mu_);
    ++count_;
    char serial[16];
    std::snprintf(serial, sizeof serial, "%03d", count_);
    std::string key = spec.prefix + std::string(37, static_cast<char>('a' + count_ % 26)) + serial;
    issued_.push_back(key);
    return key;
  }
  int count() const {
    std::lock_guard lock(mu_);
    return count_;
  }
  std::vector<std::string> issued() const {
    std::lock_guard lock(mu_);
    return issued_;
  }

 private:
  mutable std::mutex mu_;  // guards count_ and issued_
  int count_ = 0;
  std::vector<std::string> issued_;
};

// A provider's regenerate endpoint that honours Idempotency-Key: the same key is answered for a
// repeated Idempotency-Key; a new one invalidates the previous key (like a real provider).
class IdempotentProvider final : public HttpTransport {
 public:
  explicit IdempotentProvider(std::string seed_key) : valid_key_(std::move(seed_key)) {}

  Result<HttpResponse> send(const HttpRequest& request) override {
    std::lock_guard lock(mu_);
    ++calls_;
    const std::string nonce = request.headers.count("Idempotency-Key")
                                  ? request.headers.find("Idempotency-Key")->second
                                  : "";
    HttpResponse response;
    response.headers.emplace("Content-Type", "application/json");
    if (request.path == "/revoke") {
      // The revoke endpoint: the key to revoke authenticates the call.
      const auto auth = request.headers.find("Authorization");
      response.status = fail_revokes_ ? 503 : 204;
      if (!fail_revokes_ && auth != request.headers.end())
        revoked_.push_back(auth->second.substr(7));
      return response;
    }
    if (auto it = by_nonce_.find(nonce); it != by_nonce_.end()) {
      response.status = 200;
      response.body = answer(it->second).dump();
      return response;
    }
    const auto auth = request.headers.find("Authorization");
    if (auth == request.headers.end() || auth->second != "Bearer " + valid_key_) {
      response.status = 401;
      response.body = R"({"error":"invalid key"})";
      return response;
    }
    ++issued_;
    valid_key_ =
        "pk_live_" + std::string(30, static_cast<char>('A' + issued_)) + std::to_string(issued_);
    by_nonce_[nonce] = valid_key_;
    response.status = 200;
    response.body = answer(valid_key_).dump();
    return response;
  }
  // Answer every key with its secret under "data.secret" (a key pair), or no secret at all
  // (a provider that forgot it).
  void answer_secrets(bool on) {
    std::lock_guard lock(mu_);
    with_secret_ = on;
  }
  static std::string secret_of(const std::string& key) { return "ps_" + key; }
  void fail_revokes(bool on) {
    std::lock_guard lock(mu_);
    fail_revokes_ = on;
  }
  std::vector<std::string> revoked() const {
    std::lock_guard lock(mu_);
    return revoked_;
  }
  Result<HttpResponse> stream(const HttpRequest&, const std::function<bool(std::string_view)>&,
                              std::stop_token) override {
    return fail("Unsupported", "no streams");
  }
  int issued() const {
    std::lock_guard lock(mu_);
    return issued_;
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::string valid_key() const {
    std::lock_guard lock(mu_);
    return valid_key_;
  }

 private:
  Json answer(const std::string& key) const {
    Json body{{"apiKey", key}};
    if (with_secret_) body["data"] = {{"secret", secret_of(key)}};
    return body;
  }

  mutable std::mutex mu_;  // guards everything below
  bool with_secret_ = false;
  bool fail_revokes_ = false;
  std::vector<std::string> revoked_;  // keys revoked through /revoke
  std::string valid_key_;
  std::map<std::string, std::string> by_nonce_;
  int issued_ = 0;
  int calls_ = 0;
};

// An HttpTransport that forwards to a shared provider (the reconciler owns what the factory makes).
class ForwardingTransport final : public HttpTransport {
 public:
  explicit ForwardingTransport(HttpTransport& target) : target_(target) {}
  Result<HttpResponse> send(const HttpRequest& r) override { return target_.send(r); }
  Result<HttpResponse> stream(const HttpRequest& r, const std::function<bool(std::string_view)>& f,
                              std::stop_token s) override {
    return target_.stream(r, f, s);
  }

 private:
  HttpTransport& target_;
};

inline Json make_apikey(const std::string& name, const Json& spec_overrides = Json::object()) {
  Json spec = {{"displayName", "Alpha bot"},
               {"active", true},
               {"source", {{"generate", {{"prefix", "nt_"}, {"length", 40}}}}},
               {"consumers",
                {{"restartStrategy", "RolloutRestart"},
                 {"maxUnavailable", 1},
                 {"holdTimeoutSeconds", 1800}}},
               {"tokenExchange", {{"provider", "none"}}}};
  spec.merge_patch(spec_overrides);
  return Json{{"apiVersion", "keyward.dev/v1alpha1"},
              {"kind", "ApiKey"},
              {"metadata", {{"name", name}, {"namespace", "bots"}}},
              {"spec", spec}};
}

// The resource type for a plural the tests use.
inline kube::ResourceType resource_type(const std::string& plural) {
  static const std::map<std::string, kube::ResourceType> types = {
      {"apikeys", apikey::apikey_resource()},
      {"secrets", kube::ResourceType::secrets()},
      {"pods", kube::ResourceType::pods()},
      {"events", kube::ResourceType::events()},
      {"deployments", kube::ResourceType::deployments()},
      {"replicasets", kube::ResourceType::replicasets()},
      {"leases", kube::ResourceType::leases()},
      {"poddisruptionbudgets", kube::ResourceType::pdbs()}};
  auto it = types.find(plural);
  if (it == types.end()) throw std::logic_error("resource_type: add " + plural);
  return it->second;
}

class OperatorTest : public ::testing::Test {
 protected:
  // 2027-03-01T12:00:00Z
  static SystemTime t0() { return SystemTime(std::chrono::seconds(1803902400)); }

  OperatorTest()
      : clock(t0()),
        sink(std::make_shared<MemorySink>()),
        redactor(std::make_shared<Redactor>()),
        logger("test", sink, redactor, LogLevel::Debug, &clock),
        server(start_server(clock)),
        client(connect(*server, fs, clock, logger)),
        api(*client),
        events(api, clock, logger),
        metrics(registry) {
    for (const char* ns : {"bots", "keyward-system"}) {
      server->apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    }
  }

  static std::unique_ptr<FakeApiServer> start_server(const FakeClock& clock) {
    FakeApiServerOptions options;
    options.crd_files = {std::string(KEYWARD_SOURCE_DIR) + "/crds/apikey.yaml"};
    options.clock = &clock;
    options.random_seed = 42;
    options.worker_threads = 8;
    auto server = std::make_unique<FakeApiServer>(options);
    if (Status started = server->start(); !started) {
      throw std::runtime_error("fake API server: " + started.error().to_string());
    }
    return server;
  }
  static std::unique_ptr<kube::KubeClient> connect(const FakeApiServer& server,
                                                   const Filesystem& fs, const FakeClock& clock,
                                                   const Logger& logger) {
    kube::KubeConfig config;
    config.server = server.url();
    config.endpoint = *HttpEndpoint::parse(config.server);
    auto made = kube::make_kube_client(config, fs, clock, logger.child("kube"));
    if (!made) throw std::runtime_error("kube client: " + made.error().to_string());
    return std::move(*made);
  }

  std::unique_ptr<controller::ApiKeyReconciler> make_reconciler(controller::StepHook hook = {}) {
    controller::ReconcilerDeps deps{api, clock, logger, events, generator, {}, nullptr, {}};
    deps.metrics = &metrics;
    deps.step_hook = std::move(hook);
    deps.sealer = sealer;
    deps.secrets = secret_cache;
    deps.pods = pod_cache;
    if (provider) {
      deps.http_transports = [this](const std::string&,
                                    const std::string&) -> Result<std::unique_ptr<HttpTransport>> {
        return std::make_unique<ForwardingTransport>(*provider);
      };
    }
    return std::make_unique<controller::ApiKeyReconciler>(std::move(deps));
  }

  // --- the server's store, for setup and inspection (no HTTP, no request counted) ---
  // Creates or replaces (status included, resourceVersion ignored); returns the stored object.
  Json put(const Json& object) { return server->apply(object); }
  std::optional<Json> find(const std::string& plural, const std::string& ns,
                           const std::string& name) const {
    const auto type = resource_type(plural);
    return server->get(type.api_version(), type.kind, ns, name);
  }
  std::vector<Json> all(const std::string& plural, const std::string& ns = "bots") const {
    const auto type = resource_type(plural);
    return server->list(type.api_version(), type.kind, ns);
  }
  // Requests that reached the server (method "" = any; path without query string).
  std::uint64_t requests(const std::string& method, const std::string& path_substring = "") const {
    return server->request_count(method, path_substring);
  }
  // Every request that may have written something (all but GET).
  std::uint64_t writes() const { return requests("") - requests("GET"); }

  Json apikey(const std::string& name = "alpha") { return *find("apikeys", "bots", name); }

  Result<controller::Action> reconcile(controller::ApiKeyReconciler& r,
                                       const std::string& name = "alpha") {
    auto obj = find("apikeys", "bots", name);
    if (!obj) return fail("NotFound", "apikey gone");
    return r.reconcile(*obj);
  }

  // Runs passes until one sends no write to the API server; returns the last action.
  controller::Action settle(controller::ApiKeyReconciler& r, const std::string& name = "alpha") {
    controller::Action last;
    for (int i = 0; i < 20; ++i) {
      const auto before = writes();
      auto action = reconcile(r, name);
      EXPECT_TRUE(action.has_value()) << (action ? "" : action.error().to_string());
      if (!action) return {};
      last = *action;
      if (writes() == before) return last;
    }
    ADD_FAILURE() << "reconciler did not settle";
    return last;
  }

  std::optional<Json> secret(const std::string& name = "alpha") {
    return find("secrets", "bots", "keyward-" + name);
  }
  std::string secret_field(const std::string& field, const std::string& name = "alpha") {
    auto s = secret(name);
    if (!s || !(*s)["data"].contains(field)) return "";
    return *keyward::base64_decode((*s)["data"][field].get<std::string>());
  }
  std::int64_t key_version(const std::string& name = "alpha") {
    auto s = secret(name);
    if (!s) return 0;
    return std::stoll(kube::annotation(*s, apikey::annotation::kKeyVersion));
  }
  Json condition(const std::string& type, const std::string& name = "alpha") {
    for (const auto& c : apikey(name)["status"].value("conditions", Json::array())) {
      if (c["type"] == type) return c;
    }
    return Json{};
  }
  std::vector<Json> events_with(const std::string& reason) {
    std::vector<Json> out;
    for (const auto& e : all("events")) {
      if (e["reason"] == reason) out.push_back(e);
    }
    return out;
  }

  // Everything a secret must never appear in: logs (the kube client's included), events,
  // ApiKey status, metrics.
  std::string observable_text() {
    std::string text = sink->joined() + registry.render();
    for (const auto& e : all("events", "")) text += e.dump();
    for (const auto& a : all("apikeys", "")) text += a.value("status", Json::object()).dump();
    return text;
  }

  FakeClock clock;
  std::shared_ptr<MemorySink> sink;
  std::shared_ptr<Redactor> redactor;
  Logger logger;
  PosixFilesystem fs;
  std::unique_ptr<FakeApiServer> server;
  std::unique_ptr<kube::KubeClient> client;
  kube::KubeApi& api;  // *client: what the code under test is given
  controller::EventRecorder events;
  CountingKeyGenerator generator;
  MetricsRegistry registry;
  controller::OperatorMetrics metrics;
  std::unique_ptr<IdempotentProvider> provider;
  const apikey::KeySealer* sealer = nullptr;  // set before make_reconciler() to seal
  // Set before make_reconciler(): the Secret informer's cache the reconciler reads from.
  const kube::Store* secret_cache = nullptr;
  const kube::Store* pod_cache = nullptr;  // likewise, the pod informer's
};

}  // namespace keyward::testing
