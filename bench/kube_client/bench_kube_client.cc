// Requests per second of one KubeClient against the fake API server over TLS, for
// bench/webhook/run.sh: sequential GETs of one small Secret for SECONDS, with the
// transport keeping connections alive (what the operator runs) and with no idle connections (one
// TCP + TLS connection per request: the client before it kept connections). Prints
// {"keep_alive_rps", "connection_per_request_rps", "keep_alive_cpu_ms_per_request",
//  "connection_per_request_cpu_ms_per_request"}.
//
//   keyward-bench-kube-client [SECONDS]

#include <sys/resource.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "bench/support/tls_fake_apiserver.h"
#include "common/core/http_transport_httplib.h"
#include "common/core/log.h"
#include "common/kube/kube_client.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/test_pki.h"

namespace {

using SteadyClock = std::chrono::steady_clock;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

struct Rate {
  double per_second = 0;
  double cpu_ms_per_request = 0;  // this process: client and server together
};

// GETs for `seconds`; nullopt when a request fails.
std::optional<Rate> measure(const keyward::HttpEndpoint& endpoint, const std::string& ca_pem,
                            std::size_t max_idle, double seconds) {
  keyward::TlsClientConfig tls;
  tls.ca_pem = ca_pem;
  keyward::HttplibTransportOptions options;
  options.max_idle_connections = max_idle;
  auto transport = keyward::HttplibTransport::create(endpoint, tls, options);
  if (!transport) return std::nullopt;
  keyward::kube::KubeClient client(std::move(*transport), nullptr, keyward::make_null_logger());
  const auto type = keyward::kube::ResourceType::secrets();
  const double cpu_start = cpu_seconds();
  const auto start = SteadyClock::now();
  const auto end = start + std::chrono::duration_cast<SteadyClock::duration>(
                               std::chrono::duration<double>(seconds));
  std::size_t done = 0;
  while (SteadyClock::now() < end) {
    auto got = client.get(type, "bots", "settings");
    if (!got) {
      std::cerr << "bench: GET failed: " << got.error().message << "\n";
      return std::nullopt;
    }
    ++done;
  }
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  return Rate{static_cast<double>(done) / elapsed,
              (cpu_seconds() - cpu_start) * 1000.0 / static_cast<double>(done)};
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::stod(argv[1]) : 5.0;
  const auto pki = keyward::testing::TestPki::create("bench CA");
  keyward::testing::FakeApiServer server(keyward::bench::tls_fake_apiserver_options(pki));
  if (auto s = server.start(); !s) {
    std::cerr << "bench: cannot start the fake API server: " << s.error().message << "\n";
    return 1;
  }
  server.apply({{"apiVersion", "v1"},
                {"kind", "Secret"},
                {"metadata", {{"name", "settings"}, {"namespace", "bots"}}},
                {"type", "Opaque"},
                {"data", {{"apiKey", "bnRfZXhhbXBsZWtleWV4YW1wbGVrZXlleGFtcGxl"}}}});
  auto endpoint = keyward::HttpEndpoint::parse(server.url());
  auto kept = measure(*endpoint, pki.ca_cert_pem, 8, seconds);
  auto fresh = measure(*endpoint, pki.ca_cert_pem, 0, seconds);
  if (!kept || !fresh) return 1;
  std::cout << nlohmann::json{{"keep_alive_rps", kept->per_second},
                              {"keep_alive_cpu_ms_per_request", kept->cpu_ms_per_request},
                              {"connection_per_request_rps", fresh->per_second},
                              {"connection_per_request_cpu_ms_per_request",
                               fresh->cpu_ms_per_request}}
                   .dump()
            << "\n";
  return 0;
}
