#include "operator/webhook/webhook.h"

#include <fstream>
#include <set>
#include <sstream>

#include "common/core/yaml_json.h"

namespace keyward::webhook {
namespace {

using nlohmann::json;

Status invalid(const std::string& what) {
  return fail("InvalidWebhookConfig",
              "webhook settings: " + what + "; check the chart's webhook-config ConfigMap");
}

}  // namespace

Result<WebhookSettings> parse_webhook_settings(const std::string& yaml_text) {
  auto docs = load_yaml_documents(yaml_text);
  if (!docs) return fail("InvalidWebhookConfig", "webhook settings: " + docs.error().message);
  if (docs->empty()) return fail(invalid("the file is empty").error());
  auto parsed = yaml_to_json(docs->front());
  if (!parsed) return fail(parsed.error());
  const json& j = *parsed;
  if (!j.is_object()) return fail(invalid("expected a mapping at the top level").error());

  static const std::set<std::string> kKnown = {"listen",
                                               "certFile",
                                               "keyFile",
                                               "sidecarImage",
                                               "imagePullPolicy",
                                               "mode",
                                               "brokerUrl",
                                               "tokenVolumeSize",
                                               "statusPort",
                                               "resources",
                                               "reloadIntervalSeconds",
                                               "brokerCaFile"};
  for (const auto& [key, value] : j.items()) {
    if (!kKnown.contains(key)) return fail(invalid("unknown key '" + key + "'").error());
  }
  WebhookSettings s;
  auto str = [&](const char* key, std::string& out) -> Status {
    if (!j.contains(key)) return ok();
    if (!j[key].is_string()) return invalid(std::string("'") + key + "' must be a string");
    out = j[key].get<std::string>();
    return ok();
  };
  auto integer = [&](const char* key, auto& out, long long lo, long long hi) -> Status {
    if (!j.contains(key)) return ok();
    if (!j[key].is_number_integer() || j[key].get<long long>() < lo ||
        j[key].get<long long>() > hi) {
      return invalid(std::string("'") + key + "' must be an integer from " + std::to_string(lo) +
                     " to " + std::to_string(hi));
    }
    out = static_cast<std::remove_reference_t<decltype(out)>>(j[key].get<long long>());
    return ok();
  };
  std::string listen;
  MutationDefaults& d = s.injection.defaults;
  for (Status st :
       {str("listen", listen), str("certFile", s.cert_file), str("keyFile", s.key_file),
        str("sidecarImage", s.injection.sidecar_image), str("imagePullPolicy", d.image_pull_policy),
        str("mode", d.mode), str("brokerUrl", d.broker_url), str("brokerCaFile", s.broker_ca_file),
        str("tokenVolumeSize", d.token_volume_size),
        integer("statusPort", d.status_port, 1, 65535)}) {
    if (!st) return fail(st.error());
  }
  long long reload_seconds = s.server.reload_interval.count();
  if (auto st = integer("reloadIntervalSeconds", reload_seconds, 1, 3600); !st)
    return fail(st.error());
  s.server.reload_interval = std::chrono::seconds(reload_seconds);
  if (j.contains("resources")) {
    if (!j["resources"].is_object()) return fail(invalid("'resources' must be a mapping").error());
    d.resources = j["resources"];
  }
  if (s.injection.sidecar_image.empty()) return fail(invalid("'sidecarImage' is required").error());
  if (d.mode != "broker" && d.mode != "direct")
    return fail(invalid("'mode' must be broker or direct").error());
  if (!listen.empty()) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) return fail(invalid("'listen' must be HOST:PORT").error());
    s.server.host = listen.substr(0, colon);
    try {
      s.server.port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
      return fail(invalid("'listen' must be HOST:PORT").error());
    }
    if (s.server.port < 0 || s.server.port > 65535)
      return fail(invalid("'listen' port out of range").error());
  }
  return s;
}

Result<WebhookSettings> load_webhook_settings(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return fail("InvalidWebhookConfig",
                "cannot open webhook settings " + path + "; check --webhook-config");
  std::ostringstream text;
  text << in.rdbuf();
  auto settings = parse_webhook_settings(text.str());
  // Both modes: broker-mode sidecars fetch from the broker, direct-mode ones report to it.
  if (!settings || settings->broker_ca_file.empty()) return settings;
  std::ifstream ca(settings->broker_ca_file);
  std::ostringstream pem;
  pem << ca.rdbuf();
  if (!ca || pem.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return fail("InvalidWebhookConfig",
                "brokerCaFile " + settings->broker_ca_file +
                    " cannot be read as a PEM certificate; mount the TLS Secret's ca.crt there");
  }
  settings->injection.defaults.broker_ca_pem = pem.str();
  return settings;
}

Webhook::Webhook(kube::KubeApi& api, Clock& clock, const Logger& logger, WebhookSettings settings,
                 AdmissionCaches caches, MetricsRegistry* metrics)
    : settings_(std::move(settings)),
      source_(settings_.cert_file, settings_.key_file),
      certificates_(source_, logger.child("webhook-tls")),
      versions_(api, clock, logger),
      pods_(api, versions_, settings_.injection, logger, caches),
      apikeys_(api, logger),
      server_(settings_.server, certificates_, pods_, apikeys_, clock, logger, metrics) {}

Webhook::~Webhook() { stop(); }

Status Webhook::start() { return server_.start(); }

void Webhook::stop() { server_.stop(); }

}  // namespace keyward::webhook
