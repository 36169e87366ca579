#pragma once
// `keyward-operator inject -f FILE|-`: offline injection for GitOps users who render manifests
// before applying them. Reads multi-document YAML; Pods and the pod templates of Deployments,
// StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs go through the SAME PodMutator as the
// webhook (the template is wrapped as a pod, mutated, and the patch applied back); every other
// document passes through unchanged. Offline there is no cluster, so:
//   - ApiKeys come from the input itself or from --apikey-file (repeatable);
//   - no key version is baked in: the operator records the version each pod's sidecar
//     delivers, so rendered pods follow rotations like admitted ones;
//   - the server version comes from --server-version (default 1.29: native sidecars).
// Output: YAML on stdout (content kept; comments and formatting are not). On any refusal
// nothing is printed and the error names the document index (1-based) and kind/name.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/core/result.h"
#include "operator/webhook/pod_mutator.h"

namespace keyward::webhook {

struct InjectOptions {
  std::string file;                       // path, or "-" for stdin
  std::vector<std::string> apikey_files;  // more ApiKeys (YAML, multi-document)
  ServerVersion server_version{1, 29};
  std::string sidecar_image = "ghcr.io/keyward/keyward-sidecar:0.1.0";
  std::string default_namespace = "default";  // for documents without metadata.namespace
  MutationDefaults defaults;
};

// Parses the arguments after "inject". Error{"InvalidArguments"} says which flag is wrong.
Result<InjectOptions> parse_inject_arguments(const std::vector<std::string>& args);

// The whole transformation, without I/O: input text plus the texts of the --apikey-file files.
Result<std::string> inject_manifests(const std::string& input,
                                     const std::vector<std::string>& apikey_texts,
                                     const InjectOptions& options);

// Entry point for main(): pass main's argc/argv unchanged (the "inject" word is skipped).
// Returns the process exit code: 0 ok, 1 refused/invalid input, 2 bad arguments.
int run_inject_command(int argc, char** argv);

}  // namespace keyward::webhook
