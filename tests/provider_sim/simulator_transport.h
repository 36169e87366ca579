#pragma once
// An HttpTransport that hands requests straight to a ProviderSimulator (no sockets), so tests
// with a FakeClock stay deterministic. During an outage it fails like a refused connection.

#include "common/core/http_transport.h"
#include "tests/provider_sim/provider_simulator.h"

namespace keyward::sim {

class SimulatorTransport final : public HttpTransport {
 public:
  explicit SimulatorTransport(ProviderSimulator& sim) : sim_(sim) {}

  Result<HttpResponse> send(const HttpRequest& request) override {
    if (sim_.down()) {
      return fail("Unreachable", "connecting to the provider simulator failed: connection refused");
    }
    return sim_.handle(request);
  }

  Result<HttpResponse> stream(const HttpRequest& request,
                              const std::function<bool(std::string_view)>& on_chunk,
                              std::stop_token /*stop*/) override {
    auto r = send(request);
    if (r && r->status < 300) on_chunk(r->body);
    return r;
  }

 private:
  ProviderSimulator& sim_;
};

}  // namespace keyward::sim
