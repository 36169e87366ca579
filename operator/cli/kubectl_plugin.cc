#include "operator/cli/kubectl_plugin.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <ostream>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/yaml_json.h"
#include "common/io/filesystem.h"
#include "common/io/random.h"
#include "common/kube/kube_client.h"
#include "common/kube/kube_config.h"
#include "operator/apikey/apikey.h"
#include "operator/apikey/names.h"
#include "operator/apikey/pod_assignment.h"
#include "operator/cli/apikey_report.h"
#include "operator/cli/pod_hold.h"
#include "operator/cli/rotate_request.h"

namespace keyward::cli {
namespace {

using nlohmann::json;

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

constexpr const char* kUsageText =
    "usage: kubectl keyward VERB [flags]\n"
    "  status NAME                    the ApiKey's key, schedule, window, consumers, provider\n"
    "  explain NAME                   why it is not rotated or its pods not restarted now\n"
    "  rotate NAME [--end-grace] [--requested-by WHO]\n"
    "                                 rotate now, outside windows\n"
    "  hold POD --reason TEXT         keep a consumer pod from being restarted\n"
    "  release POD                    remove the hold\n"
    "  inject -f FILE [...]           add the sidecar to manifests offline\n"
    "  completion bash|zsh            print a shell completion script\n"
    "  version\n"
    "flags: -n/--namespace NS, --kubeconfig FILE, --context NAME, -o/--output text|json|yaml\n";

const std::vector<std::string>& verbs() {
  static const std::vector<std::string> v = {"status",  "explain", "rotate",     "hold",
                                             "release", "inject",  "completion", "version"};
  return v;
}

struct Invocation {
  std::string verb;
  std::vector<std::string> positional;  // after the verb
  std::string ns;                       // "" : the kubeconfig context's
  std::string output = "text";
  std::string reason;
  bool reason_given = false;
  bool end_grace = false;
  std::string requested_by;
  kube::KubeConfigOptions kube;
};

// Takes "--flag VALUE", "--flag=VALUE" (and "-f VALUE" for a short name) at args[i].
std::optional<std::string> flag_value(const std::vector<std::string>& args, std::size_t& i,
                                      const std::string& name, const std::string& short_name,
                                      std::string& error) {
  const std::string& a = args[i];
  for (const auto& n : {name, short_name}) {
    if (n.empty()) continue;
    if (a == n) {
      if (i + 1 >= args.size()) {
        error = n + " needs a value";
        return std::nullopt;
      }
      return args[++i];
    }
    if (a.starts_with(n + "=")) return a.substr(n.size() + 1);
  }
  return std::nullopt;
}

Result<Invocation> parse(const std::vector<std::string>& args) {
  Invocation inv;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string error;
    const std::string& a = args[i];
    if (auto v = flag_value(args, i, "--namespace", "-n", error)) {
      inv.ns = *v;
    } else if (auto k = flag_value(args, i, "--kubeconfig", "", error)) {
      inv.kube.kubeconfig_path = *k;
    } else if (auto c = flag_value(args, i, "--context", "", error)) {
      inv.kube.context = *c;
    } else if (auto o = flag_value(args, i, "--output", "-o", error)) {
      inv.output = *o;
    } else if (auto r = flag_value(args, i, "--reason", "", error)) {
      inv.reason = *r;
      inv.reason_given = true;
    } else if (auto w = flag_value(args, i, "--requested-by", "", error)) {
      inv.requested_by = *w;
    } else if (!error.empty()) {
      return fail("InvalidArguments", error);
    } else if (a == "--end-grace") {
      inv.end_grace = true;
    } else if (a == "--version") {
      inv.verb = "version";
    } else if (a == "-h" || a == "--help") {
      inv.verb = "help";
    } else if (a.starts_with("-")) {
      return fail("InvalidArguments", "unknown flag " + a);
    } else if (inv.verb.empty()) {
      inv.verb = a;
    } else {
      inv.positional.push_back(a);
    }
  }
  if ((inv.end_grace || !inv.requested_by.empty()) && inv.verb != "rotate") {
    return fail("InvalidArguments", "--end-grace and --requested-by belong to rotate");
  }
  if (inv.reason_given && inv.verb != "hold") {
    return fail("InvalidArguments", "--reason belongs to hold");
  }
  if (inv.output != "text" && inv.output != "json" && inv.output != "yaml") {
    return fail("InvalidArguments", "--output " + inv.output + " is not one of text, json, yaml");
  }
  return inv;
}

// The one name a verb takes ("status NAME"), or the usage error.
Result<std::string> one_name(const Invocation& inv, const char* what) {
  if (inv.positional.size() != 1) {
    return fail("InvalidArguments", inv.verb + " takes one " + what + ": kubectl keyward " +
                                        inv.verb + " " + what + " [-n NAMESPACE]");
  }
  return inv.positional.front();
}

struct Cluster {
  std::unique_ptr<kube::KubeClient> api;
  std::string ns;
};

Result<Cluster> connect(const Invocation& inv, const Environment& env, Clock& clock) {
  PosixFilesystem fs;
  auto config = kube::load_kube_config(env, fs, inv.kube);
  if (!config) {
    return fail("NoKubeconfig",
                "cannot load the Kubernetes configuration: " + config.error().message +
                    "; point --kubeconfig or KUBECONFIG at a kubeconfig");
  }
  auto client = kube::make_kube_client(*config, fs, clock, make_null_logger());
  if (!client) return fail(client.error());
  return Cluster{std::move(*client), inv.ns.empty() ? config->ns : inv.ns};
}

void print(std::ostream& out, const std::string& format, const json& value,
           const std::string& text) {
  if (format == "json") {
    out << value.dump(2) << "\n";
  } else if (format == "yaml") {
    out << json_to_yaml(value);
  } else {
    out << text;
  }
}

Result<kube::Object> read_apikey(kube::KubeApi& api, const std::string& ns,
                                 const std::string& name) {
  auto found = api.get(apikey::apikey_resource(), ns, name);
  if (!found && found.error().http_status == 404) {
    return fail("ApiKeyNotFound",
                "no ApiKey " + ns + "/" + name + "; list them with kubectl get apikeys -n " + ns);
  }
  return found;
}

Result<ApiKeyReport> report_of(kube::KubeApi& api, const std::string& ns, const std::string& name,
                               Clock& clock) {
  auto object = read_apikey(api, ns, name);
  if (!object) return fail(object.error());
  // Every pod of the namespace: a consumer is one that names the ApiKey by annotation or label.
  auto pods = api.list(kube::ResourceType::pods(), ns, {});
  if (!pods) return fail(pods.error());
  return make_report(*object, pods->items, clock.now());
}

std::string who_am_i(const Environment& env) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  auto user = env.find("USER");
  return (user != env.end() ? user->second : std::string("unknown")) + "@" + host;
}

std::string rotate_value(Clock& clock) {
  SystemRandom random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x",
                static_cast<unsigned>(random.uniform01() * 4294967295.0));
  return format_rfc3339(clock.now()) + "-" + suffix;
}

std::string completion_script(const std::string& shell) {
  // kubectl itself completes `kubectl keyward ...` through kubectl_complete-keyward; this script
  // is for kubectl-keyward called on its own.
  std::string bash = R"SH(_kubectl_keyward() {
  local cur="${COMP_WORDS[COMP_CWORD]}" out
  out=$(kubectl-keyward __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null) || return
  COMPREPLY=($(compgen -W "$(printf '%s\n' "$out" | sed '/^:/d')" -- "$cur"))
}
complete -F _kubectl_keyward kubectl-keyward
)SH";
  if (shell == "zsh") return "autoload -U +X bashcompinit && bashcompinit\n" + bash;
  return bash;
}

struct Printed {
  json value;
  std::string text;
};

Result<Printed> status_verb(const Invocation& inv, const Environment& env, Clock& clock) {
  auto name = one_name(inv, "NAME");
  if (!name) return fail(name.error());
  auto cluster = connect(inv, env, clock);
  if (!cluster) return fail(cluster.error());
  auto report = report_of(*cluster->api, cluster->ns, *name, clock);
  if (!report) return fail(report.error());
  if (inv.verb == "status") return Printed{to_json(*report), render_status(*report)};
  const auto causes = explain(*report);
  std::string text;
  for (const auto& c : causes) text += "- " + c + "\n";
  return Printed{{{"namespace", report->ns}, {"name", report->name}, {"causes", causes}}, text};
}

Result<Printed> rotate_verb(const Invocation& inv, const Environment& env, Clock& clock) {
  auto name = one_name(inv, "NAME");
  if (!name) return fail(name.error());
  auto cluster = connect(inv, env, clock);
  if (!cluster) return fail(cluster.error());
  auto object = read_apikey(*cluster->api, cluster->ns, *name);
  if (!object) return fail(object.error());
  auto spec = apikey::parse_apikey_spec(object->value("spec", json::object()));
  if (spec) {
    if (const auto* ref = std::get_if<apikey::SecretRefSource>(&spec->source)) {
      // The operator would only record a RotateNotPossible Event: say so here, at once.
      return fail("RotateNotPossible",
                  "ApiKey " + cluster->ns + "/" + *name + " takes its key from Secret " +
                      ref->name +
                      " (spec.source.secretRef), which Keyward does not issue: put the new key "
                      "into that Secret and the operator rotates to it");
    }
  }
  const bool inactive = spec && !spec->active;
  RotateRequest request{cluster->ns, *name, inv.end_grace,
                        inv.requested_by.empty() ? who_am_i(env) : inv.requested_by,
                        rotate_value(clock)};
  if (auto st = request_rotation(*cluster->api, request); !st) return fail(st.error());
  std::string text = "rotation of ApiKey " + request.ns + "/" + request.name +
                     " requested (keyward.dev/rotate=" + request.value + ", by " +
                     request.requested_by;
  if (request.end_grace) text += ", the previous key's grace ends at once";
  text += inactive ? "); the key is inactive (spec.active is false): it rotates when it is active "
                     "again. "
                   : "); the operator rotates at once, outside windows. ";
  text += "Watch it with: kubectl -n " + request.ns + " get apikey " + request.name + " -w\n";
  return Printed{{{"namespace", request.ns},
                  {"name", request.name},
                  {"rotate", request.value},
                  {"requestedBy", request.requested_by},
                  {"endGrace", request.end_grace}},
                 text};
}

Result<Printed> hold_verb(const Invocation& inv, const Environment& env, Clock& clock) {
  auto pod = one_name(inv, "POD");
  if (!pod) return fail(pod.error());
  if (inv.verb == "hold" && inv.reason.empty()) {
    return fail("InvalidArguments",
                "hold needs --reason: kubectl keyward hold POD --reason \"open positions\"");
  }
  auto cluster = connect(inv, env, clock);
  if (!cluster) return fail(cluster.error());
  const bool hold = inv.verb == "hold";
  auto change = hold ? hold_pod(*cluster->api, cluster->ns, *pod, inv.reason)
                     : release_pod(*cluster->api, cluster->ns, *pod);
  if (!change) return fail(change.error());
  const std::string where = "pod " + cluster->ns + "/" + *pod;
  std::string text;
  if (hold) {
    text = where + " held (\"" + inv.reason + "\"): ApiKey " + change->apikey +
           " does not restart it until it is released or the hold times out (see kubectl "
           "keyward status " +
           change->apikey + " -n " + cluster->ns + ")\n";
  } else if (change->previous_hold.empty()) {
    text = where + " held nothing; unchanged\n";
  } else {
    text = where + " released (it held \"" + change->previous_hold + "\"): ApiKey " +
           change->apikey + " may restart it onto the current key\n";
  }
  return Printed{{{"namespace", cluster->ns},
                  {"pod", *pod},
                  {"apikey", change->apikey},
                  {"hold", hold ? json(inv.reason) : json(nullptr)},
                  {"previousHold", change->previous_hold}},
                 text};
}

int execute(const Invocation& inv, const Environment& env, std::ostream& out, std::ostream& err,
            const std::string& program) {
  RealClock clock;
  Result<Printed> printed = fail("InvalidArguments", "");
  if (inv.verb == "status" || inv.verb == "explain") {
    printed = status_verb(inv, env, clock);
  } else if (inv.verb == "rotate") {
    printed = rotate_verb(inv, env, clock);
  } else if (inv.verb == "hold" || inv.verb == "release") {
    printed = hold_verb(inv, env, clock);
  } else {
    err << program << ": unknown verb " << inv.verb << "\n" << kUsageText;
    return kUsage;
  }
  if (!printed) {
    err << program << " " << inv.verb << ": " << printed.error().message << "\n";
    return printed.error().reason == "InvalidArguments" ? kUsage : kFailed;
  }
  print(out, inv.output, printed->value, printed->text);
  return kOk;
}

}  // namespace

int run_kubectl_plugin(const std::vector<std::string>& args, const Environment& env,
                       const std::string& version, std::ostream& out, std::ostream& err) {
  auto inv = parse(args);
  if (!inv) {
    err << "kubectl keyward: " << inv.error().message << "\n" << kUsageText;
    return kUsage;
  }
  if (inv->verb.empty() || inv->verb == "help") {
    (inv->verb.empty() ? err : out) << kUsageText;
    return inv->verb.empty() ? kUsage : kOk;
  }
  if (inv->verb == "version") {
    print(out, inv->output, {{"version", version}}, "kubectl-keyward " + version + "\n");
    return kOk;
  }
  if (inv->verb == "completion") {
    if (inv->positional.size() != 1 ||
        (inv->positional[0] != "bash" && inv->positional[0] != "zsh")) {
      err << "kubectl keyward completion: name the shell: bash or zsh\n";
      return kUsage;
    }
    out << completion_script(inv->positional[0]);
    return kOk;
  }
  return execute(*inv, env, out, err, "kubectl keyward");
}

int run_rotate_command(const std::vector<std::string>& args, const Environment& env,
                       std::ostream& out, std::ostream& err) {
  // The operator's own form names the ApiKey NAMESPACE/NAME; the kubeconfig flag is not part of
  // the request.
  Invocation inv;
  inv.verb = "rotate";
  std::vector<std::string> request_args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string error;
    if (auto k = flag_value(args, i, "--kubeconfig", "", error)) {
      inv.kube.kubeconfig_path = *k;
    } else {
      request_args.push_back(args[i]);
    }
  }
  auto request = parse_rotate_arguments(request_args);
  if (!request) {
    err << "keyward-operator rotate: " << request.error().message << "\n";
    return kUsage;
  }
  inv.ns = request->ns;
  inv.positional = {request->name};
  inv.end_grace = request->end_grace;
  inv.requested_by = request->requested_by;
  return execute(inv, env, out, err, "keyward-operator");
}

int complete_kubectl_plugin(const std::vector<std::string>& args, const Environment& env,
                            std::ostream& out) {
  // The words before the one being completed, and whether the previous one takes a value.
  const std::vector<std::string> before(args.begin(), args.empty() ? args.end() : args.end() - 1);
  const std::string previous = before.empty() ? "" : before.back();
  std::vector<std::string> candidates;
  // A flag that waits for its value does not parse on its own: read the words before it.
  const bool wants_value = previous == "-n" || previous == "--namespace" || previous == "-o" ||
                           previous == "--output" || previous == "--kubeconfig" ||
                           previous == "--context" || previous == "--reason" ||
                           previous == "--requested-by";
  auto inv =
      parse(wants_value ? std::vector<std::string>(before.begin(), before.end() - 1) : before);
  if (std::ranges::find(before, "inject") != before.end()) {
    out << ":0\n";  // inject takes keyward-operator inject's flags and files
    return kOk;
  }
  const auto names_of = [&](const kube::ResourceType& type) {
    if (!inv) return;
    RealClock clock;
    auto cluster = connect(*inv, env, clock);
    if (!cluster) return;
    auto list = cluster->api->list(type, type.kind == "Namespace" ? "" : cluster->ns, {});
    if (!list) return;
    for (const auto& o : list->items) {
      if (type.kind == "Pod" && !apikey::assigned_apikey(o)) continue;  // not a consumer
      candidates.push_back(o.value("metadata", json::object()).value("name", ""));
    }
  };
  if (previous == "-o" || previous == "--output") {
    candidates = {"text", "json", "yaml"};
  } else if (previous == "-n" || previous == "--namespace") {
    names_of(kube::ResourceType::namespaces());
  } else if (previous == "--kubeconfig" || previous == "-f") {
    out << ":0\n";  // files
    return kOk;
  } else if (previous == "--reason" || previous == "--requested-by" || previous == "--context") {
    // free text
  } else if (!inv || inv->verb.empty()) {
    candidates = verbs();
  } else if (inv->positional.empty()) {
    if (inv->verb == "status" || inv->verb == "explain" || inv->verb == "rotate") {
      names_of(apikey::apikey_resource());
    } else if (inv->verb == "hold" || inv->verb == "release") {
      names_of(kube::ResourceType::pods());
    } else if (inv->verb == "completion") {
      candidates = {"bash", "zsh"};
    }
  }
  for (const auto& c : candidates) out << c << "\n";
  out << ":4\n";  // cobra's ShellCompDirectiveNoFileComp
  return kOk;
}

}  // namespace keyward::cli
