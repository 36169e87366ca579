// keyward-operator: the ApiKey controller (rotation, stale-consumer restarts, leader election),
// the admission webhook, and the offline `inject` command.
//
//   keyward-operator run [--kubeconfig F] [--namespace NS] [--leader-elect=true|false]
//                        [--lease-namespace NS] [--lease-name N] [--identity ID]
//                        [--metrics-listen HOST:PORT] [--webhook-config FILE] [--workers N]
//                        [--broker-listen HOST:PORT|off] [--broker-cert-file F]
//                        [--broker-key-file F] [--broker-audience AUD]
//                        [--provider-ca-file F] [--kek-dir DIR]
//                        [--log-level debug|info|warn|error]
//                        [--config FILE]
//   keyward-operator inject ...      (see `keyward-operator inject --help`)
//   keyward-operator rotate NAMESPACE/NAME [--end-grace] [--requested-by WHO] [--kubeconfig F]
//   keyward-operator version
//
// Start-up is an ordered list of small steps; SIGTERM/SIGINT stop the workers, release the
// Lease and exit within a few seconds. Signals are taken synchronously with sigwait() on the
// main thread (blocked before any thread starts), so there is no global at all.

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/http_transport_httplib.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/process_hardening.h"
#include "common/core/status_server.h"
#include "common/io/config_resolver.h"
#include "common/io/filesystem.h"
#include "common/io/random.h"
#include "common/kube/kube_client.h"
#include "common/kube/kube_config.h"
#include "operator/apikey/kek_ring.h"
#include "operator/apikey/key_generator.h"
#include "operator/apikey/key_sealer.h"
#include "operator/cli/kubectl_plugin.h"
#include "operator/controller/operator_manager.h"
#if KEYWARD_HAVE_WEBHOOK
#include "operator/broker/broker.h"
#include "operator/webhook/inject_command.h"
#include "operator/webhook/webhook.h"
#endif

namespace {

using namespace keyward;

constexpr const char* kVersion = "0.1.0";

struct HostPort {
  std::string host;
  int port = 0;
};

// "HOST:PORT" (an empty host is 0.0.0.0).
Result<HostPort> parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return fail("InvalidArguments", "expected HOST:PORT, got \"" + text + "\"");
  HostPort out{text.substr(0, colon), 0};
  const std::string p = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), out.port);
  if (ec != std::errc() || end != p.data() + p.size() || out.port < 0 || out.port > 65535) {
    return fail("InvalidArguments",
                "expected HOST:PORT with a port 0..65535, got \"" + text + "\"");
  }
  if (out.host.empty()) out.host = "0.0.0.0";
  return out;
}

std::vector<SettingSpec> run_settings() {
  auto is_bool = [](const std::string& v) -> Status {
    if (v == "true" || v == "false") return ok();
    return fail("InvalidArguments", "expected true or false");
  };
  auto is_host_port = [](const std::string& v) -> Status {
    if (auto hp = parse_host_port(v); !hp) return fail(hp.error());
    return ok();
  };
  auto is_positive = [](const std::string& v) -> Status {
    int n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > 64) {
      return fail("InvalidArguments", "expected a number from 1 to 64");
    }
    return ok();
  };
  auto is_level = [](const std::string& v) -> Status {
    LogLevel l;
    return parse_log_level(v, l) ? ok()
                                 : fail("InvalidArguments", "expected debug, info, warn or error");
  };
  return {
      {"kubeconfig", "--kubeconfig", "kubeconfig", "", false, false, false, std::nullopt, {}},
      {"namespace",
       "--namespace",
       "namespace",
       "KEYWARD_NAMESPACE",
       false,
       false,
       false,
       std::string(""),
       {}},
      {"leader-elect", "--leader-elect", "leaderElect", "KEYWARD_LEADER_ELECT", false, false, false,
       std::string("true"), is_bool},
      {"lease-namespace",
       "--lease-namespace",
       "leaseNamespace",
       "KEYWARD_LEASE_NAMESPACE",
       false,
       false,
       false,
       std::nullopt,
       {}},
      {"lease-name",
       "--lease-name",
       "leaseName",
       "",
       false,
       false,
       false,
       std::string("keyward-operator"),
       {}},
      {"identity", "--identity", "identity", "POD_NAME", false, false, false, std::nullopt, {}},
      {"metrics-listen", "--metrics-listen", "metricsListen", "KEYWARD_METRICS_LISTEN", false,
       false, false, std::string("0.0.0.0:8080"), is_host_port},
      {"webhook-config",
       "--webhook-config",
       "webhookConfig",
       "KEYWARD_WEBHOOK_CONFIG",
       false,
       false,
       false,
       std::nullopt,
       {}},
      {"workers", "--workers", "workers", "", false, false, false, std::string("2"), is_positive},
      // How long a leader's Lease lasts without renewal: a standby takes over this long after the
      // leader died (renewal deadline two thirds of it, retries every fifth, at least 1 s).
      {"lease-duration-seconds", "--lease-duration-seconds", "leaseDurationSeconds", "", false,
       false, false, std::string("15"), is_positive},
      {"broker-listen", "--broker-listen", "brokerListen", "KEYWARD_BROKER_LISTEN", false, false,
       false, std::string("off"),
       [is_host_port](const std::string& v) { return v == "off" ? ok() : is_host_port(v); }},
      {"broker-cert-file",
       "--broker-cert-file",
       "brokerCertFile",
       "KEYWARD_BROKER_CERT_FILE",
       false,
       false,
       false,
       std::string("/var/run/keyward/webhook-tls/tls.crt"),
       {}},
      {"broker-key-file",
       "--broker-key-file",
       "brokerKeyFile",
       "KEYWARD_BROKER_KEY_FILE",
       false,
       false,
       false,
       std::string("/var/run/keyward/webhook-tls/tls.key"),
       {}},
      {"provider-ca-file",
       "--provider-ca-file",
       "providerCaFile",
       "KEYWARD_PROVIDER_CA_FILE",
       false,
       false,
       false,
       std::nullopt,
       {}},
      {"kek-dir", "--kek-dir", "kekDir", "KEYWARD_KEK_DIR", false, false, false, std::nullopt, {}},
      {"broker-audience",
       "--broker-audience",
       "brokerAudience",
       "KEYWARD_BROKER_AUDIENCE",
       false,
       false,
       false,
       std::string("keyward.dev/broker"),  // = webhook::kDefaultBrokerAudience
       {}},
      {"log-level", "--log-level", "logLevel", "KEYWARD_LOG_LEVEL", false, false, false,
       std::string("info"), is_level},
      {"config", "--config", "", "KEYWARD_CONFIG", false, false, false, std::nullopt, {}},
  };
}

std::string read_text(const std::string& path, bool& ok_out) {
  std::ifstream in(path);
  ok_out = static_cast<bool>(in);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

int run(const std::vector<std::string>& args, const Environment& env) {
  Logger boot = make_stderr_logger("keyward-operator");

  // 1. Settings: flags > config file > environment > defaults.
  ConfigResolver resolver(run_settings());
  auto flags = resolver.parse_flags(args);
  if (!flags) {
    boot.error("bad arguments", {{"error", flags.error().message}});
    return 2;
  }
  std::string config_yaml;
  std::string config_name;
  if (auto it = flags->find("--config"); it != flags->end())
    config_name = it->second;
  else if (auto e = env.find("KEYWARD_CONFIG"); e != env.end())
    config_name = e->second;
  if (!config_name.empty()) {
    bool readable = false;
    config_yaml = read_text(config_name, readable);
    if (!readable) {
      boot.error("cannot read the config file", {{"file", config_name}});
      return 2;
    }
  }
  auto settings = resolver.resolve(*flags, config_yaml, config_name, env);
  if (!settings) {
    boot.error("bad configuration", {{"error", settings.error().message}});
    return 2;
  }
  LogLevel level = LogLevel::Info;
  (void)parse_log_level(settings->get_or("log-level", "info"), level);
  Logger logger = make_stderr_logger("keyward-operator", level);
  logger.info("configuration", {{"settings", settings->describe()}, {"version", kVersion}});

  // 2. Signals: blocked here, before any thread exists, taken with sigwait() below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // 3. The Kubernetes API.
  RealClock clock;
  PosixFilesystem fs;
  kube::KubeConfigOptions kube_options;
  kube_options.kubeconfig_path = settings->get_or("kubeconfig", "");
  auto kube_config = kube::load_kube_config(env, fs, kube_options);
  if (!kube_config) {
    logger.error("cannot load the Kubernetes configuration",
                 {{"error", kube_config.error().message}});
    return 1;
  }
  auto client = kube::make_kube_client(*kube_config, fs, clock, logger.child("kube"));
  if (!client) {
    logger.error("cannot create the Kubernetes client", {{"error", client.error().message}});
    return 1;
  }
  logger.info("Kubernetes API", {{"server", kube_config->server}, {"origin", kube_config->origin}});

  // 4. The operator.
  SystemRandom random;
  MetricsRegistry registry;
  apikey::OpenSslKeyGenerator generator;
  controller::OperatorOptions options;
  options.watch_namespace = settings->get_or("namespace", "");
  options.workers = std::stoi(settings->get_or("workers", "2"));
  options.leader_elect = settings->get_or("leader-elect", "true") == "true";
  options.leader.lease_namespace = settings->get_or("lease-namespace", kube_config->ns);
  options.leader.lease_name = settings->get_or("lease-name", "keyward-operator");
  {
    const int lease = std::stoi(settings->get_or("lease-duration-seconds", "15"));
    options.leader.lease_duration = Seconds(lease);
    options.leader.renew_deadline = Seconds(std::max(1, lease * 2 / 3));
    options.leader.retry_period = Seconds(std::max(1, lease / 5));
  }
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  options.leader.identity = settings->get_or(
      "identity", std::string(host) + "_" + std::to_string(static_cast<long>(getpid())));
  // Provider endpoints (http key sources, the broker's sessions) trust the ApiKey's caBundle,
  // else the operator's --provider-ca-file (the chart's providerCA), else the system store.
  std::string provider_ca_pem;
  if (auto path = settings->get("provider-ca-file")) {
    bool readable = false;
    provider_ca_pem = read_text(*path, readable);
    if (!readable || provider_ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      logger.error(
          "--provider-ca-file cannot be read as a PEM certificate bundle; mount the CA "
          "bundle there (the chart's providerCA.bundle) or drop the flag",
          {{"file", *path}});
      return 2;
    }
  }
  HttpTransportFactory http_transports =
      [base = httplib_transport_factory(), provider_ca_pem](
          const std::string& url,
          const std::string& ca_pem) -> Result<std::unique_ptr<HttpTransport>> {
    return base(url, ca_pem.empty() ? provider_ca_pem : ca_pem);
  };
  // Key material at rest: sealed under the KEKs mounted at --kek-dir (docs/sealing.md).
  apikey::OpenSslRandomBytes seal_random;
  std::unique_ptr<apikey::KekDirectory> keks;
  std::unique_ptr<apikey::KeySealer> sealer;
  if (auto dir = settings->get("kek-dir")) {
    keks = std::make_unique<apikey::KekDirectory>(fs, clock, *dir);
    auto ring = keks->ring();
    if (!ring) {
      logger.error("cannot load the key-encryption keys; key material would be stored unsealed",
                   {{"error", ring.error().message}});
      return 2;
    }
    sealer = std::make_unique<apikey::KeySealer>(*keks, seal_random);
    logger.info("key material is sealed at rest (AES-256-GCM)",
                {{"kekDir", *dir}, {"primaryKek", (*ring)->primary().id()}});
  } else {
    logger.warn(
        "no --kek-dir: key material is stored in Secrets as plain base64, readable by anyone "
        "who can read Secrets; mount a KEK Secret and set --kek-dir (the chart does)");
  }
  controller::OperatorManager runner(**client, clock, random, logger.child("operator"), registry,
                                     generator, http_transports, options, sealer.get());

  // 4b. The token broker (leader serves tokens; standbys answer 503 + Retry-After).
#if KEYWARD_HAVE_WEBHOOK
  std::unique_ptr<broker::Broker> token_broker;
  if (const std::string listen = settings->get_or("broker-listen", "off"); listen != "off") {
    broker::BrokerConfig broker_config;
    // Validated with the settings: a bad value never gets here.
    const HostPort at = parse_host_port(listen).value_or(HostPort{"0.0.0.0", 8444});
    broker_config.server.host = at.host;
    broker_config.server.port = at.port;
    broker_config.cert_file = settings->get_or("broker-cert-file", broker_config.cert_file);
    broker_config.key_file = settings->get_or("broker-key-file", broker_config.key_file);
    if (auto audience = settings->get_or("broker-audience", webhook::kDefaultBrokerAudience);
        !audience.empty()) {
      broker_config.review.audiences = {audience};
    }
    token_broker = std::make_unique<broker::Broker>(
        **client,
        broker::OperatorView{runner.apikey_store(), runner.secret_store(), runner.pod_store(),
                             runner.last_used(), runner.provider_states(),
                             [&runner](const std::string& key) { runner.request_reconcile(key); },
                             sealer.get()},
        clock, random, registry, logger.child("broker"), http_transports, broker_config);
    // Before runner.start(): the broker follows the operator's events and leadership.
    broker::Broker* b = token_broker.get();
    runner.add_key_listener([b](const std::string& key) { b->on_key_event(key); });
    runner.add_leadership_listener([b](bool leading) { b->set_leading(leading); });
  }
#else
  if (settings->get_or("broker-listen", "off") != "off") {
    logger.error("this build has no token broker; drop --broker-listen");
    return 2;
  }
#endif

  // 5. Health, readiness and metrics.
  const HostPort metrics_at = parse_host_port(settings->get_or("metrics-listen", "0.0.0.0:8080"))
                                  .value_or(HostPort{"0.0.0.0", 8080});
  const std::string& metrics_host = metrics_at.host;
  const int metrics_port = metrics_at.port;
  StatusServer status(
      logger.child("status"), registry, [] { return ok(); },
      [&runner] { return runner.readiness(); });
  if (auto st = status.start(metrics_host, metrics_port); !st) {
    logger.error("cannot start the status server", {{"error", st.error().message}});
    return 1;
  }
  logger.info("serving /healthz /readyz /metrics",
              {{"listen", metrics_host + ":" + std::to_string(status.port())}});

  // 6. The admission webhook (every replica serves it, leader or not).
#if KEYWARD_HAVE_WEBHOOK
  std::unique_ptr<webhook::Webhook> admission;
  if (auto path = settings->get("webhook-config")) {
    auto webhook_settings = webhook::load_webhook_settings(*path);
    if (!webhook_settings) {
      logger.error("bad webhook configuration", {{"error", webhook_settings.error().message}});
      return 1;
    }
    // One setting for both ends: the webhook mounts a token for the audience the broker checks.
    webhook_settings->injection.defaults.broker_token_audience =
        settings->get_or("broker-audience", webhook::kDefaultBrokerAudience);
    // And one default CA for provider endpoints: direct-mode sidecars get it too.
    webhook_settings->injection.defaults.provider_ca_pem = provider_ca_pem;
    // Direct-mode injection: sidecars log in themselves, so the broker delivers them their key.
    if (token_broker) {
      token_broker->set_exchange_keys_delivered(webhook_settings->injection.defaults.mode !=
                                                "broker");
    }
    admission = std::make_unique<webhook::Webhook>(
        **client, clock, logger.child("webhook"), *webhook_settings,
        webhook::AdmissionCaches{&runner.apikey_store(), &runner.namespace_store()}, &registry);
    if (auto st = admission->start(); !st) {
      logger.error("cannot start the webhook", {{"error", st.error().message}});
      return 1;
    }
  }
#else
  if (settings->get("webhook-config")) {
    logger.error("this build has no admission webhook; drop --webhook-config");
    return 2;
  }
#endif

  // 7. Run until SIGTERM/SIGINT.
  runner.start();
#if KEYWARD_HAVE_WEBHOOK
  if (token_broker) {
    if (auto st = token_broker->start(); !st) {
      logger.error("cannot start the token broker", {{"error", st.error().message}});
      runner.stop();
      return 1;
    }
    logger.info("token broker listening",
                {{"listen", settings->get_or("broker-listen", "") + " (port " +
                                std::to_string(token_broker->port()) + ")"}});
  }
#endif
  int received = 0;
  sigwait(&signals, &received);
  logger.info("shutting down", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
#if KEYWARD_HAVE_WEBHOOK
  if (token_broker) token_broker->stop();
#endif
  runner.stop();  // releases the Lease
#if KEYWARD_HAVE_WEBHOOK
  if (admission) admission->stop();
#endif
  status.stop();
  logger.info("bye");
  return 0;
}

void usage() {
  std::cerr << "usage: keyward-operator run [flags]   (the controller; --help lists flags)\n"
               "       keyward-operator inject ...    (add the sidecar to manifests offline)\n"
               "       keyward-operator rotate NAMESPACE/NAME [--end-grace] [--requested-by WHO] "
               "[--kubeconfig F]\n"
               "       keyward-operator version\n"
               "installed as kubectl-keyward: the kubectl plugin (kubectl keyward --help)\n";
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  // No core file and not dumpable before anything reads a key or a KEK.
  if (auto s = keyward::harden_process(); !s) {
    keyward::make_stderr_logger("keyward-operator").warn(s.error().message);
  }
  // Installed as kubectl-keyward (and kubectl_complete-keyward): the kubectl plugin.
  const std::string program = std::filesystem::path(argv[0]).filename().string();
  if (program == keyward::cli::kCompletionName) {
    return keyward::cli::complete_kubectl_plugin(std::vector<std::string>(argv + 1, argv + argc),
                                                 keyward::environment_from(envp), std::cout);
  }
  if (program == keyward::cli::kPluginName) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "__complete") {
      return keyward::cli::complete_kubectl_plugin(
          std::vector<std::string>(args.begin() + 1, args.end()), keyward::environment_from(envp),
          std::cout);
    }
    if (!args.empty() && args[0] == "inject") {
#if KEYWARD_HAVE_WEBHOOK
      return keyward::webhook::run_inject_command(argc, argv);
#else
      std::cerr << "kubectl-keyward: this build has no inject command\n";
      return 2;
#endif
    }
    return keyward::cli::run_kubectl_plugin(args, keyward::environment_from(envp), kVersion,
                                            std::cout, std::cerr);
  }
  if (argc < 2) {
    usage();
    return 2;
  }
  const std::string command = argv[1];
  if (command == "version" || command == "--version") {
    std::cout << "keyward-operator " << kVersion << "\n";
    return 0;
  }
  if (command == "inject") {
#if KEYWARD_HAVE_WEBHOOK
    return keyward::webhook::run_inject_command(argc, argv);
#else
    std::cerr << "keyward-operator: this build has no inject command\n";
    return 2;
#endif
  }
  if (command == "run") {
    std::vector<std::string> args(argv + 2, argv + argc);
    for (const auto& a : args) {
      if (a == "--help" || a == "-h") {
        // From the settings table itself, so no flag is ever missing from the help.
        std::cerr << "keyward-operator run [flags]; each also from the config file (--config) "
                     "or the environment:\n";
        for (const auto& spec : run_settings()) {
          if (spec.flag.empty()) continue;
          std::string from;
          if (!spec.config_key.empty()) from = "config " + spec.config_key;
          if (!spec.env_var.empty()) from += (from.empty() ? "env " : ", env ") + spec.env_var;
          std::cerr << "  " << spec.flag << (spec.boolean ? "[=true|false]" : " VALUE");
          if (!from.empty()) std::cerr << "  (" << from << ")";
          if (spec.default_value && !spec.default_value->empty()) {
            std::cerr << "  default " << *spec.default_value;
          }
          std::cerr << "\n";
        }
        return 0;
      }
    }
    return run(args, keyward::environment_from(envp));
  }
  if (command == "rotate") {
    return keyward::cli::run_rotate_command(std::vector<std::string>(argv + 2, argv + argc),
                                            keyward::environment_from(envp), std::cout, std::cerr);
  }
  usage();
  return 2;
}
