#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/core/http_transport_httplib.h"
#include "tests/support/test_pki.h"
#include "tests/transport/test_http_server.h"

namespace keyward {
namespace {

using keyward::testing::TestHttpServer;
using keyward::testing::TestPki;

HttpRequest get_request(std::string path) {
  HttpRequest r;
  r.path = std::move(path);
  return r;
}

TlsClientConfig trust(std::string ca_pem) {
  TlsClientConfig c;
  c.ca_pem = std::move(ca_pem);
  return c;
}

TlsClientConfig with_client(std::string ca_pem, std::string cert_pem, std::string key_pem) {
  TlsClientConfig c;
  c.ca_pem = std::move(ca_pem);
  c.client_cert_pem = std::move(cert_pem);
  c.client_key_pem = std::move(key_pem);
  return c;
}

HttpEndpoint local(const std::string& scheme, int port) {
  return HttpEndpoint{scheme, "127.0.0.1", port};
}

std::unique_ptr<HttplibTransport> make(const std::string& scheme, int port,
                                       TlsClientConfig tls = {}) {
  auto t = HttplibTransport::create(local(scheme, port), std::move(tls));
  EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().to_string());
  return t ? std::move(*t) : nullptr;
}

TEST(HttplibTransport, SendsRequestAndReturnsResponse) {
  TestHttpServer server;
  server.server().Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Seen-Agent", req.get_header_value("User-Agent"));
    res.set_header("X-Seen-Type", req.get_header_value("Content-Type"));
    res.set_header("X-Seen-Custom", req.get_header_value("X-Custom"));
    res.set_header("X-Seen-Param", req.get_param_value("a"));
    res.status = 201;
    res.set_content("got:" + req.body, "text/plain");
  });
  const int port = server.start();
  auto t = make("http", port);
  HttpRequest req;
  req.method = "POST";
  req.path = "/echo?a=b%2Fc";
  req.body = R"({"x":1})";
  req.content_type = "application/merge-patch+json";
  req.headers.emplace("X-Custom", "v1");
  auto r = t->send(req);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, R"(got:{"x":1})");
  EXPECT_EQ(r->header("x-seen-agent"), "keyward/0.1");
  EXPECT_EQ(r->header("X-Seen-Type"), "application/merge-patch+json");
  EXPECT_EQ(r->header("X-Seen-Custom"), "v1");
  EXPECT_EQ(r->header("X-Seen-Param"), "b/c");  // sent as given: escaped once, not twice
}

TEST(HttplibTransport, ErrorStatusIsAResponseNotAnError) {
  TestHttpServer server;
  server.server().Get("/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content(R"({"kind":"Status","code":404})", "application/json");
  });
  auto t = make("http", server.start());
  auto r = t->send(get_request("/missing"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, R"({"kind":"Status","code":404})");
}

// A provider answering 10 MiB: the read stops at the request's limit with a clear error, and the
// next request on the same transport works (the connection it gave up on is not reused).
TEST(HttplibTransport, ABodyPastTheLimitIsResponseTooLargeNotHeldInMemory) {
  TestHttpServer server;
  server.server().Get("/huge", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(std::size_t{10} << 20, 'x'), "application/json");
  });
  server.server().Get("/small", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"ok":true})", "application/json");
  });
  auto t = make("http", server.start());
  HttpRequest huge = get_request("/huge");
  huge.max_response_bytes = std::size_t{1} << 20;
  auto r = t->send(huge);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "ResponseTooLarge");
  EXPECT_NE(r.error().message.find(std::to_string(std::size_t{1} << 20)), std::string::npos)
      << r.error().message;
  auto small = t->send(get_request("/small"));
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_EQ(small->body, R"({"ok":true})");
}

TEST(HttplibTransport, ClosedPortIsUnreachableWithHelpfulMessage) {
  const int port = keyward::testing::closed_port();
  auto t = make("http", port);
  auto r = t->send(get_request("/"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, "Unreachable");
  EXPECT_EQ(r.error().message, "cannot reach http://127.0.0.1:" + std::to_string(port) +
                                   ": Connection; check the address and that the server is "
                                   "running");
}

TEST(HttplibTransport, ConcurrentSendsAllSucceed) {
  TestHttpServer server;
  server.server().Get(R"(/n/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.matches[1].str(), "text/plain");
  });
  auto t = make("http", server.start());
  std::atomic<int> good{0};
  {
    constexpr int kThreads = 6;
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        for (int j = 0; j < 10; ++j) {
          const std::string n = std::to_string(i * 100 + j);
          auto r = t->send(get_request("/n/" + n));
          if (r && r->status == 200 && r->body == n) good.fetch_add(1);
        }
      });
    }
  }
  EXPECT_EQ(good.load(), 60);
}

// A server whose /watch sends one chunk, then holds the connection open until released.
class HeldStream {
 public:
  explicit HeldStream(httplib::Server& server) {
    server.Get("/watch", [this](const httplib::Request&, httplib::Response& res) {
      auto step = std::make_shared<int>(0);
      res.set_chunked_content_provider(
          "application/json", [this, step](std::size_t, httplib::DataSink& sink) {
            if ((*step)++ == 0) {
              const std::string first = "{\"n\":1}\n{\"n\":";  // a line split across chunks
              sink.write(first.data(), first.size());
              return true;
            }
            if (*step == 2) {
              const std::string second = "2}\n";
              sink.write(second.data(), second.size());
              return true;
            }
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, std::chrono::seconds(10), [this] { return released_; });
            sink.done();
            return true;
          });
    });
  }
  ~HeldStream() { release(); }
  void release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;  // guards released_
  std::condition_variable cv_;
  bool released_ = false;
};

TEST(HttplibTransport, StreamDeliversChunksAsTheyArriveAndStopsPromptly) {
  TestHttpServer server;
  HeldStream held(server.server());
  auto t = make("http", server.start());

  std::mutex mu;  // guards received
  std::condition_variable cv;
  std::string received;
  std::stop_source stop;
  Result<HttpResponse> result = fail("NotRun", "");
  std::jthread streamer([&] {
    result = t->stream(
        get_request("/watch"),
        [&](std::string_view chunk) {
          std::lock_guard lock(mu);
          received.append(chunk);
          cv.notify_all();
          return true;
        },
        stop.get_token());
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] {
      return received == "{\"n\":1}\n{\"n\":2}\n";
    })) << received;
  }
  // The server still holds the stream open: only a stop request can end it now.
  const auto before = std::chrono::steady_clock::now();
  stop.request_stop();
  streamer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
  ASSERT_TRUE(result.has_value()) << result.error().to_string();
  EXPECT_EQ(result->status, 200);
  EXPECT_TRUE(result->body.empty());
  held.release();
}

TEST(HttplibTransport, StreamEndsWhenCallbackReturnsFalse) {
  TestHttpServer server;
  HeldStream held(server.server());
  auto t = make("http", server.start());
  int calls = 0;
  auto r = t->stream(
      get_request("/watch"),
      [&](std::string_view) {
        ++calls;
        return false;
      },
      std::stop_token{});
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(calls, 1);
  held.release();
}

TEST(HttplibTransport, StreamWithErrorStatusReturnsBodyAndNoChunks) {
  TestHttpServer server;
  server.server().Get("/watch", [](const httplib::Request&, httplib::Response& res) {
    res.status = 410;
    res.set_content(R"({"kind":"Status","code":410,"reason":"Expired"})", "application/json");
  });
  auto t = make("http", server.start());
  bool called = false;
  auto r = t->stream(
      get_request("/watch"),
      [&](std::string_view) {
        called = true;
        return true;
      },
      std::stop_token{});
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->status, 410);
  EXPECT_EQ(r->body, R"({"kind":"Status","code":410,"reason":"Expired"})");
  EXPECT_FALSE(called);
}

class TlsTransport : public ::testing::Test {
 protected:
  TestPki ca_ = TestPki::create("test-ca");
  TestPki other_ca_ = TestPki::create("other-ca");
};

void serve_ok(TestHttpServer& server) {
  server.server().Get("/ok", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("secure", "text/plain");
  });
}

TEST_F(TlsTransport, TrustedServerCertificateWorks) {
  auto leaf = ca_.issue("apiserver", {"IP:127.0.0.1", "DNS:localhost"}, false);
  TestHttpServer server(leaf.cert_pem, leaf.key_pem);
  serve_ok(server);
  auto t = make("https", server.start(), trust(ca_.ca_cert_pem));
  auto r = t->send(get_request("/ok"));
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->body, "secure");
}

TEST_F(TlsTransport, UntrustedServerCertificateIsTLSVerifyFailed) {
  auto leaf = other_ca_.issue("apiserver", {"IP:127.0.0.1"}, false);
  TestHttpServer server(leaf.cert_pem, leaf.key_pem);
  serve_ok(server);
  const int port = server.start();
  auto t = make("https", port, trust(ca_.ca_cert_pem));
  auto r = t->send(get_request("/ok"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, "TLSVerifyFailed");
  EXPECT_NE(r.error().message.find("https://127.0.0.1:" + std::to_string(port) +
                                   " is not trusted by the configured CA"),
            std::string::npos)
      << r.error().message;
}

TEST_F(TlsTransport, WrongHostNameIsTLSVerifyFailedAndServerNameOverrideFixesIt) {
  auto leaf = ca_.issue("apiserver", {"DNS:kubernetes.default.svc"}, false);
  TestHttpServer server(leaf.cert_pem, leaf.key_pem);
  serve_ok(server);
  const int port = server.start();
  auto plain = make("https", port, trust(ca_.ca_cert_pem));
  auto r = plain->send(get_request("/ok"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, "TLSVerifyFailed");
  EXPECT_NE(r.error().message.find("not valid for host '127.0.0.1'"), std::string::npos)
      << r.error().message;

  auto named = make("https", port, [&] {
    auto c = trust(ca_.ca_cert_pem);
    c.server_name = "kubernetes.default.svc";
    return c;
  }());
  auto r2 = named->send(get_request("/ok"));
  ASSERT_TRUE(r2.has_value()) << r2.error().to_string();
  EXPECT_EQ(r2->body, "secure");
}

TEST_F(TlsTransport, InsecureSkipVerifyAcceptsAnyCertificate) {
  auto leaf = other_ca_.issue("whatever", {"DNS:elsewhere"}, false);
  TestHttpServer server(leaf.cert_pem, leaf.key_pem);
  serve_ok(server);
  auto t = make("https", server.start(), [&] {
    auto c = trust(ca_.ca_cert_pem);
    c.insecure_skip_verify = true;
    return c;
  }());
  auto r = t->send(get_request("/ok"));
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
}

TEST_F(TlsTransport, MutualTlsNeedsTheClientCertificate) {
  auto leaf = ca_.issue("apiserver", {"IP:127.0.0.1"}, false);
  auto client = ca_.issue("keyward-operator", {}, true);
  TestHttpServer server(leaf.cert_pem, leaf.key_pem, ca_.ca_cert_pem);
  server.server().Get("/whoami", [](const httplib::Request& req, httplib::Response& res) {
    X509* peer = SSL_get1_peer_certificate(req.ssl);
    std::string cn(256, '\0');
    if (peer != nullptr) {
      const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName,
                                              cn.data(), static_cast<int>(cn.size()));
      cn.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
      X509_free(peer);
    }
    res.set_content(cn, "text/plain");
  });
  const int port = server.start();

  auto without = make("https", port, trust(ca_.ca_cert_pem));
  EXPECT_FALSE(without->send(get_request("/whoami")).has_value());

  auto with = make("https", port, with_client(ca_.ca_cert_pem, client.cert_pem, client.key_pem));
  auto r = with->send(get_request("/whoami"));
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->body, "keyward-operator");
}

TEST_F(TlsTransport, BadPemIsRejectedAtCreation) {
  auto garbage = HttplibTransport::create(local("https", 1), trust("nope"));
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().reason, "InvalidCertificate");
  EXPECT_NE(garbage.error().message.find("the CA bundle for https://127.0.0.1:1"),
            std::string::npos);

  auto a = ca_.issue("a", {}, true);
  auto b = ca_.issue("b", {}, true);
  auto mismatch =
      HttplibTransport::create(local("https", 1), with_client("", a.cert_pem, b.key_pem));
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_NE(mismatch.error().message.find("does not belong to the client certificate"),
            std::string::npos);

  auto half = HttplibTransport::create(local("https", 1), with_client("", a.cert_pem, ""));
  ASSERT_FALSE(half.has_value());
  EXPECT_NE(half.error().message.find("must be given together"), std::string::npos);

  auto badkey = HttplibTransport::create(
      local("https", 1), with_client("", a.cert_pem, "-----BEGIN PRIVATE KEY-----\nxx\n"));
  ASSERT_FALSE(badkey.has_value());
  EXPECT_EQ(badkey.error().reason, "InvalidCertificate");
  // The key material never appears in the message.
  EXPECT_EQ(badkey.error().message.find("BEGIN PRIVATE KEY"), std::string::npos);
}

// Records the client port of every request: one port per connection the client opened.
class ConnectionCounter {
 public:
  void seen(const httplib::Request& req) {
    std::lock_guard lock(mu_);
    ports_.insert(req.remote_port);
  }
  std::size_t connections() {
    std::lock_guard lock(mu_);
    return ports_.size();
  }
  // Serves GET (or POST) `path` with the body "ok", counting connections.
  void serve(httplib::Server& server, const std::string& path, bool post = false) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      seen(req);
      res.set_content("ok", "text/plain");
    };
    if (post) {
      server.Post(path, handler);
    } else {
      server.Get(path, handler);
    }
  }

 private:
  std::mutex mu_;  // guards ports_
  std::set<int> ports_;
};

TEST(HttplibTransport, SequentialSendsReuseOneConnection) {
  TestHttpServer server;
  ConnectionCounter counter;
  server.server().set_keep_alive_max_count(1000);
  counter.serve(server.server(), "/n");
  auto t = make("http", server.start());
  for (int i = 0; i < 20; ++i) {
    auto r = t->send(get_request("/n"));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(counter.connections(), 1U);
}

TEST(HttplibTransport, NoIdleConnectionsOpensOnePerRequest) {
  TestHttpServer server;
  ConnectionCounter counter;
  server.server().set_keep_alive_max_count(1000);
  counter.serve(server.server(), "/n");
  const int port = server.start();
  HttplibTransportOptions options;
  options.max_idle_connections = 0;
  auto t = HttplibTransport::create(local("http", port), {}, options);
  ASSERT_TRUE(t.has_value());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*t)->send(get_request("/n")).has_value());
  EXPECT_EQ(counter.connections(), 5U);
}

TEST_F(TlsTransport, TlsSendsReuseTheConnection) {
  auto leaf = ca_.issue("apiserver", {"IP:127.0.0.1"}, false);
  TestHttpServer server(leaf.cert_pem, leaf.key_pem);
  ConnectionCounter counter;
  server.server().set_keep_alive_max_count(1000);
  counter.serve(server.server(), "/ok");
  auto t = make("https", server.start(), trust(ca_.ca_cert_pem));
  for (int i = 0; i < 10; ++i) {
    auto r = t->send(get_request("/ok"));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->body, "ok");
  }
  EXPECT_EQ(counter.connections(), 1U);
}

// Over TLS a server's idle close is invisible to httplib (its close_notify makes the socket look
// readable): a POST on that connection would fail after it was sent. An idle connection older
// than max_idle_time is not trusted: the POST goes out on a fresh one.
TEST_F(TlsTransport, PostAfterTheServerClosedAnIdleTlsConnectionSucceeds) {
  auto leaf = ca_.issue("apiserver", {"IP:127.0.0.1"}, false);
  TestHttpServer server(leaf.cert_pem, leaf.key_pem);
  ConnectionCounter counter;
  server.server().set_keep_alive_timeout(1);
  counter.serve(server.server(), "/token", true);
  auto t = make("https", server.start(), trust(ca_.ca_cert_pem));
  HttpRequest post;
  post.method = "POST";
  post.path = "/token";
  post.body = "{}";
  ASSERT_TRUE(t->send(post).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));  // the server closes at 1 s
  auto r = t->send(post);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(counter.connections(), 2U);
}

TEST(HttplibTransport, ConnectionTheServerClosedWhileIdleIsReplaced) {
  TestHttpServer server;
  ConnectionCounter counter;
  server.server().set_keep_alive_timeout(1);  // the server drops idle connections after 1 s
  counter.serve(server.server(), "/n");
  auto t = make("http", server.start());
  ASSERT_TRUE(t->send(get_request("/n")).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto r = t->send(get_request("/n"));
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(counter.connections(), 2U);
}

// A raw HTTP/1.1 server that answers the first request on each connection with keep-alive and
// closes the connection, unanswered, on the second: a server dropping an idle connection at the
// moment the client reuses it.
class DropsSecondRequest {
 public:
  DropsSecondRequest() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listener_, 16) != 0) {
      throw std::runtime_error("DropsSecondRequest: bind failed");
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::jthread([this](const std::stop_token& stop) { serve(stop); });
  }
  ~DropsSecondRequest() {
    thread_.request_stop();
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
  }
  DropsSecondRequest(const DropsSecondRequest&) = delete;
  DropsSecondRequest& operator=(const DropsSecondRequest&) = delete;

  [[nodiscard]] int port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  void serve(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      for (int n = 0; read_request(fd); ++n) {
        requests_.fetch_add(1);
        if (n > 0) break;  // the second request: close without an answer
        const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        (void)::write(fd, ok.data(), ok.size());
      }
      ::close(fd);
    }
  }
  // Reads one request (headers and a Content-Length body); false at the end of the stream.
  static bool read_request(int fd) {
    std::string data;
    std::array<char, 4096> buf{};
    std::size_t body = std::string::npos;
    while (true) {
      const auto head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos && body == std::string::npos) {
        body = 0;
        const auto at = data.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) body = std::stoul(data.substr(at + 16));
        body += head_end + 4;
      }
      if (body != std::string::npos && data.size() >= body) return true;
      const ssize_t got = ::read(fd, buf.data(), buf.size());
      if (got <= 0) return false;
      data.append(buf.data(), static_cast<std::size_t>(got));
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::jthread thread_;
};

TEST(HttplibTransport, IdempotentRequestIsRetriedOnceWhenAReusedConnectionBreaks) {
  DropsSecondRequest server;
  auto t = make("http", server.port());
  ASSERT_TRUE(t->send(get_request("/a")).has_value());
  auto again = t->send(get_request("/b"));
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  EXPECT_EQ(again->body, "ok");
  EXPECT_EQ(server.requests(), 3);  // /a, /b dropped, /b on a fresh connection
}

TEST(HttplibTransport, PutIsNotRetriedButAnIdempotencyKeyMakesAPostReplayable) {
  {
    DropsSecondRequest server;
    auto t = make("http", server.port());
    HttpRequest put;
    put.method = "PUT";
    put.path = "/apis/x";
    put.body = "{}";
    ASSERT_TRUE(t->send(put).has_value());
    EXPECT_FALSE(t->send(put).has_value());  // may have been applied: a replay could 409
    EXPECT_EQ(server.requests(), 2);
  }
  DropsSecondRequest server;
  auto t = make("http", server.port());
  HttpRequest post;
  post.method = "POST";
  post.path = "/regenerate";
  post.body = "{}";
  post.headers.emplace("Idempotency-Key", "uid-1-rotate-2");
  ASSERT_TRUE(t->send(post).has_value());
  auto again = t->send(post);
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  EXPECT_EQ(server.requests(), 3);
}

TEST(HttplibTransport, PostIsNotRetriedWhenAReusedConnectionBreaks) {
  DropsSecondRequest server;
  auto t = make("http", server.port());
  HttpRequest post;
  post.method = "POST";
  post.path = "/token";
  post.body = "{}";
  ASSERT_TRUE(t->send(post).has_value());
  auto again = t->send(post);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().reason, "Unreachable");
  EXPECT_EQ(server.requests(), 2);  // the server may have acted on it: never sent twice
}

}  // namespace
}  // namespace keyward
