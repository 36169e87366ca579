#pragma once
// A throwaway certificate authority for TLS tests: a CA made in memory, server and client
// certificates issued by it, all as PEM text. EC P-256 keys keep it fast.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/core/openssl_ptr.h"

namespace keyward::testing {

struct TestKeyPair {
  std::string cert_pem;
  std::string key_pem;
};

class TestCertificateAuthority {
 public:
  explicit TestCertificateAuthority(const std::string& cn = "keyward-test-ca") {
    key_.reset(EVP_EC_gen("P-256"));
    if (!key_) throw std::runtime_error("EVP_EC_gen failed");
    cert_ = make_cert(cn, key_.get(), nullptr, key_.get(), {}, Usage::Ca);
  }

  [[nodiscard]] std::string ca_pem() const { return cert_to_pem(cert_.get()); }

  // A leaf certificate; sans like "DNS:localhost" or "IP:127.0.0.1".
  [[nodiscard]] TestKeyPair issue(const std::string& cn, const std::vector<std::string>& sans,
                                  bool client) const {
    KeyPtr leaf_key(EVP_EC_gen("P-256"));
    if (!leaf_key) throw std::runtime_error("EVP_EC_gen failed");
    auto leaf = make_cert(cn, leaf_key.get(), cert_.get(), key_.get(), sans,
                          client ? Usage::Client : Usage::Server);
    return {cert_to_pem(leaf.get()), key_to_pem(leaf_key.get())};
  }

 private:
  using X509Ptr = openssl::X509Ptr;
  using KeyPtr = openssl::PkeyPtr;
  using BioPtr = openssl::BioPtr;
  enum class Usage { Ca, Server, Client };

  static void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) throw std::runtime_error("bad extension " + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }

  X509Ptr make_cert(const std::string& cn, EVP_PKEY* subject_key, X509* issuer,
                    EVP_PKEY* issuer_key, const std::vector<std::string>& sans, Usage usage) const {
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), next_serial_++);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24L * 3600);
    X509_set_pubkey(cert.get(), subject_key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509* iss = issuer ? issuer : cert.get();
    if (usage == Usage::Ca) {
      add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
      add_ext(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
      add_ext(cert.get(), iss, NID_subject_key_identifier, "hash");
    } else {
      add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
      add_ext(cert.get(), iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
      add_ext(cert.get(), iss, NID_ext_key_usage,
              usage == Usage::Client ? "clientAuth" : "serverAuth");
      if (!sans.empty()) {
        std::string joined;
        for (const auto& s : sans) joined += (joined.empty() ? "" : ",") + s;
        add_ext(cert.get(), iss, NID_subject_alt_name, joined);
      }
    }
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
      throw std::runtime_error("X509_sign failed");
    }
    return cert;
  }

  static std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(len));
  }
  static std::string cert_to_pem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    return bio_text(bio.get());
  }
  static std::string key_to_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    return bio_text(bio.get());
  }

  mutable long next_serial_ = 1;  // not thread-safe: tests issue from one thread
  KeyPtr key_;
  X509Ptr cert_;
};

}  // namespace keyward::testing
