#include "operator/apikey/key_source.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/support/scripted_transport.h"

namespace keyward::apikey {
namespace {

using kube::Object;

// Holds Secrets by "ns/name"; every other verb is a test failure.
class FakeSecrets final : public kube::KubeApi {
 public:
  std::map<std::string, Object> secrets;
  std::optional<Error> next_error;

  Result<Object> get(const kube::ResourceType& type, const std::string& ns,
                     const std::string& name) override {
    EXPECT_EQ(type.plural, "secrets");
    if (next_error) return fail(*next_error);
    auto it = secrets.find(ns + "/" + name);
    if (it == secrets.end()) {
      return fail("NotFound", "get secrets " + ns + "/" + name + ": not found", 404);
    }
    return it->second;
  }
  Result<kube::ObjectList> list(const kube::ResourceType&, const std::string&,
                                const kube::ListOptions&) override {
    return unexpected();
  }
  Result<Object> create(const kube::ResourceType&, const std::string&, const Object&) override {
    return unexpected();
  }
  Result<Object> update(const kube::ResourceType&, const Object&) override { return unexpected(); }
  Result<Object> update_status(const kube::ResourceType&, const Object&) override {
    return unexpected();
  }
  Result<Object> patch(const kube::ResourceType&, const std::string&, const std::string&,
                       kube::PatchType, const Object&, bool) override {
    return unexpected();
  }
  Status remove(const kube::ResourceType&, const std::string&, const std::string&,
                const kube::DeleteOptions&) override {
    return unexpected();
  }
  Result<Object> create_subresource(const kube::ResourceType&, const std::string&,
                                    const std::string&, const std::string&,
                                    const Object&) override {
    return unexpected();
  }
  Status watch(const kube::ResourceType&, const std::string&, const kube::ListOptions&,
               const std::function<bool(const kube::WatchEvent&)>&, std::stop_token) override {
    return unexpected();
  }
  Result<Object> get_path(const std::string&) override { return unexpected(); }

 private:
  static std::unexpected<Error> unexpected() {
    ADD_FAILURE() << "key sources only read Secrets";
    return fail("Unexpected", "not part of this fake");
  }
};

constexpr const char* kCurrentKey = "nt_CURRENTcurrentCURRENTcurrent0001";
constexpr const char* kNewKey = "nt_NEWnewNEWnewNEWnewNEWnewNEWnew0002";

KeyRequest request() {
  return KeyRequest{"bots", "alpha-bot", std::string(kCurrentKey), "uid-123-8"};
}

// ---- generate ----

TEST(GeneratedKeySource, GeneratesAndRegistersTheKey) {
  OpenSslKeyGenerator generator;
  Redactor redactor;
  GeneratedKeySource source(generator, GenerateSource{"nt_", 40, Alphabet::Base62}, redactor);
  auto key = source.obtain(request());
  ASSERT_TRUE(key);
  EXPECT_TRUE(key->api_key.starts_with("nt_"));
  EXPECT_TRUE(key->api_secret.empty());
  EXPECT_EQ(redactor.redact("x " + key->api_key + " y"), "x [REDACTED] y");
}

// ---- secretRef ----

TEST(SecretRefKeySource, ReadsAndDecodesTheUserSecret) {
  FakeSecrets api;
  // "user-key-0123456789" in base64.
  api.secrets["bots/alpha-login"] = {{"data", {{"apiKey", "dXNlci1rZXktMDEyMzQ1Njc4OQ=="}}}};
  Redactor redactor;
  SecretRefKeySource source(api, SecretRefSource{"alpha-login", "apiKey", "", ""}, redactor);
  auto key = source.obtain(request());
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->api_key, "user-key-0123456789");
  EXPECT_EQ(redactor.redact("user-key-0123456789"), "[REDACTED]");
}

TEST(SecretRefKeySource, DecodesEveryPaddingLength) {
  FakeSecrets api;
  api.secrets["bots/s"] = {{"data", {{"a", "YWJjZA=="}, {"b", "YWJjZGU="}, {"c", "YWJjZGVm"}}}};
  Redactor redactor;
  EXPECT_EQ(SecretRefKeySource(api, {"s", "a", "", ""}, redactor).obtain(request())->api_key,
            "abcd");
  EXPECT_EQ(SecretRefKeySource(api, {"s", "b", "", ""}, redactor).obtain(request())->api_key,
            "abcde");
  EXPECT_EQ(SecretRefKeySource(api, {"s", "c", "", ""}, redactor).obtain(request())->api_key,
            "abcdef");
}

TEST(SecretRefKeySource, MissingSecretKeyOrBadBase64AreClearErrors) {
  FakeSecrets api;
  api.secrets["bots/s"] = {{"data", {{"other", "YWJj"}, {"bad", "not*base64!"}, {"empty", ""}}}};
  Redactor redactor;
  auto missing_secret =
      SecretRefKeySource(api, {"nope", "apiKey", "", ""}, redactor).obtain(request());
  ASSERT_FALSE(missing_secret);
  EXPECT_EQ(missing_secret.error().reason, "SourceSecretNotFound");
  EXPECT_NE(missing_secret.error().message.find("Secret bots/nope"), std::string::npos);

  auto missing_key = SecretRefKeySource(api, {"s", "apiKey", "", ""}, redactor).obtain(request());
  ASSERT_FALSE(missing_key);
  EXPECT_EQ(missing_key.error().reason, "SourceSecretKeyMissing");
  EXPECT_NE(missing_key.error().message.find("no data key \"apiKey\""), std::string::npos);

  auto bad = SecretRefKeySource(api, {"s", "bad", "", ""}, redactor).obtain(request());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("not valid base64"), std::string::npos);

  auto empty = SecretRefKeySource(api, {"s", "empty", "", ""}, redactor).obtain(request());
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("is empty"), std::string::npos);
}

TEST(SecretRefKeySource, ApiErrorsKeepTheirReason) {
  FakeSecrets api;
  api.next_error = Error{"Forbidden", "get secrets bots/s: forbidden", 403};
  Redactor redactor;
  auto r = SecretRefKeySource(api, {"s", "apiKey", "", ""}, redactor).obtain(request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "Forbidden");
  EXPECT_EQ(r.error().http_status, 403);
}

// ---- http ----

HttpSource http_spec() {
  return HttpSource{"https://provider.example/v1/keys/regenerate?account=7",
                    "POST",
                    "apiKey",
                    "Authorization",
                    "Bearer",
                    "",
                    "",
                    "",
                    "",
                    "POST"};
}

TEST(HttpKeySource, SendsTheCurrentKeyAndIdempotencyKeyAndReadsTheNewKey) {
  testing::ScriptedTransport transport;
  transport.push(200, std::string(R"({"apiKey":")") + kNewKey + R"(","expires":"never"})");
  Redactor redactor;
  HttpKeySource source(transport, http_spec(), redactor);
  auto key = source.obtain(request());
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->api_key, kNewKey);
  const auto sent = transport.requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].path, "/v1/keys/regenerate?account=7");
  EXPECT_EQ(sent[0].headers.find("authorization")->second, std::string("Bearer ") + kCurrentKey);
  EXPECT_EQ(sent[0].headers.find("Idempotency-Key")->second, "uid-123-8");
  EXPECT_EQ(sent[0].headers.find("Accept")->second, "application/json");
  // Both keys are registered for redaction.
  EXPECT_EQ(redactor.redact(std::string(kCurrentKey) + " " + kNewKey), "[REDACTED] [REDACTED]");
}

TEST(HttpKeySource, RetrySendsTheSameIdempotencyKey) {
  testing::ScriptedTransport transport;
  transport.push_error("Unreachable", "connection reset");
  transport.push(200, std::string(R"({"apiKey":")") + kNewKey + R"("})");
  Redactor redactor;
  HttpKeySource source(transport, http_spec(), redactor);
  EXPECT_FALSE(source.obtain(request()));
  EXPECT_TRUE(source.obtain(request()));
  const auto sent = transport.requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].headers.find("Idempotency-Key")->second,
            sent[1].headers.find("Idempotency-Key")->second);
}

TEST(HttpKeySource, DottedResponseFieldBareSchemeAndCustomHeader) {
  testing::ScriptedTransport transport;
  transport.push(200, std::string(R"({"data":{"key":")") + kNewKey + R"("}})");
  Redactor redactor;
  HttpKeySource source(
      transport,
      HttpSource{"https://p.example", "PUT", "data.key", "X-Api-Key", "", "", "", "", "", "POST"},
      redactor);
  auto key = source.obtain(request());
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->api_key, kNewKey);
  const auto sent = transport.requests();
  EXPECT_EQ(sent[0].method, "PUT");
  EXPECT_EQ(sent[0].path, "/");
  EXPECT_EQ(sent[0].headers.find("X-Api-Key")->second, kCurrentKey);
}

TEST(HttpKeySource, NoCurrentKeyIsAnError) {
  testing::ScriptedTransport transport;
  Redactor redactor;
  HttpKeySource source(transport, http_spec(), redactor);
  KeyRequest r = request();
  r.current_key.reset();
  auto key = source.obtain(r);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().reason, "NoCurrentKey");
  EXPECT_TRUE(transport.requests().empty());
}

struct BadAnswer {
  const char* name;
  int status;
  std::string body;
  std::string content_type;
  const char* reason;
  const char* fragment;
};
void PrintTo(const BadAnswer& a, std::ostream* os) { *os << a.name; }

class HttpKeySourceRejects : public ::testing::TestWithParam<BadAnswer> {};

TEST_P(HttpKeySourceRejects, WithAClearErrorThatHoldsNoKeyMaterial) {
  const BadAnswer& a = GetParam();
  testing::ScriptedTransport transport;
  transport.push(a.status, a.body, a.content_type);
  Redactor redactor;
  HttpKeySource source(transport, http_spec(), redactor);
  auto key = source.obtain(request());
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().reason, a.reason);
  EXPECT_NE(key.error().message.find(a.fragment), std::string::npos) << key.error().message;
  EXPECT_NE(key.error().message.find("provider.example"), std::string::npos);
  // Neither the current key nor any new key the body carried shows up in the error.
  const std::string text = key.error().to_string();
  EXPECT_EQ(text.find(kCurrentKey), std::string::npos) << text;
  EXPECT_EQ(text.find(kNewKey), std::string::npos) << text;
  EXPECT_EQ(text.find("NEWnew"), std::string::npos) << text;
  EXPECT_EQ(text.find("CURRENTcurrent"), std::string::npos) << text;
}

INSTANTIATE_TEST_SUITE_P(
    Answers, HttpKeySourceRejects,
    ::testing::Values(
        BadAnswer{"Html", 200, "<html><body>Login " + std::string(kNewKey) + "</body></html>",
                  "text/html", "KeySourceInvalidResponse",
                  "not a JSON object (content type \"text/html\")"},
        BadAnswer{"Garbage", 200, "\x01\x02 garbage " + std::string(kNewKey),
                  "application/octet-stream", "KeySourceInvalidResponse", "not a JSON object"},
        BadAnswer{"JsonArray", 200, "[\"" + std::string(kNewKey) + "\"]", "application/json",
                  "KeySourceInvalidResponse", "not a JSON object"},
        BadAnswer{"FieldUnderAnotherName", 200, R"({"api_key":")" + std::string(kNewKey) + "\"}",
                  "application/json", "KeySourceInvalidResponse",
                  "without a non-empty string at \"apiKey\""},
        BadAnswer{"FieldNotAString", 200, R"({"apiKey":12345})", "application/json",
                  "KeySourceInvalidResponse", "without a non-empty string"},
        BadAnswer{"FieldEmpty", 200, R"({"apiKey":""})", "application/json",
                  "KeySourceInvalidResponse", "without a non-empty string"},
        BadAnswer{"Unauthorized", 401,
                  R"({"message":"key )" + std::string(kCurrentKey) + R"( is revoked"})",
                  "application/json", "KeySourceRejected", "answered HTTP 401"},
        BadAnswer{"ServerErrorHtml", 502, "<html>" + std::string(kNewKey) + "</html>", "text/html",
                  "KeySourceRejected", "answered HTTP 502; the current key stays in force"}),
    [](const ::testing::TestParamInfo<BadAnswer>& p) { return p.param.name; });

TEST(HttpKeySource, RejectionShowsTheProviderMessageRedacted) {
  testing::ScriptedTransport transport;
  transport.push(401, std::string(R"({"message":"key )") + kCurrentKey + R"( is revoked"})");
  Redactor redactor;
  HttpKeySource source(transport, http_spec(), redactor);
  auto key = source.obtain(request());
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().http_status, 401);
  EXPECT_NE(key.error().message.find("(\"key [REDACTED] is revoked\")"), std::string::npos)
      << key.error().message;
}

TEST(HttpKeySource, HostileProviderTextCannotBreakJsonSerialisation) {
  testing::ScriptedTransport transport;
  HttpResponse r;
  r.status = 500;
  r.body = std::string(R"({"message":"bad \u00e9)") + std::string(300, 'x') + "\"}";
  r.headers.emplace("Content-Type", std::string("text/\xff\xfe", 7));
  transport.push(r);
  r.status = 200;
  r.body = "not json";
  transport.push(r);
  Redactor redactor;
  HttpKeySource source(transport, http_spec(), redactor);
  auto first = source.obtain(request());
  ASSERT_FALSE(first);
  EXPECT_NE(first.error().message.find("..."), std::string::npos);  // the provider text was cut
  auto second = source.obtain(request());
  ASSERT_FALSE(second);
  EXPECT_NO_THROW((void)nlohmann::json(first.error().message).dump());
  EXPECT_NO_THROW((void)nlohmann::json(second.error().message).dump());
}

TEST(HttpKeySource, TransportFailureIsUnreachable) {
  testing::ScriptedTransport transport;
  transport.push_error("Unreachable", "connect to provider.example:443 failed");
  Redactor redactor;
  HttpKeySource source(transport, http_spec(), redactor);
  auto key = source.obtain(request());
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().reason, "KeySourceUnreachable");
}

// ---- factory ----

TEST(MakeKeySource, PicksTheImplementationForTheSource) {
  OpenSslKeyGenerator generator;
  FakeSecrets api;
  testing::ScriptedTransport transport;
  Redactor redactor;
  KeySourceDeps deps{generator, api, &transport, redactor};
  auto g = make_key_source(GenerateSource{}, deps);
  ASSERT_TRUE(g);
  EXPECT_NE(dynamic_cast<GeneratedKeySource*>(g->get()), nullptr);
  auto s = make_key_source(SecretRefSource{"s", "apiKey", "", ""}, deps);
  ASSERT_TRUE(s);
  EXPECT_NE(dynamic_cast<SecretRefKeySource*>(s->get()), nullptr);
  auto h = make_key_source(http_spec(), deps);
  ASSERT_TRUE(h);
  EXPECT_NE(dynamic_cast<HttpKeySource*>(h->get()), nullptr);
  KeySourceDeps no_http{generator, api, nullptr, redactor};
  EXPECT_FALSE(make_key_source(http_spec(), no_http));
}

}  // namespace
}  // namespace keyward::apikey
