#pragma once
// A throw-away certificate authority for tests: a CA, and server or client certificates it
// signs (EC P-256, valid from an hour ago for a year). IP literals among the SANs become IP
// SANs, so "127.0.0.1" works for Go and OpenSSL clients alike. Throws std::runtime_error if
// OpenSSL fails (there is nothing a test could do about it).
#include <string>
#include <utility>
#include <vector>

namespace keyward::testing {

struct TestKeyPair {
  std::string cert_pem;
  std::string key_pem;
};

struct TestPki {
  std::string ca_cert_pem, ca_key_pem;
  static TestPki create(const std::string& common_name = "keyward-test-ca");
  // A leaf certificate and its key. sans: host names or IP literals ("localhost",
  // "127.0.0.1"; "DNS:"/"IP:" prefixes are accepted too). client = true: extendedKeyUsage
  // clientAuth, else serverAuth.
  [[nodiscard]] TestKeyPair issue(const std::string& common_name,
                                  const std::vector<std::string>& sans, bool client) const;
};

}  // namespace keyward::testing
