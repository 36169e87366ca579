#pragma once
// Certificates for the webhook tests: a throwaway CA and leaf certificates it signs (EC P-256,
// SANs for localhost and 127.0.0.1), as PEM text.

#include <string>
#include <vector>

namespace keyward::webhook::testing {

struct PemPair {
  std::string cert;
  std::string key;
};

PemPair make_test_ca(const std::string& common_name);
PemPair issue_test_certificate(const PemPair& ca, const std::string& common_name,
                               const std::vector<std::string>& dns_names = {"localhost"},
                               const std::vector<std::string>& ips = {"127.0.0.1"});

// The subject CN of a PEM certificate ("" when it does not parse).
std::string common_name_of(const std::string& cert_pem);

}  // namespace keyward::webhook::testing
