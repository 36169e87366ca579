#include "common/core/certificate_store.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/core/hex.h"

namespace keyward {
namespace {

using openssl::BioPtr;

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

BioPtr memory_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail("CertificateUnreadable", "cannot open " + path + "; check the mounted TLS Secret");
  std::ostringstream out;
  out << in.rdbuf();
  if (!in.good() && !in.eof()) return fail("CertificateUnreadable", "cannot read " + path);
  return out.str();
}

}  // namespace

Result<std::shared_ptr<const CertifiedKey>> CertifiedKey::parse(const std::string& cert_pem,
                                                                const std::string& key_pem) {
  auto ck = std::make_shared<CertifiedKey>();
  BioPtr cert_bio = memory_bio(cert_pem);
  ck->leaf.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!ck->leaf)
    return fail("InvalidCertificate",
                "the certificate file holds no PEM certificate: " + openssl_error());
  ck->chain.reset(sk_X509_new_null());
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(ck->chain.get(), extra);
  }
  ERR_clear_error();  // the loop ends on "no start line"

  BioPtr key_bio = memory_bio(key_pem);
  // The key never goes into an error message; OpenSSL's error strings name no key material.
  ck->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!ck->key)
    return fail("InvalidCertificate", "the key file holds no PEM private key: " + openssl_error());
  if (X509_check_private_key(ck->leaf.get(), ck->key.get()) != 1) {
    ERR_clear_error();
    return fail("InvalidCertificate",
                "the private key does not match the certificate; the TLS Secret is "
                "half-written or mixed up");
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(ck->leaf.get(), EVP_sha256(), md, &len);
  ck->fingerprint = lower_hex(md, len);
  return std::shared_ptr<const CertifiedKey>(std::move(ck));
}

FileCertificateSource::FileCertificateSource(std::string cert_path, std::string key_path)
    : cert_path_(std::move(cert_path)), key_path_(std::move(key_path)) {}

Result<CertificateSource::Pem> FileCertificateSource::read() {
  auto cert = read_file(cert_path_);
  if (!cert) return fail(cert.error());
  auto key = read_file(key_path_);
  if (!key) return fail(key.error());
  return Pem{std::move(*cert), std::move(*key)};
}

CertificateStore::CertificateStore(CertificateSource& source, Logger logger)
    : source_(source), logger_(std::move(logger)) {}

Result<bool> CertificateStore::reload() {
  auto pem = source_.read();
  if (!pem) return fail(pem.error());
  std::string both = pem->cert + '\0' + pem->key;
  {
    std::lock_guard lock(mu_);
    if (current_ && both == loaded_pem_) return false;
  }
  auto parsed = CertifiedKey::parse(pem->cert, pem->key);
  if (!parsed) {
    logger_.warn("serving certificate not reloaded; keeping the previous one",
                 {{"reason", parsed.error().reason}, {"error", parsed.error().message}});
    return fail(parsed.error());
  }
  {
    std::lock_guard lock(mu_);
    current_ = *parsed;
    loaded_pem_ = std::move(both);
  }
  generation_.fetch_add(1);
  logger_.info("serving certificate loaded", {{"sha256", (*parsed)->fingerprint}});
  return true;
}

std::shared_ptr<const CertifiedKey> CertificateStore::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

void CertificateStore::install_on(SSL_CTX* ctx) {
  SSL_CTX_set_cert_cb(ctx, &CertificateStore::cert_callback, this);
}

int CertificateStore::cert_callback(SSL* ssl, void* arg) {
  auto* self = static_cast<CertificateStore*>(arg);
  self->handshakes_.fetch_add(1);
  auto ck = self->current();
  if (!ck) return 0;  // no certificate: the handshake fails
  // SSL_use_cert_and_key takes its own references; ck may be swapped out afterwards.
  return SSL_use_cert_and_key(ssl, ck->leaf.get(), ck->key.get(), ck->chain.get(), 1) == 1 ? 1 : 0;
}

}  // namespace keyward
