#include "sidecar/shim_installer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace keyward::sidecar {
namespace {

bool is_loader(const std::string& name) {
  return name.rfind("ld-linux", 0) == 0 || name.rfind("ld64.so", 0) == 0;
}

bool is_shared_object(const std::string& name) { return name.find(".so") != std::string::npos; }

Status copy_file(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return fail("ShimCopyFailed", "cannot read " + from + ": " + std::strerror(errno));
  const std::string tmp = to + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      return fail("ShimCopyFailed", "cannot write " + tmp + ": " + std::strerror(errno) +
                                        "; is the shim volume mounted writable?");
    out << in.rdbuf();
    if (!out.flush()) {
      return fail("ShimCopyFailed", "cannot write " + tmp + ": " + std::strerror(errno) +
                                        "; is the shim volume full?");
    }
  }
  if (::chmod(tmp.c_str(), 0755) != 0 || ::rename(tmp.c_str(), to.c_str()) != 0) {
    return fail("ShimCopyFailed", "cannot install " + to + ": " + std::strerror(errno));
  }
  return ok();
}

}  // namespace

Result<std::vector<ShimFile>> shim_files(const std::string& proc_maps,
                                         const std::string& self_exe) {
  std::vector<ShimFile> files{{self_exe, "keyward-sidecar"}};
  std::set<std::string> seen;
  std::string loader;
  std::istringstream lines(proc_maps);
  std::string line;
  while (std::getline(lines, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;  // anonymous, [heap], [stack], [vdso]
    std::string path = line.substr(slash);
    if (path.ends_with(" (deleted)")) continue;
    const std::string name = std::filesystem::path(path).filename().string();
    if (!is_shared_object(name) || !seen.insert(path).second) continue;
    files.push_back({path, name});
    if (is_loader(name)) loader = path;
  }
  if (loader.empty()) {
    return fail("ShimLoaderMissing",
                "no dynamic loader is mapped into keyward-sidecar; a statically linked build needs "
                "only the binary itself");
  }
  files.push_back({loader, "ld.so"});
  return files;
}

Status install_shim(const std::string& dir, const std::vector<ShimFile>& files) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail("ShimCopyFailed", "cannot create " + dir + ": " + ec.message());
  for (const ShimFile& f : files) {
    if (auto s = copy_file(f.source, dir + "/" + f.name); !s) return s;
  }
  return ok();
}

int run_install_shim(const std::vector<std::string>& args) {
  std::string dir;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--to" && i + 1 < args.size())
      dir = args[++i];
    else if (args[i].rfind("--to=", 0) == 0)
      dir = args[i].substr(5);
    else {
      std::cerr << "install-shim: unknown argument '" << args[i]
                << "'; usage: keyward-sidecar install-shim --to DIR\n";
      return 2;
    }
  }
  if (dir.empty()) {
    std::cerr
        << "install-shim: --to DIR is required (the shared volume the app containers mount)\n";
    return 2;
  }
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::cerr << "install-shim: cannot read /proc/self/exe: " << ec.message() << "\n";
    return 1;
  }
  auto files = shim_files(text.str(), exe.string());
  if (!files) {
    std::cerr << "install-shim: " << files.error().message << "\n";
    return 1;
  }
  if (auto s = install_shim(dir, *files); !s) {
    std::cerr << "install-shim: " << s.error().message << "\n";
    return 1;
  }
  std::cout << "{\"message\":\"shim installed\",\"dir\":\"" << dir
            << "\",\"files\":" << files->size() << "}\n";
  return 0;
}

}  // namespace keyward::sidecar
