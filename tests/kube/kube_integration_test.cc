// KubeClient, Watcher and Informer against the in-process fake API server over real HTTP(S).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <map>

#include "common/core/http_transport_httplib.h"
#include "common/kube/informer.h"
#include "common/kube/kube_client.h"
#include "common/kube/kube_config.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/fake_clock.h"
#include "tests/support/memory_filesystem.h"
#include "tests/support/test_pki.h"
#include "tests/support/wait_and_files.h"
#include "tests/transport/test_http_server.h"

namespace keyward::kube {
namespace {

// A namespaced custom resource (the shape of Keyward's ApiKey; the client serves any).
ResourceType apikeys_crd() { return {"keyward.dev", "v1alpha1", "apikeys", "ApiKey", true}; }

using keyward::testing::eventually;
using keyward::testing::FakeApiServer;
using keyward::testing::FakeApiServerOptions;
using keyward::testing::FakeClock;
using keyward::testing::MemoryFilesystem;

// Cached objects labelled keyward.dev/apikey=value.
std::size_t count_labelled(const Store& store, const std::string& value) {
  std::size_t n = 0;
  for (const auto& o : store.list()) {
    const auto& meta = (*o)["metadata"];
    if (meta.contains("labels") && meta["labels"].value("keyward.dev/apikey", "") == value) ++n;
  }
  return n;
}

class FixedRandom final : public Random {
 public:
  double uniform01() override { return 0.5; }
};

Object secret(const std::string& name, const std::string& apikey = "",
              const std::string& ns = "bots") {
  Object s = {{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"type", "Opaque"},
              {"data", {{"k", "dmFsdWU="}}}};
  if (!apikey.empty()) s["metadata"]["labels"]["keyward.dev/apikey"] = apikey;
  return s;
}

struct Harness {
  explicit Harness(FakeApiServerOptions options = {}) : server(std::move(options)) {
    auto started = server.start();
    server.apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bots"}}}});
    EXPECT_TRUE(started.has_value()) << (started ? "" : started.error().to_string());
    auto endpoint = HttpEndpoint::parse(server.url());
    auto t = HttplibTransport::create(*endpoint, {});
    transport = std::move(*t);
    KubeClientOptions o;
    o.server_url = server.url();
    client = std::make_unique<KubeClient>(*transport, tokens, logger, o);
  }
  std::shared_ptr<MemorySink> sink = std::make_shared<MemorySink>();
  Logger logger{"kube", sink, std::make_shared<Redactor>(), LogLevel::Debug};
  FakeApiServer server;
  std::unique_ptr<HttplibTransport> transport;
  std::shared_ptr<BearerTokenSource> tokens;
  std::unique_ptr<KubeClient> client;
};

TEST(KubeIntegration, CrudAndConflictRetry) {
  Harness h;
  auto created = h.client->create(ResourceType::secrets(), "bots", secret("s1"));
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  auto dup = h.client->create(ResourceType::secrets(), "bots", secret("s1"));
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().reason, "AlreadyExists");
  EXPECT_EQ(dup.error().http_status, 409);

  // Someone else writes between our read and our update: 409, then a re-get succeeds.
  int attempts = 0;
  auto updated = retry_on_conflict([&]() -> Result<Object> {
    auto current = h.client->get(ResourceType::secrets(), "bots", "s1");
    if (!current) return fail(current.error());
    if (++attempts == 1) {
      auto other = *current;
      other["metadata"]["annotations"]["other"] = "writer";
      EXPECT_TRUE(h.client->update(ResourceType::secrets(), other).has_value());
    }
    (*current)["metadata"]["annotations"]["mine"] = "yes";
    return h.client->update(ResourceType::secrets(), *current);
  });
  ASSERT_TRUE(updated.has_value()) << updated.error().to_string();
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ((*updated)["metadata"]["annotations"]["mine"], "yes");
  EXPECT_EQ((*updated)["metadata"]["annotations"]["other"], "writer");

  auto missing = h.client->get(ResourceType::secrets(), "bots", "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().reason, "NotFound");
  ASSERT_TRUE(h.client->remove(ResourceType::secrets(), "bots", "s1"));
  EXPECT_FALSE(h.server.get("v1", "Secret", "bots", "s1").has_value());
}

TEST(KubeIntegration, WatchResumesFromAResourceVersion) {
  Harness h;
  auto a = h.client->create(ResourceType::secrets(), "bots", secret("a"));
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(h.client->create(ResourceType::secrets(), "bots", secret("b")).has_value());
  ListOptions o;
  o.resource_version = resource_version_of(*a);
  o.timeout_seconds = 5;
  std::vector<std::string> seen;
  auto s = h.client->watch(ResourceType::secrets(), "bots", o,
                           [&](const WatchEvent& e) {
                             if (e.type == WatchEventType::Bookmark) return true;
                             seen.push_back(metadata_string(e.object, "name"));
                             return false;  // one event is enough
                           },
                           {});
  ASSERT_TRUE(s.has_value()) << s.error().to_string();
  EXPECT_EQ(seen, std::vector<std::string>{"b"});  // only what happened after a
}

TEST(KubeIntegration, InformerRelistsAfterGoneAndReportsDeletesFromTheGap) {
  Harness h;
  FakeClock clock;
  FixedRandom random;
  h.server.apply(secret("a", "key-1"));
  h.server.apply(secret("b", "key-1"));
  h.server.apply(secret("other", "", "elsewhere"));
  std::mutex mu;  // guards log (declared before the informer, whose thread writes it)
  std::vector<std::string> log;
  InformerOptions options;
  Informer informer(*h.client, ResourceType::secrets(), "", options, clock, random, h.logger);
  informer.add_handlers(InformerHandlers{[&](const Object& o) {
                                           std::lock_guard l(mu);
                                           log.push_back("add " + object_key(o));
                                         },
                                         [&](const Object&, const Object& n) {
                                           std::lock_guard l(mu);
                                           log.push_back("update " + object_key(n));
                                         },
                                         [&](const Object& o) {
                                           std::lock_guard l(mu);
                                           log.push_back("delete " + object_key(o));
                                         },
                                         [&] {
                                           std::lock_guard l(mu);
                                           log.push_back("synced");
                                         }});
  informer.start();
  ASSERT_TRUE(eventually([&] { return informer.has_synced(); }));
  EXPECT_EQ(informer.store().size(), 3u);
  // on_synced runs once, after the first list's objects were added.
  ASSERT_TRUE(eventually([&] {
    std::lock_guard l(mu);
    return !log.empty() && log.back() == "synced";
  }));
  {
    std::lock_guard l(mu);
    EXPECT_EQ(log.size(), 4u);
  }
  EXPECT_EQ(count_labelled(informer.store(), "key-1"), 2u);
  EXPECT_EQ(informer.store().list_namespace("elsewhere").size(), 1u);
  {
    std::lock_guard l(mu);
    log.clear();
  }
  // A live change arrives through the watch.
  h.server.apply(secret("c", "key-2"));
  ASSERT_TRUE(eventually([&] { return informer.store().get("bots/c") != nullptr; }));
  EXPECT_EQ(count_labelled(informer.store(), "key-2"), 1u);

  // Cut the watch and make the reconnect fail: the informer backs off (on the fake clock).
  const auto lists_before = h.server.request_count("GET", "/secrets");
  h.server.fail_next(1, 503, "GET", "/secrets");
  h.server.cut_watches();
  ASSERT_TRUE(eventually([&] { return clock.sleepers() == 1; }));
  // During the gap: a deleted, b changed, d created, and the history compacted away.
  auto b = h.server.get("v1", "Secret", "bots", "b");
  (*b)["metadata"]["labels"]["keyward.dev/apikey"] = "key-3";
  h.server.apply(*b);
  h.server.apply(secret("d", "key-1"));
  ASSERT_TRUE(h.client->remove(ResourceType::secrets(), "bots", "a"));
  h.server.compact();
  {
    std::lock_guard l(mu);
    log.clear();
  }
  clock.advance(std::chrono::minutes(1));  // the backoff ends; the watch gets 410; relist
  // Handlers run after the store is swapped: wait for both, not just the store.
  ASSERT_TRUE(eventually([&] {
    std::lock_guard l(mu);
    return informer.store().get("bots/a") == nullptr && informer.store().get("bots/d") != nullptr &&
           log.size() >= 3;
  })) << h.sink->joined();
  {
    std::lock_guard l(mu);
    std::sort(log.begin(), log.end());
    EXPECT_EQ(log, (std::vector<std::string>{"add bots/d", "delete bots/a", "update bots/b"}));
  }
  EXPECT_EQ(count_labelled(informer.store(), "key-1"), 1u);  // only d now
  EXPECT_EQ(count_labelled(informer.store(), "key-3"), 1u);
  EXPECT_GE(h.server.request_count("GET", "/secrets"), lists_before + 3);  // 503, 410, relist
  informer.stop();
}

TEST(KubeIntegration, InformerStopsWithinASecondWhileWatching) {
  Harness h;
  RealClock clock;
  SystemRandom random;
  Informer informer(*h.client, ResourceType::secrets(), "bots", {}, clock, random, h.logger);
  informer.start();
  ASSERT_TRUE(eventually([&] { return informer.has_synced(); }));
  const auto before = std::chrono::steady_clock::now();
  informer.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
}

TEST(KubeIntegration, TokenFileIsReReadAfterRotation) {
  FakeApiServerOptions options;
  options.required_bearer_token = "token-one-1111";
  Harness h(options);
  MemoryFilesystem fs;
  FakeClock clock;
  fs.set("/sa/token", "token-one-1111\n");
  auto tokens = BearerTokenSource::from_file("/sa/token", fs, clock, h.logger);
  ASSERT_TRUE(tokens.has_value());
  KubeClientOptions o;
  o.server_url = h.server.url();
  KubeClient client(*h.transport, std::move(*tokens), h.logger, o);
  ASSERT_TRUE(client.get_path("/version").has_value());

  // The kubelet rotates the token: the server wants the new one at once; our 401 re-reads.
  h.server.set_bearer_token("token-two-2222");
  fs.set("/sa/token", "token-two-2222\n");
  const auto before = h.server.request_count("GET", "/version");
  auto v = client.get_path("/version");
  ASSERT_TRUE(v.has_value()) << v.error().to_string();
  EXPECT_EQ(h.server.request_count("GET", "/version"), before + 2);  // 401, then the retry

  // Rotated again, noticed by the periodic re-read (no 401 this time).
  fs.set("/sa/token", "token-three-3333\n");
  h.server.set_bearer_token("token-three-3333");
  clock.advance(std::chrono::seconds(61));
  const auto before3 = h.server.request_count("GET", "/version");
  ASSERT_TRUE(client.get_path("/version").has_value());
  EXPECT_EQ(h.server.request_count("GET", "/version"), before3 + 1);

  // A wrong token and no new file: one clear Unauthorized error, no retry loop.
  h.server.set_bearer_token("token-four-4444");
  auto denied = client.get_path("/version");
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().reason, "Unauthorized");
  for (const char* t : {"token-one-1111", "token-two-2222", "token-three-3333"}) {
    EXPECT_EQ(h.sink->joined().find(t), std::string::npos) << t;
    EXPECT_EQ(denied.error().message.find(t), std::string::npos) << t;
  }
}

TEST(KubeIntegration, KubeconfigWithEmbeddedClientCertificateOverTls) {
  keyward::testing::TestPki ca = keyward::testing::TestPki::create();
  auto server_cert = ca.issue("fake-apiserver", {"IP:127.0.0.1"}, false);
  auto client_cert = ca.issue("keyward-operator", {}, true);
  FakeApiServerOptions options;
  options.tls = true;
  options.cert_pem = server_cert.cert_pem;
  options.key_pem = server_cert.key_pem;
  options.client_ca_pem = ca.ca_cert_pem;
  options.required_bearer_token = "not-sent-by-this-client";
  options.git_version = "v1.31.2";
  FakeApiServer server(options);
  ASSERT_TRUE(server.start().has_value());
  server.apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bots"}}}});

  MemoryFilesystem fs;
  fs.set("/home/u/.kube/config",
         keyward::testing::render_kubeconfig(server.url(), ca.ca_cert_pem, "", client_cert.cert_pem,
                                             client_cert.key_pem));
  auto config = load_kube_config({{"HOME", "/home/u"}}, fs);
  ASSERT_TRUE(config.has_value()) << config.error().to_string();
  FakeClock clock;
  auto client = make_kube_client(*config, fs, clock, make_null_logger());
  ASSERT_TRUE(client.has_value()) << client.error().to_string();
  auto version = (*client)->get_path("/version");
  ASSERT_TRUE(version.has_value()) << version.error().to_string();
  EXPECT_EQ((*version)["gitVersion"], "v1.31.2");
  auto created = (*client)->create(ResourceType::secrets(), "bots", secret("tls-made"));
  ASSERT_TRUE(created.has_value()) << created.error().to_string();

  // The same kubeconfig without the client certificate is refused by the server.
  fs.set("/home/u/.kube/config",
         keyward::testing::render_kubeconfig(server.url(), ca.ca_cert_pem, ""));
  auto anonymous =
      make_kube_client(*load_kube_config({{"HOME", "/home/u"}}, fs), fs, clock, make_null_logger());
  ASSERT_TRUE(anonymous.has_value());
  auto refused = (*anonymous)->get_path("/version");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().reason, "Unauthorized");
}

TEST(KubeIntegration, UnreachableServerGivesTheDocumentedError) {
  const int port = keyward::testing::closed_port();
  MemoryFilesystem fs;
  fs.set("/k",
         keyward::testing::render_kubeconfig("http://127.0.0.1:" + std::to_string(port), "", ""));
  KubeConfigOptions o;
  o.kubeconfig_path = "/k";
  auto config = load_kube_config({}, fs, o);
  ASSERT_TRUE(config.has_value()) << config.error().to_string();
  FakeClock clock;
  auto client = make_kube_client(*config, fs, clock, make_null_logger());
  ASSERT_TRUE(client.has_value());
  auto r = (*client)->list(apikeys_crd(), "bots", {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, "Unreachable");
  EXPECT_EQ(r.error().message,
            "cannot reach http://127.0.0.1:" + std::to_string(port) +
                ": Connection; check the address and that the server is running");
}

TEST(KubeIntegration, HtmlErrorPageGivesTheDocumentedError) {
  keyward::testing::TestHttpServer proxy;
  proxy.server().Get(R"(/.*)", [](const httplib::Request&, httplib::Response& res) {
    res.status = 502;
    res.set_content("<html><body><h1>502 Bad Gateway</h1>\n</body></html>", "text/html");
  });
  const int port = proxy.start();
  auto transport = HttplibTransport::create(HttpEndpoint{"http", "127.0.0.1", port}, {});
  ASSERT_TRUE(transport.has_value());
  KubeClientOptions o;
  o.server_url = "http://127.0.0.1:" + std::to_string(port);
  KubeClient client(std::move(*transport), nullptr, make_null_logger(), o);
  auto r = client.get(apikeys_crd(), "bots", "alpha-bot");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, "InvalidResponse");
  EXPECT_EQ(r.error().http_status, 502);
  EXPECT_EQ(r.error().message,
            "GET " + o.server_url +
                "/apis/keyward.dev/v1alpha1/namespaces/bots/apikeys/alpha-bot: expected JSON from "
                "the API server, got text/html (HTTP 502): <html><body><h1>502 Bad "
                "Gateway</h1> </body></html>; check the server address points at a Kubernetes API "
                "server");
}

}  // namespace
}  // namespace keyward::kube
