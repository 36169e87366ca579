#include "tests/support/test_pki.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

#include "common/core/openssl_ptr.h"

namespace keyward::testing {

namespace {

using openssl::BioPtr;
using openssl::BnPtr;
using ExtPtr = openssl::ExtensionPtr;
using openssl::PkeyPtr;
using openssl::X509Ptr;

[[noreturn]] void openssl_failed(const char* what) {
  throw std::runtime_error(std::string("TestPki: OpenSSL failed to ") + what);
}

PkeyPtr new_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) openssl_failed("generate an EC P-256 key");
  return key;
}

std::string key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    openssl_failed("write a private key");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string cert_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) openssl_failed("write a certificate");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

X509Ptr read_cert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) openssl_failed("read the CA certificate");
  return cert;
}

PkeyPtr read_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) openssl_failed("read the CA key");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    openssl_failed(("add extension " + value).c_str());
}

X509Ptr new_cert(const std::string& common_name, EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  if (!cert) openssl_failed("allocate a certificate");
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) openssl_failed("make a serial number");
  serial_bytes[0] &= 0x7f;
  BnPtr serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    openssl_failed("set a serial number");
  }
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return cert;
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

TestPki TestPki::create(const std::string& common_name) {
  PkeyPtr key = new_key();
  X509Ptr cert = new_cert(common_name, key.get());
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    openssl_failed("sign the CA certificate");
  return TestPki{cert_pem(cert.get()), key_pem(key.get())};
}

TestKeyPair TestPki::issue(const std::string& common_name, const std::vector<std::string>& sans,
                           bool client) const {
  std::vector<std::string> dns_sans;
  for (const std::string& san : sans) {
    if (san.starts_with("DNS:")) {
      dns_sans.push_back(san.substr(4));
    } else if (san.starts_with("IP:")) {
      dns_sans.push_back(san.substr(3));
    } else {
      dns_sans.push_back(san);
    }
  }
  X509Ptr ca = read_cert(ca_cert_pem);
  PkeyPtr ca_key = read_key(ca_key_pem);
  PkeyPtr key = new_key();
  X509Ptr cert = new_cert(common_name, key.get());
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  add_ext(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_ext(cert.get(), ca.get(), NID_ext_key_usage, client ? "clientAuth" : "serverAuth");
  add_ext(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  std::string san_ext;
  for (const std::string& san : dns_sans) {
    san_ext += (san_ext.empty() ? "" : ",") + std::string(is_ip(san) ? "IP:" : "DNS:") + san;
  }
  if (!san_ext.empty()) add_ext(cert.get(), ca.get(), NID_subject_alt_name, san_ext);
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) openssl_failed("sign a certificate");
  return TestKeyPair{cert_pem(cert.get()), key_pem(key.get())};
}

}  // namespace keyward::testing
