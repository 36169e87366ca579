// The admission webhook as keyward-operator runs it (webhook::Webhook over a KubeClient), against
// the fake API server over TLS, for bench/webhook/run.sh:
//
//   keyward-bench-webhook --dir DIR [--connection-per-request] serve
//       writes DIR/review.json (a typical pod's AdmissionReview), DIR/answer.json (the webhook's
//       answer to it), DIR/tls.crt, DIR/tls.key and DIR/ca.crt, prints {"port":N} and serves
//       until stdin closes (wrk and nginx take it from there).
//   keyward-bench-webhook --dir DIR [--connection-per-request] paced RATE SECONDS
//       sends the review at RATE requests per second for SECONDS over one kept-alive connection
//       and prints {"sent","patched","p50_ms","p99_ms","max_ms"} (latency from the scheduled send
//       time, so a slow answer delays the next and is counted).
//
// By default the webhook reads ApiKeys and Namespaces from informer caches, as keyward-operator
// runs it. --no-caches makes it read both from the API server on every admission (two GETs);
// --connection-per-request (with --no-caches) also gives its Kubernetes client no idle
// connections: the webhook as it was before this work (the baseline rows of the table).

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/tls_fake_apiserver.h"
#include "common/core/clock.h"
#include "common/core/http_transport_httplib.h"
#include "common/core/log.h"
#include "common/io/random.h"
#include "common/kube/informer.h"
#include "common/kube/kube_client.h"
#include "operator/apikey/names.h"
#include "operator/webhook/webhook.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/test_pki.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

json typical_pod() {
  json bot = {
      {"name", "bot"},
      {"image", "registry.example/desk/bot:2.4.1"},
      {"args", {"--venue", "cme", "--strategy", "mean-revert"}},
      {"env", {{{"name", "LOG_LEVEL"}, {"value", "info"}}}},
      {"resources",
       {{"requests", {{"cpu", "250m"}, {"memory", "256Mi"}}}, {"limits", {{"memory", "512Mi"}}}}}};
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"generateName", "bot-7d9f8c6b5-"},
            {"namespace", "bots"},
            {"labels", {{"app", "bot"}, {"pod-template-hash", "7d9f8c6b5"}}},
            {"annotations", {{"keyward.dev/inject", "alpha"}}},
            {"ownerReferences",
             {{{"apiVersion", "apps/v1"},
               {"kind", "ReplicaSet"},
               {"name", "bot-7d9f8c6b5"},
               {"uid", "3f1b6a52-8d0e-4a57-9d3c-1c2b3a4d5e6f"},
               {"controller", true}}}}}},
          {"spec", {{"serviceAccountName", "bot"}, {"containers", {bot}}}}};
}

json review() {
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
            {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
            {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
            {"operation", "CREATE"},
            {"namespace", "bots"},
            {"object", typical_pod()}}}};
}

json apikey() {
  return {{"apiVersion", "keyward.dev/v1alpha1"},
          {"kind", "ApiKey"},
          {"metadata", {{"name", "alpha"}, {"namespace", "bots"}}},
          {"spec",
           {{"displayName", "alpha desk key"},
            {"source", {{"generate", {{"prefix", "nt_"}, {"length", 40}}}}},
            {"tokenExchange",
             {{"provider", "tradovate"}, {"endpoint", "https://demo.tradovateapi.com/v1"}}}}}};
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[at];
}

int usage() {
  std::cerr << "usage: keyward-bench-webhook --dir DIR [--no-caches] [--connection-per-request] "
               "(serve | paced RATE SECONDS)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  fs::path dir;
  bool connection_per_request = false;
  bool caches = true;
  std::vector<std::string> command;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--dir" && i + 1 < args.size()) {
      dir = args[++i];
    } else if (args[i] == "--connection-per-request") {
      connection_per_request = true;
    } else if (args[i] == "--no-caches") {
      caches = false;
    } else {
      command.push_back(args[i]);
    }
  }
  if (dir.empty() || command.empty()) return usage();
  const bool paced = command[0] == "paced";
  if (!(command[0] == "serve" && command.size() == 1) && !(paced && command.size() == 3)) {
    return usage();
  }
  fs::create_directories(dir);

  // PKI: one CA for the API server and the webhook.
  const auto pki = keyward::testing::TestPki::create("bench CA");
  const auto webhook_leaf = pki.issue("webhook", {"IP:127.0.0.1", "DNS:localhost"}, false);
  std::ofstream(dir / "tls.crt") << webhook_leaf.cert_pem;
  std::ofstream(dir / "tls.key") << webhook_leaf.key_pem;
  std::ofstream(dir / "ca.crt") << pki.ca_cert_pem;

  auto options = keyward::bench::tls_fake_apiserver_options(pki);
  options.crd_files = {(fs::path(KEYWARD_SOURCE_DIR) / "crds" / "apikey.yaml").string()};
  keyward::testing::FakeApiServer server(options);
  if (auto s = server.start(); !s) {
    std::cerr << "bench: cannot start the fake API server: " << s.error().message << "\n";
    return 1;
  }
  server.apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bots"}}}});
  server.apply(apikey());

  auto endpoint = keyward::HttpEndpoint::parse(server.url());
  keyward::TlsClientConfig tls;
  tls.ca_pem = pki.ca_cert_pem;
  keyward::HttplibTransportOptions transport_options;
  if (connection_per_request) transport_options.max_idle_connections = 0;
  auto transport = keyward::HttplibTransport::create(*endpoint, tls, transport_options);
  if (!transport) {
    std::cerr << "bench: " << transport.error().message << "\n";
    return 1;
  }
  keyward::kube::KubeClient client(std::move(*transport), nullptr, keyward::make_null_logger());

  auto settings = keyward::webhook::parse_webhook_settings(
      "listen: '127.0.0.1:0'\nsidecarImage: registry.example/keyward-sidecar:0.1\ncertFile: " +
      (dir / "tls.crt").string() + "\nkeyFile: " + (dir / "tls.key").string() + "\n");
  if (!settings) {
    std::cerr << "bench: " << settings.error().message << "\n";
    return 1;
  }
  keyward::RealClock clock;
  keyward::SystemRandom random;
  keyward::kube::Informer apikeys(client, keyward::apikey::apikey_resource(), "", {}, clock, random,
                                  keyward::make_null_logger());
  keyward::kube::Informer namespaces(client, keyward::kube::ResourceType::namespaces(), "", {},
                                     clock, random, keyward::make_null_logger());
  keyward::webhook::AdmissionCaches admission_caches;
  if (caches) {
    apikeys.start();
    namespaces.start();
    for (int i = 0; i < 1000 && !(apikeys.has_synced() && namespaces.has_synced()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!apikeys.has_synced() || !namespaces.has_synced()) {
      std::cerr << "bench: the caches did not sync within 10 s\n";
      return 1;
    }
    admission_caches = {&apikeys.store(), &namespaces.store()};
  }
  keyward::webhook::Webhook webhook(client, clock, keyward::make_null_logger(), *settings,
                                    admission_caches);
  if (auto s = webhook.start(); !s) {
    std::cerr << "bench: cannot start the webhook: " << s.error().message << "\n";
    return 1;
  }

  const std::string body = review().dump();
  std::ofstream(dir / "review.json") << body;
  auto self = keyward::HttplibTransport::create({"https", "127.0.0.1", webhook.port()}, tls);
  keyward::HttpRequest post;
  post.method = "POST";
  post.path = "/mutate-pods";
  post.body = body;
  auto first = (*self)->send(post);
  if (!first || first->status != 200) {
    std::cerr << "bench: the webhook did not answer the review: "
              << (first ? std::to_string(first->status) + " " + first->body : first.error().message)
              << "\n";
    return 1;
  }
  std::ofstream(dir / "answer.json") << first->body;

  if (!paced) {
    std::cout << json{{"port", webhook.port()}}.dump() << std::endl;
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    return 0;
  }

  const double rate = std::stod(command[1]);
  const double seconds = std::stod(command[2]);
  const auto count = static_cast<std::size_t>(rate * seconds);
  const auto interval =
      std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(1.0 / rate));
  std::vector<double> latencies;
  latencies.reserve(count);
  std::size_t patched = 0;
  const auto start = SteadyClock::now();
  for (std::size_t i = 0; i < count; ++i) {
    const auto due = start + interval * static_cast<long>(i);
    std::this_thread::sleep_until(due);
    auto r = (*self)->send(post);
    latencies.push_back(
        std::chrono::duration<double, std::milli>(SteadyClock::now() - due).count());
    if (r && r->status == 200 && r->body.find("\"patch\"") != std::string::npos) ++patched;
  }
  std::cout << json{{"sent", count},
                    {"patched", patched},
                    {"p50_ms", percentile(latencies, 0.50)},
                    {"p99_ms", percentile(latencies, 0.99)},
                    {"max_ms", percentile(latencies, 1.0)}}
                   .dump()
            << "\n";
  return patched == count ? 0 : 1;
}
