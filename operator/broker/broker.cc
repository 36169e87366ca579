#include "operator/broker/broker.h"

#include "operator/apikey/names.h"
#include "operator/broker/pod_version_recorder.h"

namespace keyward::broker {

Broker::Broker(kube::KubeApi& api, OperatorView view, Clock& clock, Random& random,
               MetricsRegistry& metrics, Logger logger, HttpTransportFactory transports,
               const BrokerConfig& config)
    : api_(api),
      view_(std::move(view)),
      logger_(std::move(logger)),
      session_store_(view_.sealer != nullptr
                         ? std::make_unique<SecretSessionStore>(api, *view_.sealer,
                                                                logger_.child("session-store"))
                         : nullptr),
      sessions_(view_.apikeys, view_.secrets,
                SessionDeps{clock, random, metrics, logger_.child("session"), std::move(transports),
                            config.refresher, &budgets_, &view_.provider_states,
                            [this](const std::string& key) { view_.request_reconcile(key); },
                            view_.sealer, session_store_.get()}),
      live_gate_(view_.apikeys, api, clock),
      reviewer_(api, clock, metrics, logger_.child("review"), config.review),
      service_(
          reviewer_,
          [this](const std::string& ns, const std::string& name) { return find_pod(ns, name); },
          [this](const kube::Object& pod, std::int64_t version) {
            return record_pod_key_version(api_, pod, version);
          },
          sessions_, view_.last_used, clock, metrics, logger_.child("service"), config.service),
      cert_source_(config.cert_file, config.key_file),
      certificates_(cert_source_, logger_.child("certificates")),
      server_(config.server, certificates_, clock, logger_.child("server")) {
  for (const char* method : {"GET", "PUT", "POST"}) {
    server_.add_route({method, "/v1/.*", [this](const HttpRequest& req, const std::string& client) {
                         return service_.handle(req, client);
                       }});
  }
  server_.add_route({"GET", "/healthz", [](const HttpRequest&, const std::string&) {
                       HttpResponse res;
                       res.status = 200;
                       res.body = "ok";
                       res.headers.emplace("Content-Type", "text/plain");
                       res.headers.emplace("Cache-Control", "no-store");
                       return res;
                     }});
  wire_service();
}

Broker::~Broker() { stop(); }

Result<std::optional<kube::Object>> Broker::find_pod(const std::string& ns,
                                                     const std::string& name) {
  if (auto cached = view_.pods.get(ns + "/" + name)) return std::optional(*cached);
  // A pod the cache has not seen yet (it just started): ask the API.
  auto pod = api_.get(kube::ResourceType::pods(), ns, name);
  if (!pod) {
    if (pod.error().http_status == 404) return std::optional<kube::Object>();
    return fail(pod.error());
  }
  return std::optional(std::move(*pod));
}

void Broker::set_leading(bool leading) {
  logger_.info(leading ? "leading: starting upstream sessions"
                       : "not leading: upstream sessions stopped, tokens wiped");
  sessions_.set_leading(leading);
}

void Broker::wire_service() {
  service_.set_on_last_used([this](const std::string& key) { view_.request_reconcile(key); });
  service_.set_live_gate([this](const std::string& ns, const std::string& name) {
    return live_gate_.check(ns, name);
  });
  service_.set_key_lookup([this](const std::string& ns, const std::string& name) {
    return deliver_key(view_.apikeys, view_.secrets, view_.sealer, logger_.redactor(), ns, name,
                       exchange_keys_delivered_);
  });
  service_.set_key_verifier([this](const std::string& ns, const std::string& name,
                                   const std::string& presented, SystemTime now) {
    return verify_key(view_.apikeys, view_.secrets, view_.sealer, logger_.redactor(), ns, name,
                      presented, now);
  });
  service_.set_digest_lookup(
      [this](const std::string& ns, const std::string& name, SystemTime now) {
        return valid_keys(view_.apikeys, view_.secrets, view_.sealer, logger_.redactor(), ns, name,
                          now);
      });
  service_.set_key_versions([this](const std::string& ns, const std::string& name,
                                   SystemTime now) -> std::optional<apikey::KeyVersions> {
    auto secret = view_.secrets.get(ns + "/" + apikey::secret_name_for(name));
    if (!secret) return std::nullopt;
    return apikey::key_versions(*secret, now);
  });
}

Status Broker::start() { return server_.start(); }

void Broker::stop() {
  server_.stop();
  sessions_.stop_all();
}

}  // namespace keyward::broker
