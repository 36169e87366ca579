#pragma once
// Where the Kubernetes API is and how to authenticate to it: in-cluster (service account) or a
// kubeconfig file, parsed once into an immutable KubeConfig.
//
// Selection order (load_kube_config), as controller-runtime's GetConfig does:
//   1. KubeConfigOptions::kubeconfig_path (a --kubeconfig flag), if set;
//   2. the KUBECONFIG environment variable (a ':'-separated list), if set;
//   3. in-cluster, if KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are set;
//   4. $HOME/.kube/config.
//
// Kubeconfig merging, the documented subset of client-go's rules (clientcmd/loader.go):
//   - files of a KUBECONFIG list that do not exist are skipped; at least one must exist;
//   - current-context comes from the first file that sets it;
//   - clusters, users and contexts are merged by name; the first file to define a name wins;
//   - relative paths (certificate-authority, client-certificate, client-key, tokenFile) resolve
//     against the directory of the file that defined the entry;
//   - not supported (each a clear error, never silently ignored): exec and auth-provider
//     plugins, username/password, proxy-url.
//
// Every error is one line naming the file, the field and what to do, with reason
// "InvalidKubeconfig" (or "InClusterConfigMissing" for the service-account files). Secrets
// (token, key) never appear in messages. Nothing here calls getenv: the caller passes the
// environment.

#include <string>
#include <vector>

#include "common/core/http_transport.h"
#include "common/core/result.h"
#include "common/io/config_resolver.h"  // keyward::Environment
#include "common/io/filesystem.h"

namespace keyward::kube {

inline constexpr const char* kDefaultServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

struct KubeConfig {
  std::string server;     // "https://host:port[/base]" as configured
  HttpEndpoint endpoint;  // parsed from server
  std::string base_path;  // the path part of server, "" usually
  TlsClientConfig tls;
  std::string token;           // a static bearer token (kubeconfig user.token), may be empty
  std::string token_file;      // a token file re-read when it rotates (in-cluster, user.tokenFile)
  std::string ns = "default";  // the context's namespace (in-cluster: the pod's namespace)
  std::string origin;          // for logs: "in-cluster" or "kubeconfig /x/config, context prod"
  std::vector<std::string> warnings;  // things to log loudly, e.g. insecure-skip-tls-verify
};

struct KubeConfigOptions {
  std::string kubeconfig_path;  // explicit file (a --kubeconfig flag); empty: see the order above
  std::string context;          // overrides current-context when not empty
  std::string service_account_dir = kDefaultServiceAccountDir;
};

// Follows the selection order above.
Result<KubeConfig> load_kube_config(const Environment& env, const Filesystem& fs,
                                    const KubeConfigOptions& options = {});

// The pod's service account: KUBERNETES_SERVICE_HOST/PORT, <dir>/token, <dir>/ca.crt,
// <dir>/namespace. The token is not kept in KubeConfig::token but named by token_file.
Result<KubeConfig> load_in_cluster_config(
    const Environment& env, const Filesystem& fs,
    const std::string& service_account_dir = kDefaultServiceAccountDir);

// One or more kubeconfig files merged by the rules above; context "" uses current-context.
Result<KubeConfig> load_kubeconfig_files(const std::vector<std::string>& paths,
                                         const Filesystem& fs, const std::string& context = "");

}  // namespace keyward::kube
