#include "sidecar/sidecar_config.h"

#include <charconv>

#include "common/core/http_transport.h"

namespace keyward::sidecar {

namespace {

std::string camel(const std::string& flag) {
  std::string out;
  bool up = false;
  for (char c : flag.substr(2)) {
    if (c == '-') {
      up = true;
    } else {
      out.push_back(up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
      up = false;
    }
  }
  return out;
}

std::string env_name(const std::string& flag) {
  std::string out = "KEYWARD_";
  for (char c : flag.substr(2))
    out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

SettingSpec setting(const std::string& name, std::optional<std::string> def = std::nullopt,
                    std::function<Status(const std::string&)> validator = {}) {
  SettingSpec s;
  s.name = name;
  s.flag = "--" + name;
  s.config_key = camel(s.flag);
  s.env_var = env_name(s.flag);
  s.default_value = std::move(def);
  s.validator = std::move(validator);
  return s;
}

SettingSpec secret(const std::string& name) {
  SettingSpec s = setting(name);
  s.secret = true;
  return s;
}

std::function<Status(const std::string&)> one_of(std::vector<std::string> allowed) {
  return [allowed = std::move(allowed)](const std::string& v) -> Status {
    for (const auto& a : allowed) {
      if (v == a) return ok();
    }
    std::string list;
    for (std::size_t i = 0; i < allowed.size(); ++i) list += (i ? " | " : "") + allowed[i];
    return fail("InvalidSetting", "must be one of " + list);
  };
}

Status positive_seconds(const std::string& v) {
  long long n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n <= 0) {
    return fail("InvalidSetting", "must be a positive whole number of seconds");
  }
  return ok();
}

Status url(const std::string& v) {
  auto e = HttpEndpoint::parse(v);
  if (!e) return fail(e.error());
  return ok();
}

Status listen_address(const std::string& v) {
  if (v == "off") return ok();
  const auto colon = v.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      std::from_chars(v.data() + colon + 1, v.data() + v.size(), port).ec != std::errc() ||
      port < 0 || port > 65535) {
    return fail("InvalidSetting", "must be HOST:PORT (port 0 = any free port) or off");
  }
  return ok();
}

}  // namespace

std::vector<SettingSpec> sidecar_settings() {
  std::vector<SettingSpec> s;
  s.push_back(setting("mode", "direct", one_of({"broker", "direct", "accept"})));
  s.push_back(setting("apikey"));
  s.push_back(setting("namespace"));
  s.push_back(setting("out", "/var/run/keyward/tokens"));
  s.push_back(setting("broker-url", std::nullopt, url));
  s.push_back(setting("key-dir"));
  s.push_back(setting("credentials-dir"));
  s.push_back(
      setting("provider", std::nullopt, one_of({"tradovate", "oauth2ClientCredentials", "none"})));
  s.push_back(setting("endpoint", std::nullopt, url));
  s.push_back(setting("lifetime-seconds", "5400", positive_seconds));
  s.push_back(setting("refresh-lead-seconds", "300", positive_seconds));
  s.push_back(setting("recheck-seconds", "30", positive_seconds));
  s.push_back(setting("listen", "127.0.0.1:9090", listen_address));
  SettingSpec once = setting("once", "false");
  once.boolean = true;
  s.push_back(once);
  SettingSpec config = setting("config");
  config.config_key.clear();  // the config file cannot name itself
  s.push_back(config);
  s.push_back(setting("token-file", "token"));
  s.push_back(setting("env-var-name", "KEYWARD_ACCESS_TOKEN"));
  s.push_back(setting("username"));
  s.push_back(secret("password"));
  s.push_back(setting("client-id"));
  s.push_back(secret("client-secret"));
  s.push_back(secret("api-key"));
  s.push_back(secret("api-secret"));
  s.push_back(secret("passphrase"));
  s.push_back(setting("app-id"));
  s.push_back(setting("app-version"));
  s.push_back(setting("device-id"));
  s.push_back(setting("oauth2-client-auth", "basic", one_of({"basic", "body"})));
  s.push_back(setting("oauth2-scope"));
  s.push_back(
      setting("service-account-token-file", "/var/run/secrets/kubernetes.io/serviceaccount/token"));
  s.push_back(setting("ca-file"));
  // Direct mode: where to report the key version the sidecar delivered (the operator's broker).
  s.push_back(setting("report-url", std::nullopt, url));
  s.push_back(setting("report-ca-file"));
  SettingSpec key_from_broker = setting("key-from-broker", "false");
  key_from_broker.boolean = true;
  s.push_back(key_from_broker);
  s.push_back(setting("log-level", "info", one_of({"debug", "info", "warn", "error"})));
  return s;
}

Result<SidecarConfig> resolve_sidecar_config(
    const std::vector<std::string>& args, const Environment& env, const std::string& host_name,
    const std::function<Result<std::string>(const std::string&)>& read_file) {
  ConfigResolver resolver(sidecar_settings());
  auto flags = resolver.parse_flags(args);
  if (!flags) return fail(flags.error());
  // The config file's own name: flag, then environment.
  std::string config_file;
  if (auto it = flags->find("--config"); it != flags->end())
    config_file = it->second;
  else if (auto e = env.find("KEYWARD_CONFIG"); e != env.end())
    config_file = e->second;
  std::string yaml;
  if (!config_file.empty()) {
    auto text = read_file(config_file);
    if (!text) {
      return fail("InvalidConfig",
                  "cannot read the config file " + config_file + ": " + text.error().message);
    }
    yaml = std::move(*text);
  }
  auto r = resolver.resolve(*flags, yaml, config_file, env);
  if (!r) return fail(r.error());
  const ResolvedSettings& v = *r;

  SidecarConfig c;
  const std::string mode = v.get_or("mode", "direct");
  c.mode = mode == "broker" ? Mode::Broker : (mode == "accept" ? Mode::Accept : Mode::Direct);
  c.apikey = v.get_or("apikey", "");
  c.ns = v.get_or("namespace", "");
  c.out_dir = v.get_or("out", "");
  c.broker_url = v.get_or("broker-url", "");
  c.key_dir = v.get_or("key-dir", "");
  c.credentials_dir = v.get_or("credentials-dir", "");
  c.provider = v.get_or("provider", "");
  c.endpoint = v.get_or("endpoint", "");
  c.lifetime = Seconds(std::stoll(v.get_or("lifetime-seconds", "5400")));
  c.refresh_lead = Seconds(std::stoll(v.get_or("refresh-lead-seconds", "300")));
  c.recheck = Seconds(std::stoll(v.get_or("recheck-seconds", "30")));
  const std::string listen = v.get_or("listen", "127.0.0.1:9090");
  if (listen == "off") {
    c.listen_port = -1;
  } else {
    const auto colon = listen.rfind(':');
    c.listen_host = listen.substr(0, colon);
    c.listen_port = std::stoi(listen.substr(colon + 1));
  }
  c.once = v.flag("once");
  c.token_file = v.get_or("token-file", "token");
  c.env_var_name = v.get_or("env-var-name", "KEYWARD_ACCESS_TOKEN");
  c.credentials.username = v.get_or("username", "");
  c.credentials.password = v.get_or("password", "");
  c.credentials.client_id = v.get_or("client-id", "");
  c.credentials.client_secret = v.get_or("client-secret", "");
  c.credentials.api_key = v.get_or("api-key", "");
  c.credentials.api_secret = v.get_or("api-secret", "");
  c.credentials.passphrase = v.get_or("passphrase", "");
  c.credentials.app_id = v.get_or("app-id", "");
  c.credentials.app_version = v.get_or("app-version", "");
  c.credentials.device_id =
      v.get_or("device-id", host_name.empty() ? "keyward-sidecar" : "keyward-" + host_name);
  c.oauth2_client_auth = v.get_or("oauth2-client-auth", "basic") == "body"
                             ? OAuth2ClientAuth::Body
                             : OAuth2ClientAuth::Basic;
  c.oauth2_scope = v.get_or("oauth2-scope", "");
  c.service_account_token_file = v.get_or("service-account-token-file", "");
  c.ca_file = v.get_or("ca-file", "");
  c.report_url = v.get_or("report-url", "");
  c.report_ca_file = v.get_or("report-ca-file", "");
  c.key_from_broker = v.flag("key-from-broker");
  c.log_level = v.get_or("log-level", "info");
  c.config_file = config_file;
  c.sources = v.describe();

  // Settings that only make sense together.
  if (c.token_file.empty() || c.token_file.find('/') != std::string::npos ||
      c.token_file.starts_with("..") || c.token_file == "token.json" ||
      c.token_file == "token.env") {
    return fail("InvalidSetting",
                "setting " + v.where("token-file") +
                    " must be a plain file name other than token.json and token.env");
  }
  if (c.env_var_name.empty() || std::isdigit(static_cast<unsigned char>(c.env_var_name[0])) ||
      c.env_var_name.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return fail("InvalidSetting", "setting " + v.where("env-var-name") +
                                      " must be a shell variable name (letters, digits, _)");
  }
  if (c.mode == Mode::Accept) {
    for (const char* need : {"broker-url", "apikey", "namespace", "out"}) {
      if (!v.has(need)) {
        return fail("MissingSetting", "setting " + std::string(need) +
                                          " is required in accept mode (" + v.where("mode") +
                                          "): set --" + need);
      }
    }
    for (const char* other : {"provider", "endpoint", "key-dir", "credentials-dir",
                              "key-from-broker", "report-url", "once"}) {
      if (v.has(other) && v.source(other) != SettingSource::Default) {
        return fail("ContradictorySettings",
                    "setting " + v.where(other) + " contradicts " + v.where("mode") +
                        ": a pod that accepts keys gets their digests from the broker, no key "
                        "or token; drop " +
                        other);
      }
    }
    return c;
  }
  if (c.mode == Mode::Broker) {
    for (const char* need : {"broker-url", "apikey", "namespace"}) {
      if (!v.has(need)) {
        return fail("MissingSetting", "setting " + std::string(need) +
                                          " is required in broker mode (" + v.where("mode") +
                                          "): set --" + need + " or KEYWARD_" +
                                          env_name(std::string("--") + need).substr(8));
      }
    }
    if (c.key_from_broker) {
      return fail("ContradictorySettings",
                  "setting " + v.where("key-from-broker") + " contradicts " + v.where("mode") +
                      ": in broker mode the key never leaves the operator; drop key-from-broker");
    }
    if (v.has("report-url")) {
      return fail("ContradictorySettings",
                  "setting " + v.where("report-url") + " contradicts " + v.where("mode") +
                      ": in broker mode the broker records the key version itself; drop "
                      "report-url");
    }
    if (v.has("provider") || v.has("endpoint")) {
      const std::string which = v.has("provider") ? "provider" : "endpoint";
      return fail("ContradictorySettings",
                  "setting " + v.where(which) + " contradicts " + v.where("mode") +
                      ": in broker mode the operator's broker talks to the provider; drop " +
                      which + " or use --mode direct");
    }
  } else {
    if (c.key_from_broker) {
      if (!v.has("report-url")) {
        return fail("MissingSetting", "setting " + v.where("key-from-broker") +
                                          " needs the broker's URL: set --report-url");
      }
      for (const char* mounted : {"key-dir", "credentials-dir"}) {
        if (v.has(mounted)) {
          return fail("ContradictorySettings",
                      "setting " + v.where(mounted) + " contradicts " + v.where("key-from-broker") +
                          ": the key material comes from the broker; drop " + mounted);
        }
      }
    }
    if (!c.key_from_broker && v.source("recheck-seconds") != SettingSource::Default) {
      return fail("ContradictorySettings",
                  "setting " + v.where("recheck-seconds") + " contradicts " + v.where("mode") +
                      ": in direct mode the sidecar asks the provider only when a token is due "
                      "(rechecking would spend its budget); drop recheck-seconds");
    }
    if (v.has("broker-url")) {
      return fail("ContradictorySettings",
                  "setting " + v.where("broker-url") + " contradicts " + v.where("mode") +
                      ": direct mode talks to the provider; use --mode broker or drop broker-url");
    }
    if (!v.has("provider")) {
      return fail("MissingSetting", "setting provider is required in direct mode (" +
                                        v.where("mode") +
                                        "): set --provider tradovate|oauth2ClientCredentials|none");
    }
    if (c.provider != "none" && !v.has("endpoint")) {
      return fail("MissingSetting", "setting endpoint is required for provider " + c.provider +
                                        ": set --endpoint https://host/path");
    }
    if (!c.key_from_broker && c.key_dir.empty() && c.credentials_dir.empty() &&
        c.credentials.api_key.empty() && c.credentials.password.empty() &&
        c.credentials.client_secret.empty()) {
      return fail("MissingSetting",
                  "no credentials: set --key-dir / --credentials-dir (mounted Secrets) or the "
                  "credentials themselves (KEYWARD_API_KEY, KEYWARD_PASSWORD, ...)");
    }
  }
  if (c.refresh_lead >= c.lifetime) {
    return fail("ContradictorySettings", "setting " + v.where("refresh-lead-seconds") +
                                             " must be shorter than " +
                                             v.where("lifetime-seconds"));
  }
  return c;
}

}  // namespace keyward::sidecar
