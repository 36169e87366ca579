#include "operator/broker/token_reviewer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace keyward::broker {

namespace {

kube::ResourceType token_reviews() {
  return {"authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false};
}

std::string first_extra(const nlohmann::json& extra, const char* name) {
  if (!extra.is_object() || !extra.contains(name)) return "";
  const auto& v = extra[name];
  if (v.is_array() && !v.empty() && v[0].is_string()) return v[0].get<std::string>();
  if (v.is_string()) return v.get<std::string>();
  return "";
}

}  // namespace

TokenReviewer::TokenReviewer(kube::KubeApi& api, const Clock& clock, MetricsRegistry& metrics,
                             Logger logger, TokenReviewOptions options)
    : api_(api),
      clock_(clock),
      logger_(std::move(logger)),
      options_(std::move(options)),
      reviews_(metrics.counter("keyward_broker_token_reviews_total",
                               "TokenReviews the broker created, by result "
                               "(authenticated, rejected, error); cached answers not counted")) {}

std::string TokenReviewer::token_hash(const std::string& token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), digest.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::size_t TokenReviewer::cache_size() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

Result<ReviewedCaller> TokenReviewer::review(const std::string& token) {
  const std::string hash = token_hash(token);
  const SystemTime now = clock_.now();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(hash); it != cache_.end()) {
      if (it->second.expires > now) return it->second.caller;
      cache_.erase(it);
    }
  }
  nlohmann::json spec{{"token", token}};
  if (!options_.audiences.empty()) spec["audiences"] = options_.audiences;
  const nlohmann::json body{{"apiVersion", "authentication.k8s.io/v1"},
                            {"kind", "TokenReview"},
                            {"metadata", nlohmann::json::object()},
                            {"spec", spec}};
  auto answer = api_.create(token_reviews(), "", body);
  if (!answer) {
    reviews_.inc({{"result", "error"}});
    return fail("ReviewUnavailable",
                "the API server did not answer the TokenReview (" + answer.error().reason +
                    "); check the operator's RBAC (create tokenreviews) and the API server",
                answer.error().http_status);
  }
  ReviewedCaller caller;
  const auto status = answer->value("status", nlohmann::json::object());
  caller.authenticated = status.value("authenticated", false);
  caller.error = status.value("error", "");
  if (caller.authenticated && !options_.audiences.empty()) {
    // The API server says which of the requested audiences the token is valid for; a token for
    // none of them (an API server that ignores spec.audiences) is not a broker token.
    bool match = false;
    if (status.contains("audiences") && status["audiences"].is_array()) {
      for (const auto& a : status["audiences"])
        if (a.is_string() && std::find(options_.audiences.begin(), options_.audiences.end(),
                                       a.get<std::string>()) != options_.audiences.end())
          match = true;
    }
    if (!match) {
      caller.authenticated = false;
      caller.error = "the token is not valid for the broker's audience (" +
                     options_.audiences.front() +
                     "); the sidecar must send the projected token the webhook mounts";
    }
  }
  if (caller.authenticated) {
    const auto user = status.value("user", nlohmann::json::object());
    caller.username = user.value("username", "");
    caller.uid = user.value("uid", "");
    if (user.contains("groups") && user["groups"].is_array()) {
      for (const auto& g : user["groups"])
        if (g.is_string()) caller.groups.push_back(g.get<std::string>());
    }
    const auto extra = user.value("extra", nlohmann::json::object());
    caller.pod_name = first_extra(extra, "authentication.kubernetes.io/pod-name");
    caller.pod_uid = first_extra(extra, "authentication.kubernetes.io/pod-uid");
  }
  reviews_.inc({{"result", caller.authenticated ? "authenticated" : "rejected"}});
  std::lock_guard lock(mu_);
  if (cache_.size() >= options_.max_entries) {
    // Drop expired entries first, then the one closest to expiry.
    std::erase_if(cache_, [&](const auto& e) { return e.second.expires <= now; });
    if (cache_.size() >= options_.max_entries) {
      auto oldest = cache_.begin();
      for (auto it = cache_.begin(); it != cache_.end(); ++it)
        if (it->second.expires < oldest->second.expires) oldest = it;
      cache_.erase(oldest);
    }
  }
  cache_[hash] =
      Entry{caller, now + (caller.authenticated ? options_.positive_ttl : options_.negative_ttl)};
  return caller;
}

}  // namespace keyward::broker
