#include "operator/webhook/inject_command.h"

#include <charconv>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "common/core/yaml_json.h"
#include "common/kube/object_meta.h"

namespace keyward::webhook {
namespace {

using nlohmann::json;

constexpr const char* kUsage =
    "usage: keyward-operator inject -f FILE|- [--apikey-file FILE]...\n"
    "       [--server-version MAJOR.MINOR] [--sidecar-image IMAGE] [--mode broker|direct]\n"
    "       [--broker-url URL] [--broker-ca-file CA.PEM] [--broker-audience AUD]\n"
    "       [--namespace NS]\n";

Result<std::string> read_text(const std::string& path) {
  std::ostringstream out;
  if (path == "-") {
    out << std::cin.rdbuf();
    return out.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail("FileUnreadable", "cannot open " + path + "; check the path given to inject");
  out << in.rdbuf();
  return out.str();
}

std::string doc_label(std::size_t index, const json& doc) {
  std::string kind = doc.is_object() ? doc.value("kind", "") : "";
  std::string name;
  if (doc.is_object() && doc.contains("metadata") && doc["metadata"].is_object()) {
    name = doc["metadata"].value("name", "");
    if (name.empty()) name = doc["metadata"].value("generateName", "");
  }
  return "document " + std::to_string(index) + " (" + (kind.empty() ? "no kind" : kind) + "/" +
         (name.empty() ? "no name" : name) + ")";
}

std::string namespace_of(const json& doc, const std::string& fallback) {
  std::string ns = kube::metadata_string(doc, "namespace");
  return ns.empty() ? fallback : ns;
}

bool is_apikey(const json& doc) {
  return doc.is_object() && doc.value("kind", "") == "ApiKey" &&
         doc.value("apiVersion", "").rfind("keyward.dev/", 0) == 0;
}

// Where a workload keeps its pod template, and which workload a template's pods belong to.
std::optional<std::string> template_pointer(const std::string& kind) {
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
      kind == "ReplicaSet" || kind == "Job") {
    return "/spec/template";
  }
  if (kind == "CronJob") return "/spec/jobTemplate/spec/template";
  return std::nullopt;
}

}  // namespace

Result<InjectOptions> parse_inject_arguments(const std::vector<std::string>& args) {
  InjectOptions o;
  bool have_file = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> Result<std::string> {
      if (i + 1 >= args.size())
        return fail("InvalidArguments", std::string(flag) + " needs a value\n" + kUsage);
      return args[++i];
    };
    auto take = [&](const char* flag, std::string& out) -> Status {
      auto v = value(flag);
      if (!v) return fail(v.error());
      out = *v;
      return ok();
    };
    Status s = ok();
    if (a == "-f" || a == "--filename") {
      s = take("-f", o.file);
      have_file = true;
    } else if (a == "--apikey-file") {
      std::string f;
      s = take("--apikey-file", f);
      o.apikey_files.push_back(f);
    } else if (a == "--key-version") {
      return fail("InvalidArguments",
                  "--key-version is gone: a pod's key version is what its sidecar delivers, "
                  "recorded by the operator (docs/contracts.md); drop the flag");
    } else if (a == "--server-version") {
      std::string v;
      s = take("--server-version", v);
      if (s) {
        auto parsed = parse_server_version(v);
        if (!parsed) return fail("InvalidArguments", parsed.error().message);
        o.server_version = *parsed;
      }
    } else if (a == "--sidecar-image") {
      s = take("--sidecar-image", o.sidecar_image);
    } else if (a == "--mode") {
      s = take("--mode", o.defaults.mode);
      if (s && o.defaults.mode != "broker" && o.defaults.mode != "direct") {
        return fail("InvalidArguments",
                    "--mode must be broker or direct, not '" + o.defaults.mode + "'");
      }
    } else if (a == "--broker-url") {
      s = take("--broker-url", o.defaults.broker_url);
    } else if (a == "--broker-audience") {
      s = take("--broker-audience", o.defaults.broker_token_audience);
    } else if (a == "--broker-ca-file") {
      std::string path;
      s = take("--broker-ca-file", path);
      if (s) {
        std::ifstream in(path);
        std::ostringstream pem;
        pem << in.rdbuf();
        if (!in || pem.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
          return fail("InvalidArguments",
                      "--broker-ca-file " + path + " cannot be read as a PEM certificate");
        }
        o.defaults.broker_ca_pem = pem.str();
      }
    } else if (a == "--namespace" || a == "-n") {
      s = take("--namespace", o.default_namespace);
    } else {
      return fail("InvalidArguments", "unknown argument '" + a + "'\n" + kUsage);
    }
    if (!s) return fail(s.error());
  }
  if (!have_file || o.file.empty())
    return fail("InvalidArguments",
                std::string("-f FILE (or -f - for stdin) is required\n") + kUsage);
  return o;
}

Result<std::string> inject_manifests(const std::string& input,
                                     const std::vector<std::string>& apikey_texts,
                                     const InjectOptions& options) {
  auto nodes = load_yaml_documents(input);
  if (!nodes) return fail(nodes.error());

  // Documents as JSON, and the ApiKeys known offline (input first, then --apikey-file).
  std::vector<json> docs;
  std::map<std::string, json> apikeys;  // "ns/name" -> ApiKey, its namespace filled in
  auto remember_if_apikey = [&](const json& doc) {
    if (!is_apikey(doc)) return;
    json key = doc;
    const std::string key_ns = namespace_of(doc, options.default_namespace);
    if (key["metadata"].is_object()) key["metadata"]["namespace"] = key_ns;
    apikeys[key_ns + "/" + kube::metadata_string(doc, "name")] = std::move(key);
  };
  for (std::size_t i = 0; i < nodes->size(); ++i) {
    auto doc = yaml_to_json((*nodes)[i]);
    if (!doc)
      return fail(doc.error().reason,
                  "document " + std::to_string(i + 1) + ": " + doc.error().message);
    remember_if_apikey(*doc);
    docs.push_back(std::move(*doc));
  }
  for (const std::string& text : apikey_texts) {
    auto extra = load_yaml_documents(text);
    if (!extra) return fail(extra.error().reason, "--apikey-file: " + extra.error().message);
    for (const auto& node : *extra) {
      auto doc = yaml_to_json(node);
      if (!doc) return fail(doc.error().reason, "--apikey-file: " + doc.error().message);
      remember_if_apikey(*doc);
    }
  }

  PodMutator mutator;
  std::string out;
  bool first = true;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const json& doc = docs[i];
    if (doc.is_null()) continue;  // empty document between separators
    const std::string kind = doc.is_object() ? doc.value("kind", "") : "";
    std::optional<std::string> tpl =
        kind == "Pod" ? std::optional<std::string>("") : template_pointer(kind);
    std::string rendered;
    bool changed = false;
    if (tpl && doc.is_object() && doc.contains(json::json_pointer(*tpl))) {
      const std::string ns = namespace_of(doc, options.default_namespace);
      json pod;
      MutationContext ctx;
      if (kind == "Pod") {
        pod = doc;
      } else {
        const json& t = doc.at(json::json_pointer(*tpl));
        pod = {
            {"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", t.is_object() && t.contains("metadata") ? t["metadata"] : json::object()},
            {"spec", t.is_object() && t.contains("spec") ? t["spec"] : json::object()}};
        ctx.workload = PodWorkload{kind, kube::metadata_string(doc, "name")};
      }
      if (auto ref = PodMutator::requested_apikey(pod); ref && !PodMutator::already_injected(pod)) {
        ctx.server_version = options.server_version;
        ctx.sidecar_image = options.sidecar_image;
        ctx.defaults = options.defaults;
        std::string key_ns = ref->ns.empty() ? ns : ref->ns;
        auto found = apikeys.find(key_ns + "/" + ref->name);
        if (found == apikeys.end()) {
          ctx.apikey =
              fail("NotFound", "ApiKey " + key_ns + "/" + ref->name + " is not in the input");
        } else {
          ctx.apikey = apikey_for_injection(found->second);
        }
        AdmissionResult r = mutator.mutate(pod, ns, ctx);
        if (!r.is_allowed()) {
          std::string extra = r.reason == "ApiKeyNotFound"
                                  ? " (offline: put the ApiKey in the input or pass --apikey-file)"
                                  : "";
          return fail(r.reason, doc_label(i + 1, doc) + ": " + r.message + extra);
        }
        if (r.kind == AdmissionResult::Kind::Patched) {
          json patched;
          try {
            patched = pod.patch(r.patch);
          } catch (const json::exception& e) {
            return fail("InternalError", doc_label(i + 1, doc) +
                                             ": the injection patch does not apply: " + e.what());
          }
          json result = doc;
          if (kind == "Pod") {
            result = patched;
          } else {
            json& t = result.at(json::json_pointer(*tpl));
            t["metadata"] = patched["metadata"];
            t["spec"] = patched["spec"];
          }
          rendered = json_to_yaml(result);
          changed = true;
        }
      }
    }
    // Unchanged documents are re-emitted from their JSON form: same content, but comments and
    // formatting are not kept (yaml-cpp does not keep quoting styles of the original either).
    if (!changed) rendered = json_to_yaml(doc);
    if (!first) out += "---\n";
    first = false;
    out += rendered;
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  return out;
}

int run_inject_command(int argc, char** argv) {
  std::vector<std::string> args;
  int start = 1;
  if (argc > 0 && std::string(argv[0]) == "inject")
    start = 1;
  else if (argc > 1 && std::string(argv[1]) == "inject")
    start = 2;
  for (int i = start; i < argc; ++i) args.emplace_back(argv[i]);
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    }
  }
  auto options = parse_inject_arguments(args);
  if (!options) {
    std::cerr << "keyward-operator inject: " << options.error().message << "\n";
    return 2;
  }
  auto input = read_text(options->file);
  if (!input) {
    std::cerr << "keyward-operator inject: " << input.error().message << "\n";
    return 1;
  }
  std::vector<std::string> apikey_texts;
  for (const auto& f : options->apikey_files) {
    auto t = read_text(f);
    if (!t) {
      std::cerr << "keyward-operator inject: " << t.error().message << "\n";
      return 1;
    }
    apikey_texts.push_back(std::move(*t));
  }
  auto out = inject_manifests(*input, apikey_texts, *options);
  if (!out) {
    std::cerr << "keyward-operator inject: " << out.error().reason << ": " << out.error().message
              << "\n";
    return 1;
  }
  std::cout << *out;
  return 0;
}

}  // namespace keyward::webhook
