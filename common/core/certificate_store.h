#pragma once
// The serving certificate, reloadable while the server runs. cert-manager (or Helm) writes
// tls.crt/tls.key into a mounted Secret; the kubelet swaps the files when the Secret changes.
// CertificateStore keeps the newest valid pair behind a shared_ptr; the TLS server's
// certificate callback (install_on) hands that pair to each NEW handshake, so established
// connections keep going on the certificate they negotiated and new ones get the new one.
// A bad pair (unparsable, key not matching) is refused and the previous pair stays in service.

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "common/core/log.h"
#include "common/core/openssl_ptr.h"
#include "common/core/result.h"

namespace keyward {

using openssl::X509Ptr;
using openssl::X509StackPtr;
using EvpPkeyPtr = openssl::PkeyPtr;

// One parsed certificate chain and its key.
struct CertifiedKey {
  X509Ptr leaf;
  X509StackPtr chain;  // intermediates after the leaf, may be empty
  EvpPkeyPtr key;
  std::string fingerprint;  // SHA-256 of the leaf, hex, for logs

  static Result<std::shared_ptr<const CertifiedKey>> parse(const std::string& cert_pem,
                                                           const std::string& key_pem);
};

// Reads the PEM texts; the filesystem behind an interface so tests and other sources plug in.
class CertificateSource {
 public:
  CertificateSource() = default;
  CertificateSource(const CertificateSource&) = delete;
  CertificateSource& operator=(const CertificateSource&) = delete;
  virtual ~CertificateSource() = default;
  struct Pem {
    std::string cert;
    std::string key;
  };
  virtual Result<Pem> read() = 0;
};

// tls.crt and tls.key files.
class FileCertificateSource final : public CertificateSource {
 public:
  FileCertificateSource(std::string cert_path, std::string key_path);
  Result<Pem> read() override;

 private:
  std::string cert_path_;
  std::string key_path_;
};

class CertificateStore {
 public:
  CertificateStore(CertificateSource& source, Logger logger);

  // Reads the source and swaps in the pair if it differs from the one in service.
  // Returns true when a new pair was installed; an Error when the source is unreadable or the
  // pair is invalid (the old pair stays in service).
  Result<bool> reload();

  [[nodiscard]] std::shared_ptr<const CertifiedKey> current() const;
  [[nodiscard]] std::uint64_t generation() const { return generation_.load(); }
  // TLS handshakes served so far (tests use it to see that a kept-alive connection did not
  // hand-shake again).
  [[nodiscard]] std::uint64_t handshakes() const { return handshakes_.load(); }

  // Makes ctx ask this store for the certificate on every handshake (SSL_CTX_set_cert_cb).
  void install_on(SSL_CTX* ctx);

 private:
  static int cert_callback(SSL* ssl, void* arg);

  CertificateSource& source_;
  Logger logger_;
  mutable std::mutex mu_;  // guards current_ and loaded_pem_
  std::shared_ptr<const CertifiedKey> current_;
  std::string loaded_pem_;  // cert+key text of current_, to notice changes
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> handshakes_{0};
};

}  // namespace keyward
