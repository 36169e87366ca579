#include "common/kube/kube_config.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <map>
#include <memory>
#include <optional>

#include "common/core/base64.h"
#include "common/core/openssl_ptr.h"

namespace keyward::kube {

namespace {

using openssl::BioFree;
using openssl::PkeyFree;
using openssl::X509Free;

std::string quote(const std::string& s) { return "\"" + s + "\""; }

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string resolve(const std::string& path, const std::string& base_file) {
  if (path.empty() || path.front() == '/') return path;
  return dir_of(base_file) + "/" + path;
}

bool looks_like_pem_cert(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert != nullptr;
}

bool looks_like_pem_key(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key != nullptr;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// One named entry of clusters/users/contexts and the file that defined it.
struct Entry {
  YAML::Node body;
  std::string file;
};

struct Merged {
  std::optional<std::string> current_context;
  std::string current_context_file;
  std::map<std::string, Entry> clusters, users, contexts;
};

// Reads a string field; an error when it is present but not a scalar.
Result<std::optional<std::string>> scalar(const YAML::Node& node, const std::string& key,
                                          const std::string& where) {
  const YAML::Node v = node[key];
  if (!v || v.IsNull()) return std::optional<std::string>{};
  if (!v.IsScalar()) {
    return fail("InvalidKubeconfig", where + "." + key + " must be a string");
  }
  return std::optional<std::string>(v.as<std::string>());
}

Status merge_list(const YAML::Node& doc, const std::string& list_name, const std::string& body_key,
                  const std::string& file, std::map<std::string, Entry>& into) {
  const YAML::Node list = doc[list_name];
  if (!list || list.IsNull()) return ok();
  if (!list.IsSequence()) {
    return fail("InvalidKubeconfig", "kubeconfig " + file + ": " + list_name +
                                         " must be a list of {name, " + body_key + "} entries");
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    const std::string where =
        "kubeconfig " + file + ": " + list_name + "[" + std::to_string(i) + "]";
    if (!item.IsMap() || !item["name"] || !item["name"].IsScalar()) {
      return fail("InvalidKubeconfig",
                  where + " has no name; every entry needs name and " + body_key);
    }
    const std::string name = item["name"].as<std::string>();
    const YAML::Node body = item[body_key];
    if (!body || !body.IsMap()) {
      return fail("InvalidKubeconfig", "kubeconfig " + file + ": " + list_name + " entry " +
                                           quote(name) + " has no " + body_key +
                                           " map; check the file's indentation");
    }
    into.try_emplace(name, Entry{body, file});  // the first file to define a name wins
  }
  return ok();
}

Status merge_file(const std::string& text, const std::string& file, Merged& merged) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fail("InvalidKubeconfig", "kubeconfig " + file + ": not valid YAML (line " +
                                         std::to_string(e.mark.line + 1) + ": " + e.msg +
                                         "); fix the file or point KUBECONFIG at another one");
  }
  if (doc.IsNull()) return ok();  // an empty file contributes nothing, as in client-go
  if (!doc.IsMap()) {
    return fail("InvalidKubeconfig", "kubeconfig " + file +
                                         ": the top level must be a map with clusters, users, "
                                         "contexts and current-context");
  }
  try {
    if (!merged.current_context) {
      auto cc = scalar(doc, "current-context", "kubeconfig " + file + ": ");
      if (!cc) return fail(cc.error());
      if (*cc && !(*cc)->empty()) {
        merged.current_context = **cc;
        merged.current_context_file = file;
      }
    }
    if (auto s = merge_list(doc, "clusters", "cluster", file, merged.clusters); !s) return s;
    if (auto s = merge_list(doc, "users", "user", file, merged.users); !s) return s;
    if (auto s = merge_list(doc, "contexts", "context", file, merged.contexts); !s) return s;
  } catch (const YAML::Exception& e) {
    return fail("InvalidKubeconfig", "kubeconfig " + file + ": unexpected structure (" + e.msg +
                                         "); compare it with kubectl config view");
  }
  return ok();
}

// PEM from "<field>-data" (base64) or "<field>" (a file), validated. Empty when neither is set.
Result<std::string> pem_field(const YAML::Node& body, const std::string& field, bool is_key,
                              const std::string& where, const Filesystem& fs,
                              const std::string& file) {
  auto data = scalar(body, field + "-data", where);
  if (!data) return fail(data.error());
  auto path = scalar(body, field, where);
  if (!path) return fail(path.error());
  std::string pem;
  std::string source;
  if (*data && !(*data)->empty()) {
    auto decoded = base64_decode(**data);
    if (!decoded || decoded->empty()) {
      return fail("InvalidKubeconfig", where + "." + field +
                                           "-data is not valid base64; paste the output of "
                                           "'base64 -w0 <file>' or use " +
                                           field + " with a file path");
    }
    pem = std::move(*decoded);
    source = field + "-data";
  } else if (*path && !(*path)->empty()) {
    const std::string resolved = resolve(**path, file);
    auto content = fs.read_file(resolved);
    if (!content) {
      return fail("InvalidKubeconfig", where + "." + field + ": cannot read " + resolved + " (" +
                                           content.error().message +
                                           "); check the path (relative paths are relative to " +
                                           dir_of(file) + ")");
    }
    pem = std::move(*content);
    source = field + " " + resolved;
  } else {
    return std::string{};
  }
  const bool valid = is_key ? looks_like_pem_key(pem) : looks_like_pem_cert(pem);
  if (!valid) {
    return fail(
        "InvalidKubeconfig",
        where + "." + (source.ends_with("-data") ? source : field) +
            (is_key ? " is not a PEM private key" : " is not a PEM certificate") +
            (source.ends_with("-data") ? "" : " (file " + source.substr(field.size() + 1) + ")") +
            "; check that it holds a '-----BEGIN " + (is_key ? "... PRIVATE KEY" : "CERTIFICATE") +
            "-----' block");
  }
  return pem;
}

Result<KubeConfig> build(const Merged& merged, const std::string& files,
                         const std::string& context_override, const Filesystem& fs) {
  std::string context_name = context_override;
  std::string context_file = merged.current_context_file;
  if (context_name.empty()) {
    if (!merged.current_context) {
      return fail("InvalidKubeconfig", "kubeconfig " + files +
                                           ": current-context is not set; run kubectl config "
                                           "use-context <name> or pass a context");
    }
    context_name = *merged.current_context;
  }
  const auto ctx_it = merged.contexts.find(context_name);
  if (ctx_it == merged.contexts.end()) {
    return fail("InvalidKubeconfig",
                "kubeconfig " + (context_override.empty() ? context_file : files) + ": context " +
                    quote(context_name) +
                    " is not defined under contexts; run kubectl config get-contexts");
  }
  const Entry& ctx = ctx_it->second;
  const std::string ctx_where =
      "kubeconfig " + ctx.file + ": contexts[" + quote(context_name) + "]";
  auto cluster_name = scalar(ctx.body, "cluster", ctx_where + ".context");
  if (!cluster_name) return fail(cluster_name.error());
  if (!*cluster_name || (*cluster_name)->empty()) {
    return fail("InvalidKubeconfig", ctx_where + " names no cluster; set context.cluster");
  }
  const auto cl_it = merged.clusters.find(**cluster_name);
  if (cl_it == merged.clusters.end()) {
    return fail("InvalidKubeconfig", "kubeconfig " + ctx.file + ": context " + quote(context_name) +
                                         " names cluster " + quote(**cluster_name) +
                                         " which is not defined under clusters; run kubectl "
                                         "config get-contexts");
  }
  auto user_name = scalar(ctx.body, "user", ctx_where + ".context");
  if (!user_name) return fail(user_name.error());
  const Entry* user = nullptr;
  if (*user_name && !(*user_name)->empty()) {
    const auto u_it = merged.users.find(**user_name);
    if (u_it == merged.users.end()) {
      return fail("InvalidKubeconfig", "kubeconfig " + ctx.file + ": context " +
                                           quote(context_name) + " names user " +
                                           quote(**user_name) +
                                           " which is not defined under users; run kubectl "
                                           "config view to see the users");
    }
    user = &u_it->second;
  }

  KubeConfig out;
  out.origin = "kubeconfig " + ctx.file + ", context " + context_name;

  // The cluster.
  const Entry& cluster = cl_it->second;
  const std::string cl_where =
      "kubeconfig " + cluster.file + ": clusters[" + quote(**cluster_name) + "].cluster";
  auto server = scalar(cluster.body, "server", cl_where);
  if (!server) return fail(server.error());
  if (!*server || (*server)->empty()) {
    return fail("InvalidKubeconfig", cl_where +
                                         ".server is missing; set it to the API server's "
                                         "URL, e.g. https://host:6443");
  }
  out.server = **server;
  auto endpoint = HttpEndpoint::parse(out.server, &out.base_path);
  if (!endpoint) {
    return fail("InvalidKubeconfig", cl_where + ".server: " + endpoint.error().message);
  }
  out.endpoint = *endpoint;
  if (cluster.body["proxy-url"]) {
    return fail("InvalidKubeconfig", cl_where +
                                         ".proxy-url is not supported by keyward; "
                                         "reach the API server directly");
  }
  auto ca = pem_field(cluster.body, "certificate-authority", false, cl_where, fs, cluster.file);
  if (!ca) return fail(ca.error());
  out.tls.ca_pem = std::move(*ca);
  auto insecure = scalar(cluster.body, "insecure-skip-tls-verify", cl_where);
  if (!insecure) return fail(insecure.error());
  if (*insecure) {
    if (**insecure == "true") {
      out.tls.insecure_skip_verify = true;
    } else if (**insecure != "false") {
      return fail("InvalidKubeconfig",
                  cl_where + ".insecure-skip-tls-verify must be true or false");
    }
  }
  if (out.tls.insecure_skip_verify) {
    if (!out.tls.ca_pem.empty()) {
      return fail("InvalidKubeconfig", cl_where +
                                           " sets both insecure-skip-tls-verify and a "
                                           "certificate authority; remove one of them");
    }
    out.warnings.push_back("TLS verification of the API server " + out.server +
                           " is DISABLED (insecure-skip-tls-verify in " + cluster.file +
                           "): anyone on the network path can read and change what keyward "
                           "sends, including keys; use certificate-authority instead");
  }
  auto server_name = scalar(cluster.body, "tls-server-name", cl_where);
  if (!server_name) return fail(server_name.error());
  if (*server_name) out.tls.server_name = **server_name;

  // The user.
  if (user != nullptr) {
    const std::string u_where =
        "kubeconfig " + user->file + ": users[" + quote(**user_name) + "].user";
    for (const char* unsupported : {"exec", "auth-provider"}) {
      if (user->body[unsupported]) {
        return fail("InvalidKubeconfig",
                    u_where + "." + unsupported +
                        " credential plugins are not supported by keyward; use a token, "
                        "tokenFile or a client certificate (e.g. a service account token)");
      }
    }
    if (user->body["username"] || user->body["password"]) {
      return fail("InvalidKubeconfig", u_where +
                                           ".username/password (basic auth) is not "
                                           "supported; use a token or client certificate");
    }
    auto cert = pem_field(user->body, "client-certificate", false, u_where, fs, user->file);
    if (!cert) return fail(cert.error());
    auto key = pem_field(user->body, "client-key", true, u_where, fs, user->file);
    if (!key) return fail(key.error());
    if (cert->empty() != key->empty()) {
      return fail("InvalidKubeconfig",
                  u_where + " has " +
                      (cert->empty() ? "client-key but no client-certificate"
                                     : "client-certificate but no client-key") +
                      "; give both (or the -data forms)");
    }
    out.tls.client_cert_pem = std::move(*cert);
    out.tls.client_key_pem = std::move(*key);
    auto token = scalar(user->body, "token", u_where);
    if (!token) return fail(token.error());
    if (*token) out.token = trim(**token);
    auto token_file = scalar(user->body, "tokenFile", u_where);
    if (!token_file) return fail(token_file.error());
    if (*token_file && !(*token_file)->empty() && out.token.empty()) {
      out.token_file = resolve(**token_file, user->file);
      auto content = fs.read_file(out.token_file);
      if (!content) {
        return fail("InvalidKubeconfig", u_where + ".tokenFile: cannot read " + out.token_file +
                                             " (" + content.error().message + "); check the path");
      }
    }
  }

  auto ns = scalar(ctx.body, "namespace", ctx_where + ".context");
  if (!ns) return fail(ns.error());
  if (*ns && !(*ns)->empty()) out.ns = **ns;
  return out;
}

std::vector<std::string> split_path_list(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto colon = list.find(':', start);
    const std::string part =
        list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!part.empty()) out.push_back(part);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

const std::string* env_get(const Environment& env, const std::string& name) {
  const auto it = env.find(name);
  return it == env.end() || it->second.empty() ? nullptr : &it->second;
}

}  // namespace

Result<KubeConfig> load_kubeconfig_files(const std::vector<std::string>& paths,
                                         const Filesystem& fs, const std::string& context) {
  Merged merged;
  std::vector<std::string> loaded;
  for (const auto& path : paths) {
    auto text = fs.read_file(path);
    if (!text) {
      if (text.error().reason == "NotFound" && paths.size() > 1) continue;  // skipped, as client-go
      return fail("InvalidKubeconfig", "kubeconfig " + path + ": cannot read the file (" +
                                           text.error().message +
                                           "); check KUBECONFIG or the --kubeconfig path");
    }
    if (auto s = merge_file(*text, path, merged); !s) return fail(s.error());
    loaded.push_back(path);
  }
  if (loaded.empty()) {
    std::string list;
    for (const auto& p : paths) list += (list.empty() ? "" : ":") + p;
    return fail("InvalidKubeconfig",
                "kubeconfig " + list + ": none of these files exists; check KUBECONFIG");
  }
  std::string files;
  for (const auto& p : loaded) files += (files.empty() ? "" : ":") + p;
  try {
    return build(merged, files, context, fs);
  } catch (const YAML::Exception& e) {
    return fail("InvalidKubeconfig", "kubeconfig " + files + ": unexpected structure (" + e.msg +
                                         "); compare it with kubectl config view");
  }
}

Result<KubeConfig> load_in_cluster_config(const Environment& env, const Filesystem& fs,
                                          const std::string& service_account_dir) {
  const std::string* host = env_get(env, "KUBERNETES_SERVICE_HOST");
  const std::string* port = env_get(env, "KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr) {
    return fail("InClusterConfigMissing",
                "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both "
                "be set (they are inside a pod); outside a cluster use a kubeconfig");
  }
  KubeConfig out;
  const bool v6 = host->find(':') != std::string::npos;
  out.server = "https://" + (v6 ? "[" + *host + "]" : *host) + ":" + *port;
  auto endpoint = HttpEndpoint::parse(out.server, &out.base_path);
  if (!endpoint) {
    return fail("InClusterConfigMissing", "in-cluster config: KUBERNETES_SERVICE_HOST/PORT give " +
                                              out.server + ": " + endpoint.error().message);
  }
  out.endpoint = *endpoint;
  out.token_file = service_account_dir + "/token";
  auto token = fs.read_file(out.token_file);
  if (!token) {
    return fail("InClusterConfigMissing",
                "in-cluster config: cannot read the service account token " + out.token_file +
                    " (" + token.error().message +
                    "); check automountServiceAccountToken on the pod");
  }
  if (trim(*token).empty()) {
    return fail("InClusterConfigMissing",
                "in-cluster config: the service account token " + out.token_file + " is empty");
  }
  auto ca = fs.read_file(service_account_dir + "/ca.crt");
  if (!ca) {
    return fail("InClusterConfigMissing", "in-cluster config: cannot read " + service_account_dir +
                                              "/ca.crt (" + ca.error().message +
                                              "); check the service account mount");
  }
  if (!looks_like_pem_cert(*ca)) {
    return fail("InClusterConfigMissing",
                "in-cluster config: " + service_account_dir + "/ca.crt is not a PEM certificate");
  }
  out.tls.ca_pem = std::move(*ca);
  if (auto ns = fs.read_file(service_account_dir + "/namespace"); ns && !trim(*ns).empty()) {
    out.ns = trim(*ns);
  }
  out.origin = "in-cluster (service account " + service_account_dir + ")";
  return out;
}

Result<KubeConfig> load_kube_config(const Environment& env, const Filesystem& fs,
                                    const KubeConfigOptions& options) {
  if (!options.kubeconfig_path.empty()) {
    return load_kubeconfig_files({options.kubeconfig_path}, fs, options.context);
  }
  if (const std::string* list = env_get(env, "KUBECONFIG")) {
    auto paths = split_path_list(*list);
    if (paths.empty()) {
      return fail("InvalidKubeconfig",
                  "KUBECONFIG is set but names no file; unset it or list "
                  "files separated by ':'");
    }
    return load_kubeconfig_files(paths, fs, options.context);
  }
  if (env_get(env, "KUBERNETES_SERVICE_HOST") != nullptr) {
    return load_in_cluster_config(env, fs, options.service_account_dir);
  }
  const std::string* home = env_get(env, "HOME");
  if (home == nullptr) {
    return fail("InvalidKubeconfig",
                "no Kubernetes configuration: not in a cluster, KUBECONFIG "
                "unset and HOME unset; pass --kubeconfig");
  }
  return load_kubeconfig_files({*home + "/.kube/config"}, fs, options.context);
}

}  // namespace keyward::kube
