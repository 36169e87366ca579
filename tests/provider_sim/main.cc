// keyward-provider-sim: the provider simulator as a process, for the demo and the benchmark.
// Prints one JSON line {"url": "..."} once it listens; ends on SIGTERM or SIGINT.
// GET {url}/_sim/stats answers the per-user counters (logins, renewals, live sessions).

#include <signal.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "tests/provider_sim/provider_simulator.h"

namespace {

void usage() {
  std::cerr
      << "usage: keyward-provider-sim [--host 127.0.0.1] [--port 0] [--lifetime-seconds 5400]\n"
         "  [--no-renewals] [--budget N] [--user NAME:PASSWORD:CID:SEC]...\n"
         "  [--oauth2-client ID:SECRET] [--tls-cert FILE --tls-key FILE]\n"
         "Default user: demo:demo-password:8:demo-sec. With --tls-cert/--tls-key (PEM) it serves\n"
         "HTTPS. GET /_sim/stats: the counters as JSON.\n";
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    const auto next = s.find(sep, pos);
    out.push_back(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  keyward::sim::SimConfig config;
  std::vector<keyward::sim::SimUser> users;
  std::string tls_cert;
  std::string tls_key;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--host")
        host = value();
      else if (a == "--port")
        port = std::stoi(value());
      else if (a == "--lifetime-seconds")
        config.lifetime = keyward::Seconds(std::stoll(value()));
      else if (a == "--no-renewals")
        config.renewals_allowed = false;
      else if (a == "--budget")
        config.request_budget_per_hour = std::stoi(value());
      else if (a == "--user") {
        auto f = split(value(), ':');
        if (f.size() != 4) throw std::invalid_argument("--user takes NAME:PASSWORD:CID:SEC");
        users.push_back({f[0], f[1], f[2], f[3], 0});
      } else if (a == "--oauth2-client") {
        auto f = split(value(), ':');
        if (f.size() != 2) throw std::invalid_argument("--oauth2-client takes ID:SECRET");
        config.oauth2_client_id = f[0];
        config.oauth2_client_secret = f[1];
      } else if (a == "--tls-cert") {
        tls_cert = value();
      } else if (a == "--tls-key") {
        tls_key = value();
      } else {
        usage();
        return 2;
      }
    }
    if (tls_cert.empty() != tls_key.empty())
      throw std::invalid_argument("--tls-cert and --tls-key go together");
  } catch (const std::exception& e) {
    std::cerr << "keyward-provider-sim: " << e.what() << "\n";
    usage();
    return 2;
  }
  if (users.empty()) users.push_back({"demo", "demo-password", "8", "demo-sec", 0});

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts

  keyward::RealClock clock;
  keyward::sim::ProviderSimulator sim(clock, config);
  for (auto& u : users) sim.add_user(u);
  auto bound =
      tls_cert.empty() ? sim.start(host, port) : sim.start_tls(host, port, tls_cert, tls_key);
  if (!bound) {
    std::cerr << bound.error().to_string() << "\n";
    return 1;
  }
  std::cout
      << nlohmann::json{{"url", sim.url()}, {"lifetimeSeconds", config.lifetime.count()}}.dump()
      << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  sim.stop();
  return 0;
}
