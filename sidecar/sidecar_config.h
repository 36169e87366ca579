#pragma once
// The sidecar's settings: declared once (sidecar_settings()), resolved by the ConfigResolver
// (flag > config file > environment > default), then checked as a whole into an immutable
// SidecarConfig. Every flag --foo-bar is also the config key fooBar and the environment
// variable KEYWARD_FOO_BAR (docs/contracts.md, docs/sidecar.md).

#include <optional>
#include <string>
#include <vector>

#include "common/io/config_resolver.h"
#include "common/token/access_token.h"
#include "common/token/oauth2_provider.h"

namespace keyward::sidecar {

// Accept: a pod that accepts the keys of some ApiKeys gets their digests (accept_app.h).
enum class Mode { Broker, Direct, Accept };

struct SidecarConfig {
  Mode mode = Mode::Direct;
  std::string apikey;  // accept mode: a comma-separated list of ApiKeys
  std::string ns;
  std::string out_dir;
  std::string broker_url;
  std::string key_dir;
  std::string credentials_dir;
  std::string provider;  // tradovate | oauth2ClientCredentials | none
  std::string endpoint;
  Seconds lifetime{5400};
  Seconds refresh_lead{300};
  Seconds recheck{30};  // ask the broker at least this often (broker mode; --key-from-broker)
  std::string listen_host = "127.0.0.1";
  int listen_port = 9090;  // 0: any free port; -1: no server
  bool once = false;
  std::string token_file = "token";
  std::string env_var_name = "KEYWARD_ACCESS_TOKEN";  // the CRD default
  Credentials credentials;  // explicit values (flags, config file, environment)
  OAuth2ClientAuth oauth2_client_auth = OAuth2ClientAuth::Basic;
  std::string oauth2_scope;
  std::string service_account_token_file;
  std::string ca_file;  // trust for the token endpoint: the broker, or the provider (direct)
  // Direct mode: the operator's broker URL the delivered key version is reported to ("": no
  // report), and the CA that signed its certificate ("": the system store).
  std::string report_url;
  std::string report_ca_file;
  // Direct mode: take the key material from that broker (GET .../key, every `recheck`) instead
  // of mounted Secrets; the operator seals its key Secrets, so a cluster's sidecars do this.
  bool key_from_broker = false;
  std::string log_level = "info";
  std::string config_file;
  nlohmann::json sources;  // describe(): [{setting, source}], for the startup log
};

std::vector<SettingSpec> sidecar_settings();

// host_name: the pod's name (gethostname), the default deviceId.
// read_file: reads the config file named by --config / KEYWARD_CONFIG.
Result<SidecarConfig> resolve_sidecar_config(
    const std::vector<std::string>& args, const Environment& env, const std::string& host_name,
    const std::function<Result<std::string>(const std::string&)>& read_file);

}  // namespace keyward::sidecar
