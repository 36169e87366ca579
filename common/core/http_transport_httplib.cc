#include "common/core/http_transport_httplib.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <mutex>

#include "common/core/openssl_ptr.h"

namespace keyward {

namespace {

struct AddrinfoFree {
  void operator()(addrinfo* p) const { freeaddrinfo(p); }
};

using openssl::BioPtr;
using openssl::PkeyPtr;
using openssl::X509Ptr;
using openssl::X509StackPtr;

// The newest OpenSSL error as text, and the queue cleared (so it does not leak into later calls).
std::string take_openssl_error() {
  const unsigned long code = ERR_peek_last_error();
  std::array<char, 256> buf{};
  if (code != 0) ERR_error_string_n(code, buf.data(), buf.size());
  ERR_clear_error();
  return code != 0 ? std::string(buf.data()) : std::string("no detail from OpenSSL");
}

BioPtr memory_bio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in a PEM bundle; an error when there is none or one is broken.
Result<X509StackPtr> parse_certificates(const std::string& pem, const std::string& what) {
  X509StackPtr stack(sk_X509_new_null());
  BioPtr bio = memory_bio(pem);
  if (!stack || !bio) return fail("InvalidCertificate", "out of memory parsing " + what);
  ERR_clear_error();
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      const unsigned long err = ERR_peek_last_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE &&
          sk_X509_num(stack.get()) > 0) {
        ERR_clear_error();  // clean end of the bundle
        break;
      }
      return fail("InvalidCertificate",
                  what + " is not a valid PEM certificate bundle (" + take_openssl_error() +
                      "); it must hold one or more '-----BEGIN CERTIFICATE-----' blocks");
    }
    if (sk_X509_push(stack.get(), cert.get()) == 0) {
      return fail("InvalidCertificate", "out of memory parsing " + what);
    }
    (void)cert.release();  // now owned by the stack
  }
  return stack;
}

// Verifies the server's chain against the configured CA certificates only (not the system
// store, which httplib loads into the SSL_CTX regardless). arg is the STACK_OF(X509) of CAs.
int verify_against_configured_cas(X509_STORE_CTX* ctx, void* arg) {
  X509_STORE_CTX_set0_trusted_stack(ctx, static_cast<STACK_OF(X509)*>(arg));
  return X509_verify_cert(ctx);
}

std::string describe_http_error(httplib::Error error) { return httplib::to_string(error); }

// The numeric address of host (for set_hostname_addr_map, which needs one).
Result<std::string> resolve_numeric(const std::string& host, const std::string& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  std::unique_ptr<addrinfo, AddrinfoFree> list(raw);
  if (rc != 0 || !list) {
    return fail("Unreachable", "cannot reach " + where + ": cannot resolve host '" + host + "' (" +
                                   gai_strerror(rc) + "); check the address");
  }
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const void* addr = nullptr;
  if (list->ai_family == AF_INET) {
    addr = &reinterpret_cast<sockaddr_in*>(list->ai_addr)->sin_addr;
  } else {
    addr = &reinterpret_cast<sockaddr_in6*>(list->ai_addr)->sin6_addr;
  }
  if (inet_ntop(list->ai_family, addr, buf.data(), static_cast<socklen_t>(buf.size())) == nullptr) {
    return fail("Unreachable",
                "cannot reach " + where + ": cannot format the address of '" + host + "'");
  }
  return std::string(buf.data());
}

}  // namespace

struct HttplibTransport::ParsedTls {
  X509StackPtr cas;  // null: system store
  X509Ptr client_cert;
  PkeyPtr client_key;
};

Result<std::unique_ptr<HttplibTransport>> HttplibTransport::create(
    HttpEndpoint endpoint, TlsClientConfig tls, HttplibTransportOptions options) {
  if (endpoint.host.empty()) return fail("InvalidURL", "HTTP endpoint has no host");
  if (endpoint.scheme != "https" && endpoint.scheme != "http") {
    return fail("InvalidURL",
                "HTTP endpoint scheme must be http or https, not '" + endpoint.scheme + "'");
  }
  auto parsed = std::make_unique<ParsedTls>();
  const std::string where = endpoint.to_string();
  if (endpoint.scheme == "https") {
    if (!tls.ca_pem.empty()) {
      auto cas = parse_certificates(tls.ca_pem, "the CA bundle for " + where);
      if (!cas) return fail(cas.error());
      parsed->cas = std::move(*cas);
    }
    const bool has_cert = !tls.client_cert_pem.empty();
    const bool has_key = !tls.client_key_pem.empty();
    if (has_cert != has_key) {
      return fail("InvalidCertificate", "client certificate and client key for " + where +
                                            " must be given together; one of them is missing");
    }
    if (has_cert) {
      auto certs = parse_certificates(tls.client_cert_pem, "the client certificate for " + where);
      if (!certs) return fail(certs.error());
      parsed->client_cert.reset(sk_X509_shift(certs->get()));  // the leaf; intermediates unused
      BioPtr bio = memory_bio(tls.client_key_pem);
      ERR_clear_error();
      parsed->client_key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
      if (!parsed->client_key) {
        return fail("InvalidCertificate", "the client key for " + where +
                                              " is not a valid unencrypted PEM private key (" +
                                              take_openssl_error() + ")");
      }
      if (X509_check_private_key(parsed->client_cert.get(), parsed->client_key.get()) != 1) {
        ERR_clear_error();
        return fail("InvalidCertificate", "the client key for " + where +
                                              " does not belong to the client certificate; "
                                              "check that the pair was issued together");
      }
    }
  }
  return std::unique_ptr<HttplibTransport>(new HttplibTransport(
      std::move(endpoint), std::move(tls), std::move(options), std::move(parsed)));
}

HttplibTransport::HttplibTransport(HttpEndpoint endpoint, TlsClientConfig tls,
                                   HttplibTransportOptions options,
                                   std::unique_ptr<ParsedTls> parsed)
    : endpoint_(std::move(endpoint)),
      tls_(std::move(tls)),
      options_(std::move(options)),
      parsed_(std::move(parsed)) {}

HttplibTransport::~HttplibTransport() = default;

struct HttplibTransport::Exchange {
  bool ok = false;
  httplib::Error error = httplib::Error::Success;
  httplib::Response res;
  long verify_result = X509_V_OK;  // the server certificate's check, for a TLS failure
  bool too_large = false;
  bool stopped_by_caller = false;
  std::string body;  // a bounded answer's body, or a stream's error body
};

namespace {

// Requests that may be sent twice (Go's net/http isReplayable): safe methods, or a request the
// server deduplicates by its Idempotency-Key.
bool replayable(const HttpRequest& request) {
  const std::string& m = request.method;
  return m == "GET" || m == "HEAD" || m == "OPTIONS" ||
         request.headers.contains("Idempotency-Key") ||
         request.headers.contains("X-Idempotency-Key");
}

// The connection broke under the request (not a TLS or address problem): what a server closing
// an idle keep-alive connection at the moment it is reused looks like. httplib reports a read
// timeout as Read too; the caller tells the two apart by the time the attempt took.
bool broken_connection(httplib::Error error) {
  return error == httplib::Error::Write || error == httplib::Error::Read;
}

}  // namespace

Result<std::unique_ptr<httplib::ClientImpl>> HttplibTransport::new_client(bool keep_alive) const {
  const std::string where = endpoint_.to_string();
  std::unique_ptr<httplib::ClientImpl> client;
  if (endpoint_.scheme == "https") {
    const bool override_name = !tls_.server_name.empty() && tls_.server_name != endpoint_.host;
    const std::string& name = override_name ? tls_.server_name : endpoint_.host;
    auto ssl = parsed_->client_cert ? std::make_unique<httplib::SSLClient>(
                                          name, endpoint_.port, parsed_->client_cert.get(),
                                          parsed_->client_key.get())
                                    : std::make_unique<httplib::SSLClient>(name, endpoint_.port);
    if (!ssl->is_valid()) {
      return fail("InvalidCertificate", "cannot set up TLS for " + where + " (" +
                                            take_openssl_error() +
                                            "); check the client certificate and key");
    }
    if (override_name) {
      auto address = resolve_numeric(endpoint_.host, where);
      if (!address) return fail(address.error());
      ssl->set_hostname_addr_map({{name, *address}});
    }
    ssl->enable_server_certificate_verification(!tls_.insecure_skip_verify);
    if (parsed_->cas && !tls_.insecure_skip_verify) {
      SSL_CTX_set_cert_verify_callback(ssl->ssl_context(), &verify_against_configured_cas,
                                       parsed_->cas.get());
    }
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(endpoint_.host, endpoint_.port);
  }
  client->set_connection_timeout(options_.connect_timeout);
  client->set_keep_alive(keep_alive);
  // Without it a reused connection waits on Nagle and the peer's delayed ACK (40 ms) whenever a
  // request or an answer goes out in more than one write.
  client->set_tcp_nodelay(true);
  client->set_follow_location(false);
  client->set_url_encode(false);  // paths arrive escaped
  return client;
}

std::unique_ptr<httplib::ClientImpl> HttplibTransport::take_idle() {
  Idle idle;
  {
    std::lock_guard lock(idle_mu_);
    if (idle_.empty()) return nullptr;
    idle = std::move(idle_.back());  // the most recently used: the likeliest still open
    idle_.pop_back();
  }
  if (std::chrono::steady_clock::now() - idle.since > options_.max_idle_time) {
    idle.client->stop();  // closes the socket; the next send connects afresh
  }
  return std::move(idle.client);
}

void HttplibTransport::give_back(std::unique_ptr<httplib::ClientImpl> client) {
  std::unique_ptr<httplib::ClientImpl> surplus;  // closed outside the lock
  {
    std::lock_guard lock(idle_mu_);
    if (idle_.size() < options_.max_idle_connections) {
      idle_.push_back(Idle{std::move(client), std::chrono::steady_clock::now()});
    } else {
      surplus = std::move(client);
    }
  }
}

Result<HttpResponse> HttplibTransport::send(const HttpRequest& request) {
  const bool pooled = options_.max_idle_connections > 0;
  std::unique_ptr<httplib::ClientImpl> client = pooled ? take_idle() : nullptr;
  bool reused = client != nullptr;
  for (int attempt = 0;; ++attempt) {
    if (!client) {
      auto made = new_client(pooled);
      if (!made) return fail(made.error());
      client = std::move(*made);
    }
    const auto started = std::chrono::steady_clock::now();
    Exchange done = exchange(*client, request, nullptr, std::stop_token{});
    const bool quick = std::chrono::steady_clock::now() - started < request.timeout;
    if (!done.ok && reused && attempt == 0 && quick && broken_connection(done.error) &&
        replayable(request) && !done.too_large) {
      ERR_clear_error();  // what the broken connection left must not fail the next handshake
      client.reset();     // once more on a fresh connection
      reused = false;
      continue;
    }
    auto out = answer(request, done, false);
    if (pooled && done.ok) give_back(std::move(client));
    return out;
  }
}

Result<HttpResponse> HttplibTransport::stream(const HttpRequest& request,
                                              const std::function<bool(std::string_view)>& on_chunk,
                                              std::stop_token stop) {
  auto client = new_client(false);  // a watch holds a connection of its own
  if (!client) return fail(client.error());
  (*client)->set_decompress(false);  // chunks as they arrive, no gzip
  Exchange done = exchange(**client, request, &on_chunk, std::move(stop));
  return answer(request, done, true);
}

HttplibTransport::Exchange HttplibTransport::exchange(
    httplib::ClientImpl& client, const HttpRequest& request,
    const std::function<bool(std::string_view)>* on_chunk, std::stop_token stop) const {
  ERR_clear_error();  // this thread's OpenSSL errors are this exchange's alone
  client.set_read_timeout(request.timeout);
  client.set_write_timeout(request.timeout);

  httplib::Request req;
  req.method = request.method;
  req.path = request.path.empty() ? "/" : request.path;
  for (const auto& [name, value] : request.headers) req.headers.emplace(name, value);
  if (!req.has_header("User-Agent")) req.set_header("User-Agent", options_.user_agent);
  if (!request.body.empty()) {
    req.body = request.body;
    req.set_header("Content-Type",
                   request.content_type.empty() ? "application/json" : request.content_type);
  }

  Exchange done;
  // A bounded answer is read through a receiver that stops at the limit.
  if (on_chunk == nullptr && request.max_response_bytes > 0) {
    req.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
      if (done.body.size() + size > request.max_response_bytes) {
        done.too_large = true;
        return false;
      }
      done.body.append(data, size);
      return true;
    };
  }
  constexpr std::size_t kMaxErrorBody = 1 << 20;
  int seen_status = 0;
  if (on_chunk != nullptr) {
    req.response_handler = [&](const httplib::Response& res) {
      seen_status = res.status;
      if (stop.stop_requested()) {
        done.stopped_by_caller = true;
        return false;
      }
      return true;
    };
    req.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
      if (stop.stop_requested()) {
        done.stopped_by_caller = true;
        return false;
      }
      if (seen_status < 200 || seen_status >= 300) {
        if (done.body.size() < kMaxErrorBody) done.body.append(data, size);
        return true;
      }
      if (!(*on_chunk)(std::string_view(data, size))) {
        done.stopped_by_caller = true;
        return false;
      }
      return true;
    };
  }

  {
    // Shuts the in-flight socket down when the caller asks to stop (see the header).
    std::stop_callback on_stop(stop, [&client] { client.stop(); });
    done.ok = client.send(req, done.res, done.error);
  }
  if (stop.stop_requested()) done.stopped_by_caller = true;
  if (!done.ok && done.error == httplib::Error::SSLServerVerification) {
    if (const auto* ssl = dynamic_cast<const httplib::SSLClient*>(&client)) {
      done.verify_result = ssl->get_openssl_verify_result();
    }
  }
  return done;
}

Result<HttpResponse> HttplibTransport::answer(const HttpRequest& request, Exchange& done,
                                              bool streamed) const {
  const std::string where = endpoint_.to_string();
  if (done.too_large) {
    return fail("ResponseTooLarge",
                request.method + " " + where + request.path + " answered more than " +
                    std::to_string(request.max_response_bytes) +
                    " bytes; the answer was cut off and not used (is the URL the API endpoint?)");
  }

  if (!done.ok && !(done.stopped_by_caller && done.res.status > 0)) {
    if (done.stopped_by_caller) {
      return fail("Canceled", request.method + " " + where + request.path +
                                  " was stopped before the server answered");
    }
    switch (done.error) {
      case httplib::Error::SSLServerVerification: {
        ERR_clear_error();
        if (done.verify_result != X509_V_OK) {
          return fail("TLSVerifyFailed",
                      "the certificate of " + where + " is not trusted by the configured CA (" +
                          X509_verify_cert_error_string(done.verify_result) +
                          "); check the CA bundle this client trusts (a kubeconfig's "
                          "certificate-authority, "
                          "an ApiKey's caBundle for a private CA) or the server's certificate");
        }
        const std::string name = tls_.server_name.empty() ? endpoint_.host : tls_.server_name;
        return fail("TLSVerifyFailed", "the certificate of " + where + " is not valid for host '" +
                                           name +
                                           "'; connect by a name the certificate lists or set "
                                           "tls-server-name");
      }
      case httplib::Error::SSLConnection:
        return fail("TLSHandshakeFailed",
                    "TLS handshake with " + where + " failed (" + take_openssl_error() +
                        "); check that the server speaks TLS and accepts the client certificate");
      case httplib::Error::SSLLoadingCerts:
        return fail("InvalidCertificate", "cannot load the CA certificates for " + where + " (" +
                                              take_openssl_error() + ")");
      case httplib::Error::Read:
        ERR_clear_error();
        return fail("Unreachable",
                    "cannot reach " + where + ": " + describe_http_error(done.error) +
                        " (no complete answer to " + request.method + " " + request.path +
                        " within " + std::to_string(request.timeout.count()) +
                        "ms or the connection was closed); check that the server "
                        "is running and healthy");
      default:
        ERR_clear_error();
        return fail("Unreachable", "cannot reach " + where + ": " +
                                       describe_http_error(done.error) +
                                       "; check the address and that the server is running");
    }
  }

  HttpResponse out;
  out.status = done.res.status;
  for (const auto& [name, value] : done.res.headers) out.headers.emplace(name, value);
  out.body =
      streamed || request.max_response_bytes > 0 ? std::move(done.body) : std::move(done.res.body);
  if (streamed && out.status >= 200 && out.status < 300) out.body.clear();
  return out;
}

HttpTransportFactory httplib_transport_factory(HttplibTransportOptions options) {
  return [options = std::move(options)](
             const std::string& url,
             const std::string& ca_pem) -> Result<std::unique_ptr<HttpTransport>> {
    auto endpoint = HttpEndpoint::parse(url);
    if (!endpoint) return fail(endpoint.error());
    TlsClientConfig tls;
    tls.ca_pem = ca_pem;
    auto transport = HttplibTransport::create(*endpoint, std::move(tls), options);
    if (!transport) return fail(transport.error());
    return std::unique_ptr<HttpTransport>(std::move(*transport));
  };
}

}  // namespace keyward
