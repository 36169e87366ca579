#include "tests/fake_apiserver/fake_apiserver.h"

#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/core/base64.h"
#include "common/core/openssl_ptr.h"
#include "tests/fake_apiserver/controller_simulation.h"
#include "tests/fake_apiserver/object_store.h"
#include "tests/fake_apiserver/table_printer.h"

namespace keyward::testing {

using fake::ApiResult;
using fake::ObjectPtr;
using fake::ResourceInfo;
using nlohmann::json;

namespace {

// ---- OpenSSL ownership --------------------------------------------------------------------
using openssl::BioPtr;
using openssl::PkeyPtr;
using openssl::X509Ptr;

std::vector<X509Ptr> read_certs(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (bio) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    certs.emplace_back(cert);
  }
  return certs;
}

PkeyPtr read_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : path) {
    if (c == '/') {
      if (!current.empty()) parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) parts.push_back(current);
  return parts;
}

json resource_entry(const ResourceInfo& info) {
  static const std::vector<std::string> kVerbs = {"create", "delete", "deletecollection", "get",
                                                  "list",   "patch",  "update",           "watch"};
  json entry = {{"name", info.plural},
                {"singularName", info.singular},
                {"namespaced", info.namespaced},
                {"kind", info.kind},
                {"verbs", kVerbs}};
  if (!info.short_names.empty()) entry["shortNames"] = info.short_names;
  if (!info.categories.empty()) entry["categories"] = info.categories;
  return entry;
}

std::string param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}

struct FailRule {
  int remaining;
  int status;
  std::string method;
  std::string path_substring;
  int retry_after_seconds;
};

// What a request is about, once its path is understood.
struct Target {
  ResourceInfo info;
  std::string ns;
  std::string name;
  std::string subresource;
};

}  // namespace

std::string render_kubeconfig(const std::string& server_url, const std::string& ca_pem,
                              const std::string& token, const std::string& client_cert_pem,
                              const std::string& client_key_pem) {
  json cluster = {{"server", server_url}};
  if (!ca_pem.empty())
    cluster["certificate-authority-data"] = base64_encode(ca_pem);
  else if (server_url.rfind("https://", 0) == 0)
    cluster["insecure-skip-tls-verify"] = true;
  json user = json::object();
  if (!token.empty()) user["token"] = token;
  if (!client_cert_pem.empty()) user["client-certificate-data"] = base64_encode(client_cert_pem);
  if (!client_key_pem.empty()) user["client-key-data"] = base64_encode(client_key_pem);
  json config = {
      {"apiVersion", "v1"},
      {"kind", "Config"},
      {"clusters", json::array({{{"name", "fake"}, {"cluster", cluster}}})},
      {"users", json::array({{{"name", "fake"}, {"user", user}}})},
      {"contexts",
       json::array({{{"name", "fake"}, {"context", {{"cluster", "fake"}, {"user", "fake"}}}}})},
      {"current-context", "fake"},
      {"preferences", json::object()}};
  return config.dump(2) + "\n";
}

struct FakeApiServer::Impl {
  explicit Impl(FakeApiServerOptions opts)
      : options(std::move(opts)),
        clock(options.clock != nullptr ? options.clock : &real_clock),
        store(fake::StoreOptions{options.history_limit, options.watch_queue_limit,
                                 options.random_seed},
              *clock),
        bearer_token(options.required_bearer_token),
        git_version(options.git_version) {}

  FakeApiServerOptions options;
  RealClock real_clock;
  const Clock* clock;
  fake::ObjectStore store;
  std::unique_ptr<fake::ControllerSimulation> controllers;  // touched only by the owner's thread

  std::unique_ptr<httplib::Server> server;
  std::jthread server_thread;
  std::atomic<int> bound_port{0};
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;  // guards bearer_token, git_version, fail_rules, latency, request_counts,
                          // tokens, token_file
  std::map<std::string, TokenIdentity> tokens;
  std::string token_file;
  std::string bearer_token;
  std::string git_version;
  std::vector<FailRule> fail_rules;
  std::chrono::milliseconds latency{0};
  std::map<std::pair<std::string, std::string>, std::uint64_t>
      request_counts;  // (method, path) -> count

  // ---- helpers ----------------------------------------------------------------------------
  static void send_json(httplib::Response& res, int code, const json& body) {
    res.status = code;
    res.set_content(body.dump(), "application/json");
  }
  static void send_status(httplib::Response& res, const json& status) {
    int code = status.value("code", 500);
    send_json(res, code, status);
    if (code == 429 && !res.has_header("Retry-After")) res.set_header("Retry-After", "1");
  }

  bool authenticated(const httplib::Request& req) const {
    std::string token;
    {
      std::lock_guard lock(mu);
      token = bearer_token;
    }
    if (token.empty() && options.client_ca_pem.empty()) return true;
    if (!token.empty() && req.get_header_value("Authorization") == "Bearer " + token) return true;
    if (!options.client_ca_pem.empty() && req.ssl != nullptr) {
      X509* peer = SSL_get0_peer_certificate(req.ssl);
      if (peer != nullptr && SSL_get_verify_result(req.ssl) == X509_V_OK) return true;
    }
    return false;
  }

  httplib::Server::HandlerResponse before_routing(const httplib::Request& req,
                                                  httplib::Response& res) {
    std::chrono::milliseconds delay{0};
    std::optional<FailRule> failure;
    {
      std::lock_guard lock(mu);
      ++request_counts[{req.method, req.path}];
      delay = latency;
      for (auto it = fail_rules.begin(); it != fail_rules.end(); ++it) {
        if (!it->method.empty() && it->method != req.method) continue;
        if (!it->path_substring.empty() && req.path.find(it->path_substring) == std::string::npos)
          continue;
        failure = *it;
        if (--it->remaining <= 0) fail_rules.erase(it);
        break;
      }
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);  // injected latency, by request
    if (req.path == "/healthz" || req.path == "/livez" || req.path == "/readyz")
      return httplib::Server::HandlerResponse::Unhandled;
    // An answer given here leaves the request body unread, and on a kept-alive connection it
    // would be taken for the next request: such a connection is closed after the answer.
    const bool unread_body =
        req.has_header("Content-Length") || req.has_header("Transfer-Encoding");
    if (!authenticated(req)) {
      send_status(res, fake::make_status(401, "Unauthorized", "Unauthorized"));
      if (unread_body) res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (failure) {
      json details = nullptr;
      if (failure->retry_after_seconds > 0) {
        details = json{{"retryAfterSeconds", failure->retry_after_seconds}};
        res.set_header("Retry-After", std::to_string(failure->retry_after_seconds));
      }
      send_status(res,
                  fake::make_status(failure->status, fake::reason_for_code(failure->status),
                                    "injected failure: the fake API server was told to answer " +
                                        std::to_string(failure->status) + " (fail_next)",
                                    std::move(details)));
      if (unread_body) res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // ---- discovery --------------------------------------------------------------------------
  json version_info() const {
    std::string v;
    {
      std::lock_guard lock(mu);
      v = git_version;
    }
    std::string major = "1";
    std::string minor = "0";
    std::string core = v.size() > 1 && v[0] == 'v' ? v.substr(1) : v;
    auto dot = core.find('.');
    if (dot != std::string::npos) {
      major = core.substr(0, dot);
      auto dot2 = core.find('.', dot + 1);
      minor = core.substr(dot + 1, dot2 == std::string::npos ? std::string::npos : dot2 - dot - 1);
    }
    return {{"major", major},           {"minor", minor},
            {"gitVersion", v},          {"gitCommit", "0000000000000000000000000000000000000000"},
            {"gitTreeState", "clean"},  {"buildDate", "2024-01-01T00:00:00Z"},
            {"goVersion", "go1.22.0"},  {"compiler", "gc"},
            {"platform", "linux/amd64"}};
  }

  json resource_list(const std::string& group, const std::string& version) const {
    json resources = json::array();
    bool found = false;
    for (const ResourceInfo& info : store.resources()) {
      if (info.group != group || info.version != version) continue;
      found = true;
      resources.push_back(resource_entry(info));
      if (info.status_subresource) {
        resources.push_back({{"name", info.plural + "/status"},
                             {"singularName", ""},
                             {"namespaced", info.namespaced},
                             {"kind", info.kind},
                             {"verbs", {"get", "patch", "update"}}});
      }
      if (info.eviction_subresource) {
        resources.push_back({{"name", info.plural + "/eviction"},
                             {"singularName", ""},
                             {"namespaced", true},
                             {"group", "policy"},
                             {"version", "v1"},
                             {"kind", "Eviction"},
                             {"verbs", {"create"}}});
      }
    }
    if (!found) return nullptr;
    return {{"kind", "APIResourceList"},
            {"apiVersion", "v1"},
            {"groupVersion", group.empty() ? version : group + "/" + version},
            {"resources", resources}};
  }

  json group_entry(const std::string& group) const {
    std::vector<std::string> versions;
    for (const ResourceInfo& info : store.resources()) {
      if (info.group == group &&
          std::find(versions.begin(), versions.end(), info.version) == versions.end()) {
        versions.push_back(info.version);
      }
    }
    if (versions.empty()) return nullptr;
    json vs = json::array();
    for (const auto& v : versions)
      vs.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
    return {{"name", group}, {"versions", vs}, {"preferredVersion", vs[0]}};
  }

  json group_list() const {
    std::set<std::string> groups;
    for (const ResourceInfo& info : store.resources()) {
      if (!info.group.empty()) groups.insert(info.group);
    }
    json list = json::array();
    for (const auto& g : groups) list.push_back(group_entry(g));
    return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}};
  }

  // ---- OpenAPI v3 ---------------------------------------------------------------------------
  // Just enough for kubectl: each group-version document lists the PATCH operations with their
  // x-kubernetes-group-version-kind and the fieldValidation parameter, so kubectl leaves
  // validation to the server (fieldValidation=Strict) instead of downloading schemas.
  // No component schemas are served.
  std::map<std::string, std::vector<ResourceInfo>> resources_by_gv() const {
    std::map<std::string, std::vector<ResourceInfo>> by_gv;
    for (const ResourceInfo& info : store.resources()) {
      by_gv[info.group.empty() ? "api/" + info.version : "apis/" + info.group + "/" + info.version]
          .push_back(info);
    }
    return by_gv;
  }

  static std::string gv_hash(const std::vector<ResourceInfo>& infos) {
    std::uint64_t h = 1469598103934665603ull;
    for (const ResourceInfo& info : infos) {
      for (char c : info.plural + info.kind + info.schema.dump() + info.printer_columns.dump()) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
      }
    }
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(h));
    return buf;
  }

  json openapi_root() const {
    json paths = json::object();
    for (const auto& [gv, infos] : resources_by_gv()) {
      paths[gv] = {{"serverRelativeURL", "/openapi/v3/" + gv + "?hash=" + gv_hash(infos)}};
    }
    return {{"paths", paths}};
  }

  json openapi_group_version(const std::string& gv) const {
    auto by_gv = resources_by_gv();
    auto it = by_gv.find(gv);
    if (it == by_gv.end()) return nullptr;
    json paths = json::object();
    json params = json::array();
    for (const char* name : {"dryRun", "fieldManager", "fieldValidation", "force"}) {
      params.push_back({{"name", name},
                        {"in", "query"},
                        {"schema", {{"type", "string"}}},
                        {"uniqueItems", true}});
    }
    for (const ResourceInfo& info : it->second) {
      json gvk = {{"group", info.group}, {"version", info.version}, {"kind", info.kind}};
      std::string base =
          "/" + gv + (info.namespaced ? "/namespaces/{namespace}/" : "/") + info.plural + "/{name}";
      json op = {{"operationId", "patch" + info.kind},
                 {"parameters", params},
                 {"x-kubernetes-action", "patch"},
                 {"x-kubernetes-group-version-kind", gvk},
                 {"responses", {{"200", {{"description", "OK"}}}}}};
      paths[base] = {{"patch", op}};
      if (info.status_subresource) {
        json status_op = op;
        status_op["operationId"] = "patch" + info.kind + "Status";
        paths[base + "/status"] = {{"patch", status_op}};
      }
    }
    return {{"openapi", "3.0.0"},
            {"info", {{"title", "Kubernetes"}, {"version", "fake"}}},
            {"paths", paths},
            {"components", {{"schemas", json::object()}}}};
  }

  // ---- the REST handler -----------------------------------------------------------------
  void handle(const httplib::Request& req, httplib::Response& res) {
    const std::string& path = req.path;
    if (path == "/healthz" || path == "/livez" || path == "/readyz") {
      res.set_content("ok", "text/plain");
      return;
    }
    if (path == "/version" || path == "/version/") return send_json(res, 200, version_info());
    if (path == "/apis/authentication.k8s.io/v1/tokenreviews") {
      if (req.method != "POST") return send_status(res, method_not_allowed());
      return handle_token_review(req, res);
    }
    if (path == "/api" || path == "/api/") {
      return send_json(
          res, 200,
          {{"kind", "APIVersions"},
           {"versions", {"v1"}},
           {"serverAddressByClientCIDRs",
            json::array({{{"clientCIDR", "0.0.0.0/0"},
                          {"serverAddress", "127.0.0.1:" + std::to_string(bound_port.load())}}})}});
    }
    if (path == "/apis" || path == "/apis/") return send_json(res, 200, group_list());
    if (path == "/openapi/v3" || path == "/openapi/v3/") return send_json(res, 200, openapi_root());
    if (path.rfind("/openapi/v3/", 0) == 0) {
      json doc = openapi_group_version(path.substr(std::string("/openapi/v3/").size()));
      if (doc.is_null()) return send_status(res, not_found_path());
      return send_json(res, 200, doc);
    }
    std::vector<std::string> segs = split_path(path);
    std::string group;
    std::string version;
    std::size_t rest_at = 0;
    if (segs.size() >= 2 && segs[0] == "api") {
      version = segs[1];
      rest_at = 2;
    } else if (segs.size() >= 2 && segs[0] == "apis") {
      group = segs[1];
      if (segs.size() == 2) {
        json entry = group_entry(group);
        if (entry.is_null()) return send_status(res, not_found_path());
        entry["kind"] = "APIGroup";
        entry["apiVersion"] = "v1";
        return send_json(res, 200, entry);
      }
      version = segs[2];
      rest_at = 3;
    } else {
      return send_status(res, not_found_path());
    }
    std::vector<std::string> rest(segs.begin() + static_cast<std::ptrdiff_t>(rest_at), segs.end());
    if (rest.empty()) {
      if (req.method != "GET") return send_status(res, method_not_allowed());
      json list = resource_list(group, version);
      if (list.is_null()) return send_status(res, not_found_path());
      return send_json(res, 200, list);
    }
    Target target;
    std::string plural;
    bool namespace_sub = rest.size() == 3 && rest[0] == "namespaces" &&
                         (rest[2] == "status" || rest[2] == "finalize");
    if (rest[0] == "namespaces" && rest.size() >= 3 && !namespace_sub) {
      target.ns = rest[1];
      plural = rest[2];
      if (rest.size() >= 4) target.name = rest[3];
      if (rest.size() >= 5) target.subresource = rest[4];
      if (rest.size() > 5) return send_status(res, not_found_path());
    } else {
      plural = rest[0];
      if (rest.size() >= 2) target.name = rest[1];
      if (rest.size() >= 3) target.subresource = rest[2];
      if (rest.size() > 3) return send_status(res, not_found_path());
    }
    auto info = store.find_resource(group, version, plural);
    if (!info) return send_status(res, not_found_path());
    target.info = *info;
    if (!info->namespaced && !target.ns.empty()) return send_status(res, not_found_path());
    if (info->namespaced && !target.name.empty() && target.ns.empty())
      return send_status(res, not_found_path());
    if (!target.subresource.empty()) {
      bool known = (target.subresource == "status" && info->status_subresource) ||
                   (target.subresource == "eviction" && info->eviction_subresource) ||
                   (target.subresource == "finalize" && info->plural == "namespaces");
      if (!known) return send_status(res, not_found_path());
    }
    if (req.method == "GET") return handle_get(req, res, target);
    if (req.method == "POST") return handle_post(req, res, target);
    if (req.method == "PUT") return handle_put(req, res, target);
    if (req.method == "PATCH") return handle_patch(req, res, target);
    if (req.method == "DELETE") return handle_delete(req, res, target);
    send_status(res, method_not_allowed());
  }

  // TokenReview, shaped like the real API server's answer: the request echoed with a status of
  // {authenticated, user{username,uid,groups,extra}, audiences} or {user:{}, error}.
  void handle_token_review(const httplib::Request& req, httplib::Response& res) {
    auto body = parse_body(req, res, false);
    if (!body) return;
    if (!body->is_object() || body->value("kind", "TokenReview") != "TokenReview" ||
        !body->contains("spec") || !(*body)["spec"].is_object()) {
      return send_status(
          res, fake::make_status(400, "BadRequest", "the body is not a TokenReview with a spec"));
    }
    const json& spec = (*body)["spec"];
    const std::string token = spec.value("token", "");
    std::vector<std::string> wanted;
    if (spec.contains("audiences") && spec["audiences"].is_array()) {
      for (const auto& a : spec["audiences"])
        if (a.is_string()) wanted.push_back(a.get<std::string>());
    }
    std::optional<TokenIdentity> identity;
    {
      std::lock_guard lock(mu);
      if (!token_file.empty()) {
        std::ifstream in(token_file);
        json file = json::parse(in, nullptr, false);
        if (!file.is_discarded() && file.is_object() && file.contains(token)) {
          identity = TokenIdentity::from_json(file[token]);
        }
      }
      if (auto it = tokens.find(token); it != tokens.end()) identity = it->second;
    }
    json out = *body;
    out["apiVersion"] = "authentication.k8s.io/v1";
    out["kind"] = "TokenReview";
    out["metadata"] = {{"creationTimestamp", nullptr}};
    json status = {{"user", json::object()}};
    if (identity) {
      std::vector<std::string> has = identity->audiences;
      if (has.empty()) has = {"https://kubernetes.default.svc.cluster.local"};
      // No spec.audiences: the API server checks for its own audience, as the real one does.
      if (wanted.empty()) wanted = {"https://kubernetes.default.svc.cluster.local"};
      std::vector<std::string> common;
      for (const auto& w : wanted)
        if (std::find(has.begin(), has.end(), w) != has.end()) common.push_back(w);
      if (common.empty()) {
        status["error"] = "[invalid bearer token, token audiences " + json(has).dump() +
                          " is invalid for the target audiences " + json(wanted).dump() + "]";
      } else {
        json user = {
            {"username", identity->username}, {"uid", identity->uid}, {"groups", identity->groups}};
        if (!identity->extra.empty()) user["extra"] = identity->extra;
        status = {{"authenticated", true}, {"user", user}, {"audiences", common}};
      }
    } else {
      status["error"] = "[invalid bearer token, service account token has been invalidated]";
    }
    out["status"] = status;
    send_json(res, 201, out);
  }

  static json not_found_path() {
    return fake::make_status(404, "NotFound", "the server could not find the requested resource",
                             json{{"causes", json::array({{{"reason", "UnexpectedServerResponse"},
                                                           {"message", "404 page not found"}}})}});
  }
  static json method_not_allowed() {
    return fake::make_status(405, "MethodNotAllowed",
                             "the server does not allow this method on the requested resource");
  }

  static bool wants_table(const httplib::Request& req) {
    return req.get_header_value("Accept").find("as=Table") != std::string::npos;
  }

  // Objects are stored at one version; a request through another version of the same
  // resource sees the same object with that apiVersion.
  static ObjectPtr served(const ObjectPtr& obj, const ResourceInfo& info) {
    if (obj->value("apiVersion", "") == info.api_version()) return obj;
    auto copy = std::make_shared<json>(*obj);
    (*copy)["apiVersion"] = info.api_version();
    return copy;
  }

  static fake::WriteOptions write_options(const httplib::Request& req) {
    fake::WriteOptions opts;
    opts.strict_fields = param(req, "fieldValidation") == "Strict";
    opts.dry_run = param(req, "dryRun") == "All";
    return opts;
  }

  static std::optional<json> parse_body(const httplib::Request& req, httplib::Response& res,
                                        bool allow_empty) {
    if (req.body.empty() && allow_empty) return json::object();
    try {
      return json::parse(req.body);
    } catch (const json::exception& e) {
      send_status(
          res, fake::make_status(400, "BadRequest",
                                 std::string("the request body is not valid JSON: ") + e.what()));
      return std::nullopt;
    }
  }

  void answer(httplib::Response& res, int code, const ApiResult<ObjectPtr>& result,
              const ResourceInfo& info) {
    if (!result) return send_status(res, result.error());
    send_json(res, code, *served(*result, info));
  }

  void handle_get(const httplib::Request& req, httplib::Response& res, const Target& t) {
    if (t.name.empty()) {
      std::string watch = param(req, "watch");
      if (watch == "true" || watch == "1") return handle_watch(req, res, t);
      fake::ListOptions list_opts;
      list_opts.label_selector = param(req, "labelSelector");
      list_opts.field_selector = param(req, "fieldSelector");
      list_opts.continue_token = param(req, "continue");
      if (std::string limit = param(req, "limit"); !limit.empty()) {
        try {
          list_opts.limit = std::stoul(limit);
        } catch (const std::exception&) {
          return send_status(
              res, fake::make_status(400, "BadRequest", "limit must be a non-negative integer"));
        }
      }
      auto listed = store.list(t.info, t.ns, list_opts);
      if (!listed) return send_status(res, listed.error());
      json meta = {{"resourceVersion", listed->resource_version}};
      if (!listed->continue_token.empty()) meta["continue"] = listed->continue_token;
      if (listed->remaining_item_count >= 0)
        meta["remainingItemCount"] = listed->remaining_item_count;
      if (wants_table(req)) {
        std::vector<ObjectPtr> items;
        for (const auto& o : listed->items) items.push_back(served(o, t.info));
        json table = fake::make_table(t.info, items, param(req, "includeObject"), clock->now());
        table["metadata"] = meta;
        return send_json(res, 200, table);
      }
      // Built by hand so tens of thousands of items are serialised once, without a deep copy.
      std::string body = R"({"kind":)" + json(t.info.list_kind()).dump() + R"(,"apiVersion":)" +
                         json(t.info.api_version()).dump() + R"(,"metadata":)" + meta.dump() +
                         R"(,"items":[)";
      bool first = true;
      for (const auto& o : listed->items) {
        if (!first) body += ',';
        first = false;
        body += served(o, t.info)->dump();
      }
      body += "]}";
      res.status = 200;
      res.set_content(body, "application/json");
      return;
    }
    auto got = store.get(t.info, t.ns, t.name);
    if (!got) return send_status(res, got.error());
    if (wants_table(req)) {
      return send_json(res, 200,
                       fake::make_table(t.info, {served(*got, t.info)}, param(req, "includeObject"),
                                        clock->now()));
    }
    send_json(res, 200, *served(*got, t.info));
  }

  void handle_post(const httplib::Request& req, httplib::Response& res, const Target& t) {
    auto body = parse_body(req, res, false);
    if (!body) return;
    if (t.subresource == "eviction") {
      auto evicted = store.evict(t.ns, t.name, *body);
      if (!evicted) return send_status(res, evicted.error());
      return send_json(res, 201, *evicted);
    }
    if (!t.name.empty()) return send_status(res, method_not_allowed());
    if (body->is_object()) {
      std::string kind = body->value("kind", "");
      if (!kind.empty() && kind != t.info.kind) {
        return send_status(res,
                           fake::make_status(400, "BadRequest",
                                             "the kind \"" + kind +
                                                 "\" of the body does not match the resource \"" +
                                                 t.info.plural + "\" (kind " + t.info.kind + ")"));
      }
    }
    answer(res, 201, store.create(t.info, t.ns, std::move(*body), write_options(req)), t.info);
  }

  void handle_put(const httplib::Request& req, httplib::Response& res, const Target& t) {
    if (t.name.empty()) return send_status(res, method_not_allowed());
    auto body = parse_body(req, res, false);
    if (!body) return;
    answer(res, 200,
           store.update(t.info, t.ns, t.name, std::move(*body), t.subresource == "status",
                        write_options(req)),
           t.info);
  }

  void handle_patch(const httplib::Request& req, httplib::Response& res, const Target& t) {
    if (t.name.empty()) return send_status(res, method_not_allowed());
    answer(res, 200,
           store.patch(t.info, t.ns, t.name, req.get_header_value("Content-Type"), req.body,
                       t.subresource == "status", write_options(req)),
           t.info);
  }

  void handle_delete(const httplib::Request& req, httplib::Response& res, const Target& t) {
    auto body = parse_body(req, res, true);
    if (!body) return;
    if (param(req, "dryRun") == "All") (*body)["dryRun"] = json::array({"All"});
    if (t.name.empty()) {
      fake::ListOptions list_opts;
      list_opts.label_selector = param(req, "labelSelector");
      list_opts.field_selector = param(req, "fieldSelector");
      auto removed = store.remove_collection(t.info, t.ns, list_opts);
      if (!removed) return send_status(res, removed.error());
      return send_json(res, 200, fake::make_success_status(200));
    }
    answer(res, 200, store.remove(t.info, t.ns, t.name, *body), t.info);
  }

  // ---- watch ------------------------------------------------------------------------------
  struct WatchStream {
    fake::WatchStart start;
    ResourceInfo info;
    bool table = false;
    std::string include_object;
    bool bookmarks = false;
    std::chrono::milliseconds bookmark_interval{0};
    std::optional<std::chrono::steady_clock::time_point> deadline;
    int tls_fd = -1;  // the connection's socket when served over TLS, to notice a client that left
  };

  // A watch client never sends anything mid-stream; readable data (a TLS close_notify) or EOF
  // means it has gone. Only possible over TLS, where the SSL object exposes the socket.
  static bool client_gone(int fd) {
    if (fd < 0) return false;
    char byte = 0;
    ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

  json event_object(const WatchStream& ws, const ObjectPtr& obj) const {
    ObjectPtr o = served(obj, ws.info);
    if (!ws.table) return *o;
    return fake::make_table(ws.info, {o}, ws.include_object, clock->now());
  }

  json bookmark(const WatchStream& ws, std::uint64_t rv) const {
    return {{"type", "BOOKMARK"},
            {"object",
             {{"kind", ws.info.kind},
              {"apiVersion", ws.info.api_version()},
              {"metadata", {{"resourceVersion", std::to_string(rv)}}}}}};
  }

  void handle_watch(const httplib::Request& req, httplib::Response& res, const Target& t) {
    fake::WatchOptions watch_opts;
    watch_opts.resource_version = param(req, "resourceVersion");
    watch_opts.label_selector = param(req, "labelSelector");
    watch_opts.field_selector = param(req, "fieldSelector");
    auto started = store.watch(t.info, t.ns, watch_opts);
    if (!started) return send_status(res, started.error());
    auto ws = std::make_shared<WatchStream>();
    ws->start = std::move(*started);
    ws->info = t.info;
    ws->table = wants_table(req);
    ws->include_object = param(req, "includeObject");
    ws->bookmarks = param(req, "allowWatchBookmarks") == "true";
    ws->bookmark_interval = options_bookmark_interval();
    if (req.ssl != nullptr) ws->tls_fd = SSL_get_fd(req.ssl);
    if (std::string timeout = param(req, "timeoutSeconds"); !timeout.empty()) {
      try {
        ws->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::stoll(timeout));
      } catch (const std::exception&) {
        return send_status(
            res, fake::make_status(400, "BadRequest", "timeoutSeconds must be an integer"));
      }
    }
    res.status = 200;
    res.set_header("Cache-Control", "no-cache, private");
    // "application/json;stream=watch" rather than bare "application/json": cpp-httplib gzips
    // bare JSON for clients that accept gzip (kubectl does), and its gzip stream holds small
    // events back until the watch ends. client-go ignores the parameter.
    res.set_chunked_content_provider(
        "application/json;stream=watch",
        [this, ws](std::size_t, httplib::DataSink& sink) {
          stream_watch(*ws, sink);
          return true;
        },
        [ws](bool) {
          if (ws->start.channel) ws->start.channel->close();
        });
  }

  std::chrono::milliseconds options_bookmark_interval() const { return options.bookmark_interval; }

  void stream_watch(WatchStream& ws, httplib::DataSink& sink) {
    auto write = [&sink](const json& event) {
      std::string line = event.dump() + "\n";
      return sink.write(line.data(), line.size());
    };
    if (ws.start.error_event) {
      write(*ws.start.error_event);
      sink.done();
      return;
    }
    for (const fake::WatchEvent& e : ws.start.initial) {
      if (!write({{"type", e.type}, {"object", event_object(ws, e.object)}})) return sink.done();
    }
    ws.start.initial.clear();
    auto& channel = *ws.start.channel;
    using Clock = std::chrono::steady_clock;
    auto next_bookmark = Clock::now() + ws.bookmark_interval;
    while (!stopping.load()) {
      auto wake = Clock::now() + std::chrono::milliseconds(250);
      if (ws.deadline && *ws.deadline < wake) wake = *ws.deadline;
      if (ws.bookmarks && ws.bookmark_interval.count() > 0 && next_bookmark < wake)
        wake = next_bookmark;
      fake::WatchEvent event;
      auto popped = channel.pop(event, wake);
      if (popped == fake::WatchChannel::Pop::Closed) break;
      if (popped == fake::WatchChannel::Pop::Event) {
        if (!ws.start.filter.translate(event)) continue;
        if (!write({{"type", event.type}, {"object", event_object(ws, event.object)}})) break;
        continue;
      }
      if (client_gone(ws.tls_fd)) break;
      auto now = Clock::now();
      if (ws.deadline && now >= *ws.deadline) {
        if (ws.bookmarks) {
          if (auto rv = store.bookmark_version(channel)) write(bookmark(ws, *rv));
        }
        break;
      }
      if (ws.bookmarks && ws.bookmark_interval.count() > 0 && now >= next_bookmark) {
        if (auto rv = store.bookmark_version(channel)) {
          if (!write(bookmark(ws, *rv))) break;
        }
        next_bookmark = now + ws.bookmark_interval;
      }
    }
    channel.close();
    sink.done();
  }

  // ---- lifecycle ----------------------------------------------------------------------------
  Status make_server() {
    if (!options.tls) {
      server = std::make_unique<httplib::Server>();
      return ok();
    }
    auto certs = read_certs(options.cert_pem);
    PkeyPtr key = read_key(options.key_pem);
    if (certs.empty() || !key) {
      return fail("InvalidCertificate",
                  "FakeApiServerOptions.cert_pem/key_pem do not hold a PEM certificate and "
                  "private key; pass both when tls is true");
    }
    auto client_cas = read_certs(options.client_ca_pem);
    if (!options.client_ca_pem.empty() && client_cas.empty()) {
      return fail("InvalidCertificate",
                  "FakeApiServerOptions.client_ca_pem holds no PEM certificate");
    }
    auto ssl_server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      if (SSL_CTX_use_certificate(&ctx, certs[0].get()) != 1) return false;
      for (std::size_t i = 1; i < certs.size(); ++i) SSL_CTX_add1_chain_cert(&ctx, certs[i].get());
      if (SSL_CTX_use_PrivateKey(&ctx, key.get()) != 1 || SSL_CTX_check_private_key(&ctx) != 1)
        return false;
      if (!client_cas.empty()) {
        X509_STORE* ca_store = X509_STORE_new();
        for (const auto& ca : client_cas) {
          X509_STORE_add_cert(ca_store, ca.get());
          SSL_CTX_add_client_CA(&ctx, ca.get());
        }
        SSL_CTX_set_cert_store(&ctx, ca_store);  // the context owns the store now
        // Verify a client certificate when one is sent; bearer tokens still work without one.
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
      }
      return true;
    });
    if (!ssl_server->is_valid()) {
      return fail("InvalidCertificate",
                  "the TLS server could not be set up with the given certificate and key "
                  "(do they belong together?)");
    }
    server = std::move(ssl_server);
    return ok();
  }
};

FakeApiServer::FakeApiServer(FakeApiServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  for (const std::string& file : impl_->options.crd_files) {
    if (Status registered = register_crd_file(file); !registered) {
      throw std::runtime_error("FakeApiServer: " + registered.error().to_string());
    }
  }
}

FakeApiServer::~FakeApiServer() { stop(); }

Status FakeApiServer::start(const std::string& host, int port) {
  Impl& im = *impl_;
  if (im.server)
    return fail("AlreadyStarted", "FakeApiServer::start called twice; call stop() first");
  if (Status made = im.make_server(); !made) return made;
  im.stopping = false;
  std::size_t threads = im.options.worker_threads;
  // httplib's API: the server takes ownership of the raw pointer new_task_queue returns.
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): no gsl::owner in a foreign signature.
  im.server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // A real API server (Go's net/http) serves any number of requests on a kept-alive connection;
  // httplib's default closes it after 5. The idle timeout stays short so stop() is prompt.
  im.server->set_keep_alive_max_count(std::numeric_limits<std::size_t>::max());
  im.server->set_keep_alive_timeout(1);
  im.server->set_tcp_nodelay(true);
  im.server->set_read_timeout(30);
  im.server->set_write_timeout(30);
  im.server->set_pre_routing_handler([&im](const httplib::Request& req, httplib::Response& res) {
    return im.before_routing(req, res);
  });
  auto handler = [&im](const httplib::Request& req, httplib::Response& res) {
    try {
      im.handle(req, res);
    } catch (const std::exception& e) {
      Impl::send_status(res, fake::make_status(500, "InternalError",
                                               std::string("fake API server error: ") + e.what()));
    }
  };
  im.server->Get(".*", handler);
  im.server->Post(".*", handler);
  im.server->Put(".*", handler);
  im.server->Patch(".*", handler);
  im.server->Delete(".*", handler);
  int bound = port == 0 ? im.server->bind_to_any_port(host)
                        : (im.server->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    im.server.reset();
    return fail("BindFailed", "the fake API server could not listen on " + host + ":" +
                                  std::to_string(port) + "; pick another port or 0 for any");
  }
  im.bound_port = bound;
  im.server_thread = std::jthread([&im] { im.server->listen_after_bind(); });
  // The socket already queues connections; wait for the accept loop so stop() can end it.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!im.server->is_running() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!im.server->is_running()) {
    stop();
    return fail("StartFailed",
                "the fake API server did not start accepting connections within 10s");
  }
  return ok();
}

void FakeApiServer::stop() {
  Impl& im = *impl_;
  if (im.controllers) im.controllers->stop();
  if (!im.server) return;
  im.stopping = true;
  im.store.cut_watches();
  im.server->stop();
  if (im.server_thread.joinable()) im.server_thread.join();
  im.server.reset();
}

int FakeApiServer::port() const { return impl_->bound_port.load(); }

std::string FakeApiServer::url() const {
  return std::string(impl_->options.tls ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(port());
}

json FakeApiServer::apply(const json& object) {
  auto applied = impl_->store.apply(object);
  if (!applied)
    throw std::runtime_error("FakeApiServer::apply: " +
                             applied.error().value("message", std::string()));
  return **applied;
}

std::optional<json> FakeApiServer::get(const std::string& api_version, const std::string& kind,
                                       const std::string& ns, const std::string& name) const {
  auto info = impl_->store.find_kind(api_version, kind);
  if (!info) return std::nullopt;
  auto got = impl_->store.get(*info, ns, name);
  if (!got) return std::nullopt;
  return *Impl::served(*got, *info);
}

std::vector<json> FakeApiServer::list(const std::string& api_version, const std::string& kind,
                                      const std::string& ns) const {
  std::vector<json> out;
  auto info = impl_->store.find_kind(api_version, kind);
  if (!info) return out;
  auto listed = impl_->store.list(*info, ns, {});
  if (!listed) return out;
  for (const auto& o : listed->items) out.push_back(*Impl::served(o, *info));
  return out;
}

Status FakeApiServer::register_crd(const json& crd) {
  auto info = impl_->store.find_resource("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  auto existing = impl_->store.get(*info, "", fake::meta_string(crd, "name"));
  auto result = existing
                    ? impl_->store.update(*info, "", fake::meta_string(crd, "name"), crd, false)
                    : impl_->store.create(*info, "", crd);
  if (!result) {
    return fail(result.error().value("reason", std::string("Invalid")),
                result.error().value("message", std::string()), result.error().value("code", 422));
  }
  return ok();
}

Status FakeApiServer::register_crd_file(const std::string& yaml_path) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAllFromFile(yaml_path);
  } catch (const YAML::Exception& e) {
    return fail("InvalidCrdFile", "cannot read CRD file " + yaml_path + ": " + e.what());
  }
  int registered = 0;
  for (const YAML::Node& doc : docs) {
    // yaml-cpp -> JSON text -> nlohmann, keeping scalars typed the way YAML 1.2 core reads them.
    std::function<json(const YAML::Node&)> to_json = [&](const YAML::Node& n) -> json {
      switch (n.Type()) {
        case YAML::NodeType::Map: {
          json o = json::object();
          for (const auto& kv : n) o[kv.first.as<std::string>()] = to_json(kv.second);
          return o;
        }
        case YAML::NodeType::Sequence: {
          json a = json::array();
          for (const auto& item : n) a.push_back(to_json(item));
          return a;
        }
        case YAML::NodeType::Scalar: {
          const std::string& s = n.Scalar();
          if (n.Tag() == "!") return s;  // quoted: always a string
          if (s == "true" || s == "True") return true;
          if (s == "false" || s == "False") return false;
          if (s == "null" || s == "~") return nullptr;
          try {
            std::size_t used = 0;
            long long i = std::stoll(s, &used);
            if (used == s.size()) return i;
            double d = std::stod(s, &used);
            if (used == s.size()) return d;
          } catch (const std::exception&) {
          }
          return s;
        }
        default:
          return nullptr;
      }
    };
    json crd = to_json(doc);
    if (!crd.is_object() || crd.value("kind", "") != "CustomResourceDefinition") continue;
    if (Status s = register_crd(crd); !s) {
      return fail(s.error().reason, "CRD file " + yaml_path + ": " + s.error().message);
    }
    ++registered;
  }
  if (registered == 0) return fail("InvalidCrdFile", "no CustomResourceDefinition in " + yaml_path);
  return ok();
}

void FakeApiServer::set_bearer_token(std::string token) {
  std::lock_guard lock(impl_->mu);
  impl_->bearer_token = std::move(token);
}

TokenIdentity TokenIdentity::bound_pod(const std::string& ns, const std::string& service_account,
                                       const std::string& pod_name, const std::string& pod_uid) {
  TokenIdentity t = legacy(ns, service_account);
  t.extra = {{"authentication.kubernetes.io/pod-name", {pod_name}},
             {"authentication.kubernetes.io/pod-uid", {pod_uid}},
             {"authentication.kubernetes.io/node-name", {"node-1"}},
             {"authentication.kubernetes.io/credential-id", {"JTI=" + pod_uid + "-jti"}}};
  return t;
}

TokenIdentity TokenIdentity::legacy(const std::string& ns, const std::string& service_account) {
  TokenIdentity t;
  t.username = "system:serviceaccount:" + ns + ":" + service_account;
  t.uid = "sa-uid-" + ns + "-" + service_account;
  t.groups = {"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"};
  return t;
}

TokenIdentity TokenIdentity::from_json(const nlohmann::json& j) {
  TokenIdentity t;
  if (!j.is_object()) return t;
  t.username = j.value("username", "");
  t.uid = j.value("uid", "");
  t.groups = j.value("groups", std::vector<std::string>{});
  t.extra = j.value("extra", std::map<std::string, std::vector<std::string>>{});
  t.audiences = j.value("audiences", std::vector<std::string>{});
  return t;
}

void FakeApiServer::add_token(const std::string& token, TokenIdentity identity) {
  std::lock_guard lock(impl_->mu);
  impl_->tokens[token] = std::move(identity);
}

void FakeApiServer::remove_token(const std::string& token) {
  std::lock_guard lock(impl_->mu);
  impl_->tokens.erase(token);
}

void FakeApiServer::set_token_file(std::string path) {
  std::lock_guard lock(impl_->mu);
  impl_->token_file = std::move(path);
}

void FakeApiServer::set_git_version(std::string v) {
  std::lock_guard lock(impl_->mu);
  impl_->git_version = std::move(v);
}

void FakeApiServer::cut_watches() { impl_->store.cut_watches(); }

void FakeApiServer::fail_next(int count, int status, std::string method, std::string path_substring,
                              int retry_after_seconds) {
  if (count <= 0) return;
  std::lock_guard lock(impl_->mu);
  impl_->fail_rules.push_back(
      FailRule{count, status, std::move(method), std::move(path_substring), retry_after_seconds});
}

void FakeApiServer::set_latency(std::chrono::milliseconds latency) {
  std::lock_guard lock(impl_->mu);
  impl_->latency = latency;
}

void FakeApiServer::compact() { impl_->store.compact(); }

std::uint64_t FakeApiServer::request_count(const std::string& method,
                                           const std::string& path_substring) const {
  std::lock_guard lock(impl_->mu);
  std::uint64_t total = 0;
  for (const auto& [key, count] : impl_->request_counts) {
    if (!method.empty() && key.first != method) continue;
    if (key.second.find(path_substring) == std::string::npos) continue;
    total += count;
  }
  return total;
}

std::string FakeApiServer::resource_version() const {
  return std::to_string(impl_->store.resource_version());
}

void FakeApiServer::enable_controller_simulation(bool on) {
  Impl& im = *impl_;
  if (on) {
    if (!im.controllers) im.controllers = std::make_unique<fake::ControllerSimulation>(im.store);
    im.controllers->start();
  } else if (im.controllers) {
    im.controllers->stop();
  }
}

void FakeApiServer::set_pod_mutator(std::function<json(const json& pod)> mutator) {
  impl_->store.set_pod_mutator(std::move(mutator));
}

}  // namespace keyward::testing
