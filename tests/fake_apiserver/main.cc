// keyward-fake-apiserver: the fake Kubernetes API server as a process, for the demo and the
// benchmarks (used with the real kubectl). Prints one JSON line when ready; SIGTERM/SIGINT stop it.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/fake_apiserver/fake_apiserver.h"
#include "tests/support/test_pki.h"

namespace {

struct Flags {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string crds_dir;
  std::string tls_dir;
  std::string kubeconfig_out;
  std::string git_version = "v1.30.0";
  std::size_t history_limit = 10000;
  bool simulate_controllers = false;
  std::string token;
  std::string token_identities;
};

constexpr const char* kUsage =
    "usage: keyward-fake-apiserver [--host H] [--port N] [--crds DIR] [--tls-dir DIR]\n"
    "         [--kubeconfig-out FILE] [--git-version vX.Y.Z] [--history-limit N]\n"
    "         [--simulate-controllers] [--token T] [--token-identities FILE]\n"
    "  --token-identities: JSON {\"<bearer token>\": {\"username\", \"uid\", \"groups\",\n"
    "    \"extra\", \"audiences\"}} answered by TokenReview (re-read at every review)\n";

bool parse_flags(int argc, char** argv, Flags& flags, std::string& error) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::string value;
    bool has_inline = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    if (name == "--simulate-controllers") {
      flags.simulate_controllers = true;
      continue;
    }
    if (name == "--help" || name == "-h") {
      error = "";
      return false;
    }
    if (!has_inline) {
      if (i + 1 >= args.size()) {
        error = name + " needs a value";
        return false;
      }
      value = args[++i];
    }
    try {
      if (name == "--host")
        flags.host = value;
      else if (name == "--port")
        flags.port = std::stoi(value);
      else if (name == "--crds")
        flags.crds_dir = value;
      else if (name == "--tls-dir")
        flags.tls_dir = value;
      else if (name == "--kubeconfig-out")
        flags.kubeconfig_out = value;
      else if (name == "--git-version")
        flags.git_version = value;
      else if (name == "--history-limit")
        flags.history_limit = std::stoul(value);
      else if (name == "--token")
        flags.token = value;
      else if (name == "--token-identities")
        flags.token_identities = value;
      else {
        error = "unknown flag " + name;
        return false;
      }
    } catch (const std::exception&) {
      error = name + " needs a number, got \"" + value + "\"";
      return false;
    }
  }
  return true;
}

bool write_file(const std::filesystem::path& path, const std::string& content,
                std::filesystem::perms perms) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return false;
  std::filesystem::permissions(path, perms, ec);
  return !ec;
}

std::string random_token() {
  std::random_device rd;
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string token;
  for (int i = 0; i < 32; ++i) token += alphabet[rd() % (sizeof(alphabet) - 1)];
  return token;
}

}  // namespace

int main(int argc, char** argv) {
  using keyward::testing::FakeApiServer;
  using keyward::testing::FakeApiServerOptions;
  namespace fs = std::filesystem;
  Flags flags;
  std::string error;
  if (!parse_flags(argc, argv, flags, error)) {
    if (!error.empty()) std::cerr << "keyward-fake-apiserver: " << error << "\n";
    std::cerr << kUsage;
    return error.empty() ? 0 : 2;
  }

  // Block the stop signals before any thread starts, then wait for one with sigwait: no handler,
  // no global flag.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  FakeApiServerOptions options;
  options.git_version = flags.git_version;
  options.history_limit = flags.history_limit;
  std::string token = flags.token.empty() ? random_token() : flags.token;
  if (!flags.kubeconfig_out.empty() || !flags.token.empty()) options.required_bearer_token = token;
  std::string ca_pem;
  if (!flags.tls_dir.empty()) {
    try {
      auto pki = keyward::testing::TestPki::create("keyward-fake-apiserver-ca");
      auto [cert, key] =
          pki.issue("keyward-fake-apiserver", {"localhost", "127.0.0.1", flags.host}, false);
      fs::path dir(flags.tls_dir);
      auto owner_only = fs::perms::owner_read | fs::perms::owner_write;
      auto readable = owner_only | fs::perms::group_read | fs::perms::others_read;
      if (!write_file(dir / "ca.crt", pki.ca_cert_pem, readable) ||
          !write_file(dir / "ca.key", pki.ca_key_pem, owner_only) ||
          !write_file(dir / "server.crt", cert, readable) ||
          !write_file(dir / "server.key", key, owner_only)) {
        std::cerr << "keyward-fake-apiserver: cannot write the certificates to " << flags.tls_dir
                  << "; check that the directory is writable\n";
        return 1;
      }
      options.tls = true;
      options.cert_pem = cert;
      options.key_pem = key;
      ca_pem = pki.ca_cert_pem;
    } catch (const std::exception& e) {
      std::cerr << "keyward-fake-apiserver: " << e.what() << "\n";
      return 1;
    }
  }

  std::unique_ptr<FakeApiServer> server;
  try {
    server = std::make_unique<FakeApiServer>(options);
  } catch (const std::exception& e) {
    std::cerr << "keyward-fake-apiserver: " << e.what() << "\n";
    return 1;
  }
  if (!flags.crds_dir.empty()) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(flags.crds_dir, ec)) {
      auto ext = entry.path().extension();
      if (ext == ".yaml" || ext == ".yml") files.push_back(entry.path());
    }
    if (ec) {
      std::cerr << "keyward-fake-apiserver: cannot read --crds " << flags.crds_dir << ": "
                << ec.message() << "\n";
      return 1;
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      if (auto registered = server->register_crd_file(file.string()); !registered) {
        std::cerr << "keyward-fake-apiserver: " << registered.error().to_string() << "\n";
        return 1;
      }
    }
  }
  if (auto started = server->start(flags.host, flags.port); !started) {
    std::cerr << "keyward-fake-apiserver: " << started.error().to_string() << "\n";
    return 1;
  }
  if (flags.simulate_controllers) server->enable_controller_simulation(true);
  if (!flags.token_identities.empty()) server->set_token_file(flags.token_identities);
  std::string url = std::string(options.tls ? "https://" : "http://") + flags.host + ":" +
                    std::to_string(server->port());
  if (!flags.kubeconfig_out.empty()) {
    auto owner_only = fs::perms::owner_read | fs::perms::owner_write;
    if (!write_file(flags.kubeconfig_out, keyward::testing::render_kubeconfig(url, ca_pem, token),
                    owner_only)) {
      std::cerr << "keyward-fake-apiserver: cannot write --kubeconfig-out " << flags.kubeconfig_out
                << "\n";
      return 1;
    }
  }
  nlohmann::json ready = {{"level", "info"},
                          {"component", "fake-apiserver"},
                          {"message", "ready"},
                          {"url", url},
                          {"port", server->port()}};
  if (!flags.kubeconfig_out.empty()) ready["kubeconfig"] = flags.kubeconfig_out;
  if (!flags.tls_dir.empty()) ready["caFile"] = (fs::path(flags.tls_dir) / "ca.crt").string();
  std::cout << ready.dump() << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->stop();
  std::cout << nlohmann::json{{"level", "info"},
                              {"component", "fake-apiserver"},
                              {"message", "stopped"},
                              {"signal", signal_number}}
                   .dump()
            << std::endl;
  return 0;
}
