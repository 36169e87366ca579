// Operator start at scale, for bench/operator_start/run.sh: the fake API server over TLS holding
// N ApiKeys plus unrelated Secrets and pods, the real keyward-operator binary started against it
// twice (a first start over new keys, then a restart over the same, reconciled keys), and
// `kubectl get apikeys -A -o json` on the same server as the baseline. Prints one JSON object.
//
//   keyward-bench-operator-start --operator PATH [--kubectl PATH] [--apikeys N]
//       [--unrelated-secrets M] [--unrelated-pods P] [--timeout-seconds S]
//
// Counted by the server (in this process): every request, and writes (all but GET). Measured from
// /proc: the operator's CPU seconds and peak RSS (VmHWM); kubectl's wall time and peak RSS
// (wait4). A start is over when every ApiKey has status.keyVersion (first start) or when the
// operator has reconciled every key once and its queue is empty (restart, from its /metrics).

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/tls_fake_apiserver.h"
#include "common/core/http_transport_httplib.h"
#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/child_process.h"
#include "tests/support/test_pki.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using keyward::testing::ChildProcess;
using keyward::testing::FakeApiServer;

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// utime + stime of a live process, in seconds.
double cpu_seconds(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// VmHWM of a live process, in MiB.
double peak_rss_mib(pid_t pid) {
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

json apikey(int i) {
  return {{"apiVersion", "keyward.dev/v1alpha1"},
          {"kind", "ApiKey"},
          {"metadata",
           {{"name", "key-" + std::to_string(i)}, {"namespace", "desk-" + std::to_string(i % 10)}}},
          {"spec",
           {{"displayName", "desk key " + std::to_string(i)},
            {"source", {{"generate", {{"prefix", "nt_"}, {"length", 40}}}}},
            {"rotation", {{"intervalSeconds", 86400}}},
            {"tokenExchange", {{"provider", "none"}}}}}};
}

json unrelated_secret(int i) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata",
           {{"name", "app-config-" + std::to_string(i)},
            {"namespace", "apps-" + std::to_string(i % 20)},
            {"labels", {{"app", "web"}}}}},
          {"type", "Opaque"},
          {"data", {{"config", "c2VydmVyOiBodHRwczovL2V4YW1wbGUuY29tCnJldHJpZXM6IDMK"}}}};
}

json unrelated_pod(int i) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", "web-" + std::to_string(i)},
            {"namespace", "apps-" + std::to_string(i % 20)},
            {"labels", {{"app", "web"}}}}},
          {"spec", {{"containers", {{{"name", "web"}, {"image", "registry.example/web:1"}}}}}}};
}

struct Phase {
  double seconds = 0;
  double operator_cpu_seconds = 0;
  double operator_peak_rss_mib = 0;
  std::uint64_t requests = 0;
  std::uint64_t writes = 0;
  bool done = false;
};

std::uint64_t writes(const FakeApiServer& server) {
  return server.request_count("") - server.request_count("GET");
}

// The metrics port from the operator's log line "serving /healthz /readyz /metrics".
int metrics_port(const fs::path& log) {
  static const std::regex listen("\"listen\":\"127\\.0\\.0\\.1:([0-9]+)\"");
  std::istringstream lines(read_file(log));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("serving /healthz") == std::string::npos) continue;
    std::smatch m;
    if (std::regex_search(line, m, listen)) return std::stoi(m[1]);
  }
  return 0;
}

// Sum of a metric's samples in a Prometheus text exposition.
double metric_sum(const std::string& text, const std::string& name) {
  double sum = 0;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with(name)) continue;
    const char next = line.size() > name.size() ? line[name.size()] : ' ';
    if (next != '{' && next != ' ') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

int count_versioned(const FakeApiServer& server) {
  int n = 0;
  for (const auto& key : server.list("keyward.dev/v1alpha1", "ApiKey")) {
    if (key.contains("status") && key["status"].is_object() &&
        key["status"].value("keyVersion", 0) >= 1)
      ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::string operator_bin, kubectl = "kubectl";
  int apikeys = 2000, secrets = 20000, pods = 2000, timeout_seconds = 600;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string& v = args[i + 1];
    if (args[i] == "--operator")
      operator_bin = v;
    else if (args[i] == "--kubectl")
      kubectl = v;
    else if (args[i] == "--apikeys")
      apikeys = std::stoi(v);
    else if (args[i] == "--unrelated-secrets")
      secrets = std::stoi(v);
    else if (args[i] == "--unrelated-pods")
      pods = std::stoi(v);
    else if (args[i] == "--timeout-seconds")
      timeout_seconds = std::stoi(v);
    else {
      std::cerr << "bench: unknown flag " << args[i] << "\n";
      return 2;
    }
  }
  if (operator_bin.empty()) {
    std::cerr << "usage: keyward-bench-operator-start --operator PATH [--kubectl PATH] "
                 "[--apikeys N] [--unrelated-secrets M] [--unrelated-pods P]\n";
    return 2;
  }
  char tmpl[] = "/tmp/keyward-bench-start-XXXXXX";
  const fs::path dir = mkdtemp(tmpl);

  const auto pki = keyward::testing::TestPki::create("bench CA");
  auto options = keyward::bench::tls_fake_apiserver_options(pki);
  options.required_bearer_token = "bench-token";
  options.history_limit = static_cast<std::size_t>(apikeys) * 4 + 10000;
  options.crd_files = {(fs::path(KEYWARD_SOURCE_DIR) / "crds" / "apikey.yaml").string()};
  FakeApiServer server(options);
  if (auto s = server.start(); !s) {
    std::cerr << "bench: " << s.error().message << "\n";
    return 1;
  }
  std::cerr << "bench: loading " << apikeys << " ApiKeys, " << secrets << " unrelated Secrets, "
            << pods << " unrelated pods\n";
  for (int i = 0; i < apikeys; ++i) server.apply(apikey(i));
  for (int i = 0; i < secrets; ++i) server.apply(unrelated_secret(i));
  for (int i = 0; i < pods; ++i) server.apply(unrelated_pod(i));
  const fs::path kubeconfig = dir / "kubeconfig";
  std::ofstream(kubeconfig) << keyward::testing::render_kubeconfig(server.url(), pki.ca_cert_pem,
                                                                   "bench-token");

  json result = {{"apikeys", apikeys}, {"unrelated_secrets", secrets}, {"unrelated_pods", pods}};

  // Baseline: kubectl listing the same ApiKeys (median of 3), its peak RSS from wait4.
  std::vector<double> kubectl_seconds;
  double kubectl_rss_mib = 0;
  for (int run = 0; run < 3; ++run) {
    const auto start = SteadyClock::now();
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = open("/dev/null", O_WRONLY);
      if (null >= 0) dup2(null, STDOUT_FILENO);
      execlp(kubectl.c_str(), kubectl.c_str(), "--kubeconfig", kubeconfig.c_str(), "get", "apikeys",
             "-A", "-o", "json", static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::cerr << "bench: kubectl failed (status " << status << ")\n";
      return 1;
    }
    kubectl_seconds.push_back(seconds_since(start));
    kubectl_rss_mib = std::max(kubectl_rss_mib, static_cast<double>(usage.ru_maxrss) / 1024.0);
  }
  std::sort(kubectl_seconds.begin(), kubectl_seconds.end());
  result["kubectl_list_seconds"] = kubectl_seconds[1];
  result["kubectl_peak_rss_mib"] = kubectl_rss_mib;

  auto run_operator = [&](const std::string& name, bool first) -> Phase {
    Phase phase;
    const std::uint64_t requests_before = server.request_count("");
    const std::uint64_t writes_before = writes(server);
    const fs::path log = dir / (name + ".log");
    const auto start = SteadyClock::now();
    ChildProcess op({operator_bin, "run", "--kubeconfig", kubeconfig.string(),
                     "--leader-elect=false", "--metrics-listen", "127.0.0.1:0", "--workers", "2"},
                    {}, log.string());
    if (!op.started()) return phase;
    const auto deadline = start + std::chrono::seconds(timeout_seconds);
    std::unique_ptr<keyward::HttplibTransport> metrics;
    int last_report = -1;
    while (SteadyClock::now() < deadline && !op.wait_exit(std::chrono::milliseconds(0))) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (first) {
        const int versioned = count_versioned(server);
        if (versioned / 500 != last_report) {
          last_report = versioned / 500;
          std::cerr << "bench: " << name << ": " << versioned << " of " << apikeys
                    << " ApiKeys have a key (" << seconds_since(start) << " s)\n";
        }
        if (versioned == apikeys) {
          phase.done = true;
          break;
        }
        continue;
      }
      if (!metrics) {
        const int port = metrics_port(log);
        if (port == 0) continue;
        metrics = std::move(*keyward::HttplibTransport::create({"http", "127.0.0.1", port}, {}));
      }
      keyward::HttpRequest get;
      get.path = "/metrics";
      auto answer = metrics->send(get);
      if (!answer || answer->status != 200) continue;
      const double passes = metric_sum(answer->body, "keyward_reconcile_total");
      const double depth = metric_sum(answer->body, "keyward_workqueue_depth");
      if (static_cast<int>(passes) / 500 != last_report) {
        last_report = static_cast<int>(passes) / 500;
        std::cerr << "bench: " << name << ": " << passes << " passes, queue " << depth << " ("
                  << seconds_since(start) << " s)\n";
      }
      if (passes >= apikeys && depth == 0) {
        phase.done = true;
        break;
      }
    }
    phase.seconds = seconds_since(start);
    phase.operator_cpu_seconds = cpu_seconds(op.pid());
    phase.operator_peak_rss_mib = peak_rss_mib(op.pid());
    phase.requests = server.request_count("") - requests_before;
    phase.writes = writes(server) - writes_before;
    op.stop();
    if (!phase.done) std::cerr << "bench: " << name << " did not finish; log: " << log << "\n";
    return phase;
  };
  auto to_json = [](const Phase& p) {
    return json{{"seconds", p.seconds},
                {"operator_cpu_seconds", p.operator_cpu_seconds},
                {"operator_peak_rss_mib", p.operator_peak_rss_mib},
                {"requests", p.requests},
                {"writes", p.writes},
                {"done", p.done}};
  };
  const Phase first = run_operator("first-start", true);
  result["first_start"] = to_json(first);
  const Phase restart = run_operator("restart", false);
  result["restart"] = to_json(restart);
  std::cout << result.dump() << "\n";
  if (first.done && restart.done) fs::remove_all(dir);
  return first.done && restart.done ? 0 : 1;
}
