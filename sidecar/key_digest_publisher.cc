#include "sidecar/key_digest_publisher.h"

#include <algorithm>

namespace keyward::sidecar {

KeyDigestPublisher::KeyDigestPublisher(HttpTransport& broker, std::string base_path, std::string ns,
                                       std::vector<std::string> apikeys,
                                       TokenReader service_account_token, AtomicWriter& writer,
                                       Logger logger)
    : broker_(broker),
      base_path_(std::move(base_path)),
      ns_(std::move(ns)),
      apikeys_(std::move(apikeys)),
      sa_token_(std::move(service_account_token)),
      writer_(writer),
      logger_(std::move(logger)) {}

Result<nlohmann::json> KeyDigestPublisher::ask(const std::string& apikey) {
  auto sa = read_service_account_token(sa_token_, logger_.redactor());
  if (!sa) return fail(sa.error());
  HttpRequest req;
  req.method = "GET";
  req.path = base_path_ + "/v1/namespaces/" + ns_ + "/apikeys/" + apikey + "/digests";
  req.headers.emplace("Authorization", "Bearer " + *sa);
  req.headers.emplace("Accept", "application/json");
  req.max_response_bytes = kMaxProviderAnswerBytes;
  const std::string where = "the broker (GET " + req.path + ")";
  auto resp = broker_.send(req);
  if (!resp) return fail(resp.error().reason, where + ": " + resp.error().message);
  nlohmann::json body = nlohmann::json::parse(resp->body, nullptr, false);
  if (resp->status != 200) {
    const std::string reason =
        body.is_object() && body.contains("reason") && body["reason"].is_string()
            ? body["reason"].get<std::string>()
            : "HTTP" + std::to_string(resp->status);
    std::string message =
        body.is_object() && body.contains("message") && body["message"].is_string()
            ? body["message"].get<std::string>().substr(0, 400)
            : std::to_string(resp->body.size()) + " bytes";
    std::string hint;
    if (resp->status == 403) {
      hint = "; annotate the pod keyward.dev/accepts: " + apikey;
    }
    return fail(reason,
                where + " answered " + std::to_string(resp->status) + " " + reason + ": " +
                    logger_.redactor().redact(message) + hint,
                resp->status);
  }
  if (!body.is_object() || !body.contains("digests") || !body["digests"].is_array() ||
      !body.contains("keyVersion") || !body["keyVersion"].is_number_integer()) {
    return fail("InvalidBrokerAnswer", where + " answered " + std::to_string(resp->body.size()) +
                                           " bytes that are not {keyVersion, active, digests}");
  }
  for (const auto& d : body["digests"]) {
    if (!d.is_object() || !d.contains("sha256") || !d["sha256"].is_string() ||
        d["sha256"].get_ref<const std::string&>().size() != 64) {
      return fail("InvalidBrokerAnswer", where + " answered a digest that is not SHA-256 hex");
    }
  }
  return body;
}

std::vector<PayloadFile> KeyDigestPublisher::render(SystemTime now,
                                                    std::optional<SystemTime>& next_expiry) const {
  std::vector<PayloadFile> files;
  for (const std::string& apikey : apikeys_) {
    auto it = known_.find(apikey);
    if (it == known_.end()) continue;
    const nlohmann::json& answer = it->second;
    nlohmann::json digests = nlohmann::json::array();
    std::string lines;
    for (const auto& d : answer["digests"]) {
      if (d.contains("validUntil") && d["validUntil"].is_string()) {
        auto until = parse_rfc3339(d["validUntil"].get<std::string>());
        if (until && *until <= now) continue;  // its grace has ended: no longer valid
        if (until && (!next_expiry || *until < *next_expiry)) next_expiry = *until;
      }
      digests.push_back(d);
      lines += d["sha256"].get<std::string>() + "\n";
    }
    nlohmann::json j{{"apiKey", apikey},
                     {"keyVersion", answer["keyVersion"]},
                     {"active", answer.value("active", true)},
                     {"digests", std::move(digests)}};
    if (answer.contains("refused")) j["refused"] = answer["refused"];
    files.push_back({apikey + ".sha256", lines, 0640});
    files.push_back({apikey + ".json", j.dump() + "\n", 0640});
  }
  return files;
}

SystemTime KeyDigestPublisher::publish(SystemTime now, Seconds recheck) {
  std::vector<std::string> failed;
  for (const std::string& apikey : apikeys_) {
    auto answer = ask(apikey);
    std::lock_guard lock(mu_);
    if (answer) {
      known_[apikey] = std::move(*answer);
    } else if (answer.error().http_status == 403 || answer.error().http_status == 404) {
      // A definite refusal (the ApiKey is gone, or this pod may not accept it): none of its keys
      // is valid here, which fails closed, rather than the last digests kept for good.
      last_error_ = answer.error().reason + ": " + answer.error().message;
      known_[apikey] = nlohmann::json{{"keyVersion", 0},
                                      {"active", false},
                                      {"digests", nlohmann::json::array()},
                                      {"refused", answer.error().reason}};
      logger_.warn("the broker refused; no key of this ApiKey is accepted",
                   {{"apikey", apikey},
                    {"reason", answer.error().reason},
                    {"error", answer.error().message}});
    } else {
      last_error_ = answer.error().reason + ": " + answer.error().message;
      failed.push_back(apikey);
      logger_.warn(known_.count(apikey) ? "the broker did not answer; keeping the last digests"
                                        : "the broker did not answer; no digests yet",
                   {{"apikey", apikey},
                    {"reason", answer.error().reason},
                    {"error", answer.error().message}});
    }
  }
  std::lock_guard lock(mu_);
  if (failed.empty()) last_error_.clear();
  std::optional<SystemTime> next_expiry;
  std::vector<PayloadFile> files = render(now, next_expiry);
  const bool complete = known_.size() == apikeys_.size();
  const bool changed = files.size() != written_.size() ||
                       !std::equal(files.begin(), files.end(), written_.begin(),
                                   [](const PayloadFile& a, const PayloadFile& b) {
                                     return a.name == b.name && a.content == b.content;
                                   });
  if (complete && (changed || !written_once_)) {
    if (auto s = writer_.write(files); s) {
      written_ = std::move(files);
      written_once_ = true;
      logger_.info("published the digests of the valid keys", {{"apikeys", apikeys_}});
    } else {
      last_error_ = s.error().reason + ": " + s.error().message;
      logger_.warn("could not write the digest files; the previous ones stay",
                   {{"reason", s.error().reason}, {"error", s.error().message}});
      return now + std::min(recheck, Seconds(5));
    }
  }
  SystemTime next = now + recheck;
  if (next_expiry && *next_expiry < next) next = *next_expiry;
  return next;
}

Status KeyDigestPublisher::ready() const {
  std::lock_guard lock(mu_);
  if (written_once_) return ok();
  return fail("NoDigests", last_error_.empty()
                               ? std::string("the digests have not been fetched yet")
                               : "no digests yet: " + last_error_);
}

}  // namespace keyward::sidecar
