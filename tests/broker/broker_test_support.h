#pragma once
// Shared pieces of the broker tests: the objects a broker reads (ApiKey, key Secret, login
// Secret, pod) and a transport factory that reaches the provider simulator in-process.

#include <nlohmann/json.hpp>
#include <string>

#include "operator/apikey/key_secret.h"
#include "operator/controller/apikey_reconciler.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/provider_sim/simulator_transport.h"
#include "tests/support/test_pki.h"
#include "tests/support/wait_and_files.h"

namespace keyward::testing {

using Json = nlohmann::json;

inline constexpr const char* kPassword = "correct-horse-battery-staple";
inline constexpr const char* kKey1 = "nt_first_key_0123456789abcdefghijkl";
inline constexpr const char* kKey2 = "nt_second_key_9876543210zyxwvutsrqp";

inline Json broker_apikey(const std::string& name, const Json& exchange_overrides = Json::object(),
                          bool active = true) {
  Json exchange = {{"provider", "tradovate"},
                   {"endpoint", "https://sim.example/v1"},
                   {"lifetimeSeconds", 5400},
                   {"refreshLeadSeconds", 300},
                   {"credentialsSecretRef", {{"name", name + "-login"}}},
                   {"tradovate", {{"appId", "Bot"}, {"appVersion", "1.0"}}}};
  exchange.merge_patch(exchange_overrides);
  return Json{{"apiVersion", "keyward.dev/v1alpha1"},
              {"kind", "ApiKey"},
              {"metadata", {{"name", name}, {"namespace", "bots"}, {"uid", "uid-" + name}}},
              {"spec",
               {{"displayName", "Alpha bot"},
                {"active", active},
                {"source", {{"generate", {{"prefix", "nt_"}, {"length", 40}}}}},
                {"tokenExchange", exchange}}}};
}

inline Json key_secret(const std::string& apikey, const std::string& key, int version) {
  return Json{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata",
               {{"name", "keyward-" + apikey},
                {"namespace", "bots"},
                {"labels", {{"keyward.dev/apikey", apikey}}},
                {"annotations",
                 {{"keyward.dev/key-version", std::to_string(version)},
                  {"keyward.dev/content-hash", "h" + std::to_string(version)},
                  {"keyward.dev/rotated-at", "2027-03-01T12:00:00Z"}}}}},
              {"type", "Opaque"},
              {"data", {{"apiKey", keyward::base64_encode(key)}}}};
}

inline Json login_secret(const std::string& apikey, const std::string& user) {
  return Json{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", {{"name", apikey + "-login"}, {"namespace", "bots"}}},
              {"type", "Opaque"},
              {"data",
               {{"username", keyward::base64_encode(user)},
                {"password", keyward::base64_encode(kPassword)},
                {"clientId", keyward::base64_encode("8")}}}};
}

inline Json pod(const std::string& name, const std::string& uid, const std::string& inject,
                const std::string& service_account = "bot") {
  Json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}, {"namespace", "bots"}, {"uid", uid}}},
            {"spec",
             {{"serviceAccountName", service_account},
              {"containers", Json::array({{{"name", "app"}, {"image", "bot:1"}}})}}},
            {"status", {{"phase", "Running"}}}};
  if (!inject.empty()) p["metadata"]["annotations"] = {{"keyward.dev/inject", inject}};
  return p;
}

// One test CA and a localhost certificate for the provider simulator and the broker: writes
// dir/tls.crt, dir/tls.key and dir/ca.crt (the operator trusts it through SSL_CERT_FILE, the
// sidecars through --ca-file). False if a file could not be written.
inline bool write_localhost_tls(const std::string& dir,
                                const std::string& ca_name = "keyward-test-ca") {
  auto pki = TestPki::create(ca_name);
  auto [cert, key] = pki.issue("localhost", {"localhost", "127.0.0.1"}, false);
  return write(dir + "/tls.crt", cert) && write(dir + "/tls.key", key) &&
         write(dir + "/ca.crt", pki.ca_cert_pem);
}

// The secretRef source Secret <apikey>-source holding the key (e2e_apikey reads it).
inline Json source_secret(const std::string& key, const std::string& apikey = "alpha") {
  return Json{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", {{"name", apikey + "-source"}, {"namespace", "bots"}}},
              {"type", "Opaque"},
              {"data", {{"apiKey", keyward::base64_encode(key)}}}};
}

// The stand-in cluster of the end-to-end tests: the ApiKey CRD registered and enough workers for
// watches, many sidecars and kubectl at once.
inline FakeApiServerOptions e2e_cluster_options() {
  FakeApiServerOptions options;
  options.crd_files = {std::string(KEYWARD_SOURCE_DIR) + "/crds/apikey.yaml"};
  options.worker_threads = 32;
  return options;
}

// Namespace bots with ApiKey alpha's source Secret (key kKey1) and login Secret (user alice).
inline void seed_alpha(FakeApiServer& api) {
  api.apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bots"}}}});
  api.apply(source_secret(kKey1));
  api.apply(login_secret("alpha", "alice"));
}

// An ApiKey for the end-to-end tests: its key from the Secret <name>-source (secretRef), no uid
// (the server assigns one), no restarts; exchange_overrides merge into spec.tokenExchange.
inline Json e2e_apikey(const std::string& name, const Json& exchange_overrides) {
  Json apikey = broker_apikey(name, exchange_overrides);
  apikey["metadata"].erase("uid");
  apikey["spec"]["source"] = {{"secretRef", {{"name", name + "-source"}}}};
  apikey["spec"]["consumers"] = {{"restartStrategy", "None"}};
  return apikey;
}

// keyward-operator run with the broker on dir's tls.crt/tls.key (write_localhost_tls), against
// dir/kubeconfig, without leader election, on free ports; extra flags appended.
inline std::vector<std::string> operator_with_broker(const std::string& binary,
                                                     const std::string& dir,
                                                     std::vector<std::string> extra = {}) {
  std::vector<std::string> args{binary,
                                "run",
                                "--kubeconfig",
                                dir + "/kubeconfig",
                                "--leader-elect=false",
                                "--metrics-listen",
                                "127.0.0.1:0",
                                "--broker-listen",
                                "127.0.0.1:0",
                                "--broker-cert-file",
                                dir + "/tls.crt",
                                "--broker-key-file",
                                dir + "/tls.key"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// keyward-sidecar run in broker mode for pod `pod` of ApiKey bots/alpha, as the webhook renders
// it: the broker at broker_url, dir's ca.crt, the pod's projected token in dir/sa-<pod>, tokens
// into dir/out-<pod>, no status server; extra flags appended.
inline std::vector<std::string> broker_sidecar(const std::string& binary,
                                               const std::string& broker_url,
                                               const std::string& dir, const std::string& pod,
                                               std::vector<std::string> extra = {}) {
  std::vector<std::string> args{binary,
                                "run",
                                "--mode",
                                "broker",
                                "--apikey",
                                "alpha",
                                "--namespace",
                                "bots",
                                "--broker-url",
                                broker_url,
                                "--ca-file",
                                dir + "/ca.crt",
                                "--service-account-token-file",
                                dir + "/sa-" + pod,
                                "--out",
                                dir + "/out-" + pod,
                                "--listen",
                                "off"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

inline HttpTransportFactory simulator_factory(sim::ProviderSimulator& simulator) {
  return [&simulator](const std::string&,
                      const std::string&) -> Result<std::unique_ptr<HttpTransport>> {
    return std::unique_ptr<HttpTransport>(std::make_unique<sim::SimulatorTransport>(simulator));
  };
}

}  // namespace keyward::testing
