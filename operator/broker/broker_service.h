#pragma once
// BrokerService: the broker API (docs/contracts.md, "Token broker") as a function from a
// request to a response, with no HTTP library (Broker puts it on HttpsServer).
//
//   GET /v1/namespaces/{ns}/apikeys/{name}/token   Authorization: Bearer <pod SA token>
//     200 {"accessToken","mdAccessToken"?,"expirationTime","keyVersion","provider","active"}
//     400 malformed path          401 no or unknown bearer token (TokenReview said no)
//     403 the pod may not use the key (reason says why: authorizer.h)
//     404 no such ApiKey          409 {"reason":"Inactive"} | {"reason":"NoExchange"}
//     429 too many requests from one address (Retry-After)
//     503 + Retry-After: no token yet, a standby replica, or the API server did not answer
//   GET /v1/namespaces/{ns}/apikeys/{name}/key   (direct mode: the key material, opened)
//     200 {"keyVersion","active","fields":{"apiKey",...}}; fields is empty while inactive
//     404 no such ApiKey   409 KeyNotDelivered: a broker-mode key (its pods get tokens only)
//     503 + Retry-After: the key Secret is not there or cannot be opened
//   POST /v1/namespaces/{ns}/apikeys/{name}/verify   {"key": "..."}   (a service accepting the
//     ApiKey's keys, its pod annotated keyward.dev/accepts: <name>)
//     200 {"valid": true, "keyVersion", "current"} | {"valid": false, "reason", "message"};
//     a valid key counts as a use (lastUsedTime)
//   PUT /v1/namespaces/{ns}/apikeys/{name}/key-version   {"keyVersion": N}   (direct mode)
//     204 the pod has a recorded key version (this one, or an earlier one that stays)
//     400 a body without a non-negative integer keyVersion; else as above
// Every answer is JSON with Cache-Control: no-store. Serving never calls the provider: it reads
// the session's current token. A 200 records the fetch in apikey::LastUsedTimes.
//
// The key version a pod runs (docs/contracts.md): the first token served to a pod, or the first
// version a direct-mode sidecar reports, is recorded on the pod (annotation
// keyward.dev/key-version) through a PodVersionRecorder before the answer goes out; later ones
// never change it. When the recording fails the caller gets 503 RecordingKeyVersion and asks
// again, so no pod runs on a version nobody recorded. A pod without a recorded version gets no
// token older than the session's key (503 NewKeyPending while the session logs in with a
// rotated key): a new pod always starts on the current key.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "common/core/clock.h"
#include "common/core/http_transport.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "operator/apikey/key_secret.h"
#include "operator/apikey/last_used.h"
#include "operator/broker/authorizer.h"
#include "operator/broker/key_delivery.h"
#include "operator/broker/session_manager.h"
#include "operator/broker/token_reviewer.h"

namespace keyward::broker {

struct BrokerServiceOptions {
  // Per client address: a token bucket of `burst` requests refilled at `per_minute`. A sidecar
  // asks about once per token lifetime; the limit only stops a runaway or hostile client.
  int per_minute = 60;
  int burst = 20;
  // Verifiers (verify, digests) have a bucket of their own: a gateway checks a key per client
  // connection, far more often than a sidecar fetches, and must not starve a bot sharing its
  // address (or be starved by one).
  int verify_per_minute = 6000;
  int verify_burst = 200;
  std::size_t max_clients = 10000;  // addresses tracked; idle ones are dropped first
  Seconds retry_no_token{5};
  Seconds retry_standby{1};
};

// Records `version` on `pod` (as looked up) when it carries none. Error: not recorded (a
// conflict with a newer copy of the pod, or the API did not answer): the caller retries.
using PodVersionRecorder = std::function<Status(const kube::Object& pod, std::int64_t version)>;

class BrokerService {
 public:
  BrokerService(TokenReviewer& reviewer, PodLookup pods, PodVersionRecorder recorder,
                const SessionManager& sessions, apikey::LastUsedTimes& last_used,
                const Clock& clock, MetricsRegistry& metrics, Logger logger,
                BrokerServiceOptions options = {});

  // Live and demo never mix (live_gate.h): checked after authorization; none: not checked.
  void set_live_gate(std::function<Status(const std::string& ns, const std::string& name)> gate) {
    live_gate_ = std::move(gate);
  }

  // The key versions of an ApiKey valid at `now` (the key Secret's; nullopt: not known). A
  // direct-mode report of a newer version is refused (a pod cannot claim a key that does not
  // exist yet), a token of a revoked version is never served, and a sidecar that says it holds a
  // revoked version (header X-Keyward-Key-Version) and cannot be given a current one is told
  // 410 KeyVersionRevoked, so it withdraws what it holds.
  using KeyVersionsLookup = std::function<std::optional<apikey::KeyVersions>(
      const std::string& ns, const std::string& name, SystemTime now)>;
  void set_key_versions(KeyVersionsLookup versions) { key_versions_ = std::move(versions); }

  // The key material of an ApiKey for a direct-mode sidecar (key_delivery.h); none: GET .../key
  // answers 404.
  void set_key_lookup(
      std::function<Result<DeliveredKey>(const std::string& ns, const std::string& name)> lookup) {
    key_lookup_ = std::move(lookup);
  }

  // The check behind POST .../verify (key_delivery.h); none: it answers 404.
  void set_key_verifier(
      std::function<Result<KeyVerdict>(const std::string& ns, const std::string& name,
                                       const std::string& presented, SystemTime now)>
          verifier) {
    key_verifier_ = std::move(verifier);
  }

  // The digests behind GET .../digests (key_delivery.h), for pods that accept the ApiKey's keys;
  // none: it answers 404.
  void set_digest_lookup(std::function<Result<ValidKeys>(const std::string& ns,
                                                         const std::string& name, SystemTime now)>
                             lookup) {
    digest_lookup_ = std::move(lookup);
  }

  // on_published: called with the key when its published last-used time moved.
  void set_on_last_used(std::function<void(const std::string& key)> on_published) {
    on_last_used_ = std::move(on_published);
  }

  HttpResponse handle(const HttpRequest& request, const std::string& client_address);

 private:
  HttpResponse answer(int status, const nlohmann::json& body, Seconds retry_after = Seconds(0));
  HttpResponse refuse(int status, const std::string& reason, const std::string& message,
                      Seconds retry_after = Seconds(0));
  bool allow(const std::string& bucket, int per_minute, int burst, SystemTime now);
  // Authentication and authorization shared by both endpoints: the caller's pod, or the refusal.
  std::variant<kube::Object, HttpResponse> admit(const HttpRequest& request,
                                                 const std::string& client, const std::string& ns,
                                                 const std::string& name, SystemTime now,
                                                 CallerRole role = CallerRole::Consumer);
  // The pod's recorded version, or nullopt; a 503 answer when recording `version` failed.
  std::optional<HttpResponse> record_first_version(const kube::Object& pod, const std::string& key,
                                                   std::int64_t version);
  // The 410 for a caller that holds a revoked version and gets no current one; nullopt otherwise.
  std::optional<HttpResponse> revoked_refusal(const HttpRequest& request, const std::string& ns,
                                              const std::string& name, SystemTime now);
  HttpResponse serve_token(const HttpRequest& request, const kube::Object& pod,
                           const std::string& ns, const std::string& name, SystemTime now);
  HttpResponse take_report(const HttpRequest& request, const kube::Object& pod,
                           const std::string& key);
  HttpResponse serve_key(const HttpRequest& request, const kube::Object& pod, const std::string& ns,
                         const std::string& name, SystemTime now);
  HttpResponse verify(const HttpRequest& request, const std::string& ns, const std::string& name,
                      SystemTime now);
  HttpResponse serve_digests(const std::string& ns, const std::string& name, SystemTime now);

  TokenReviewer& reviewer_;
  PodLookup pods_;
  PodVersionRecorder recorder_;
  const SessionManager& sessions_;
  apikey::LastUsedTimes& last_used_;
  const Clock& clock_;
  Logger logger_;
  BrokerServiceOptions options_;
  Counter& requests_;
  Gauge& last_used_gauge_;
  std::function<void(const std::string&)> on_last_used_;
  std::function<Status(const std::string&, const std::string&)> live_gate_;
  KeyVersionsLookup key_versions_;
  std::function<Result<DeliveredKey>(const std::string&, const std::string&)> key_lookup_;
  std::function<Result<KeyVerdict>(const std::string&, const std::string&, const std::string&,
                                   SystemTime)>
      key_verifier_;
  std::function<Result<ValidKeys>(const std::string&, const std::string&, SystemTime)>
      digest_lookup_;
  struct Bucket {
    double tokens = 0;
    SystemTime at{};
    int per_minute = 60;  // its own refill rate and size (consumer or verifier)
    int burst = 20;
  };
  std::mutex buckets_mu_;  // guards buckets_
  std::map<std::string, Bucket> buckets_;
};

}  // namespace keyward::broker
