#pragma once
// `keyward-sidecar install-shim --to DIR`: makes the exec shim runnable inside any app image.
// The app image may have no glibc, or another version of it, so the shim brings its own: the
// sidecar binary plus every shared object this process has mapped (read from /proc/self/maps,
// which includes the dynamic loader) are copied into DIR, and the loader is also copied as
// DIR/ld.so. The webhook then starts app containers with
//   DIR/ld.so --library-path DIR DIR/keyward-sidecar exec --out TOKENS -- CMD ARGS...
// and `exec` replaces itself with CMD, which runs with the app image's own loader and libraries.

#include <string>
#include <vector>

#include "common/core/result.h"

namespace keyward::sidecar {

struct ShimFile {
  std::string source;  // absolute path on this system
  std::string name;    // file name in the shim directory
};

// The files to copy, from the text of /proc/self/maps and the path of the running binary.
// Errors: "ShimLoaderMissing" when no dynamic loader is mapped (a static binary needs none,
// but then the caller should copy only the binary; reported so the webhook's choice is explicit).
Result<std::vector<ShimFile>> shim_files(const std::string& proc_maps, const std::string& self_exe);

// Copies the files into dir (created 0755 if missing), each 0755, replacing older copies
// atomically (write to a temporary name, then rename).
Status install_shim(const std::string& dir, const std::vector<ShimFile>& files);

// The command line of the `install-shim` subcommand: --to DIR. Returns the exit code.
int run_install_shim(const std::vector<std::string>& args);

}  // namespace keyward::sidecar
