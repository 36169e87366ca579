#pragma once
// The benchmarks' stand-in cluster: FakeApiServer options for TLS with a certificate for
// 127.0.0.1 issued by `pki` (clients trust pki.ca_cert_pem).

#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/test_pki.h"

namespace keyward::bench {

inline testing::FakeApiServerOptions tls_fake_apiserver_options(const testing::TestPki& pki) {
  const auto leaf = pki.issue("apiserver", {"IP:127.0.0.1"}, false);
  testing::FakeApiServerOptions options;
  options.tls = true;
  options.cert_pem = leaf.cert_pem;
  options.key_pem = leaf.key_pem;
  return options;
}

}  // namespace keyward::bench
