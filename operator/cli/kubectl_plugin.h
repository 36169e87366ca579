#pragma once
// kubectl-keyward: the desk's kubectl plugin (`kubectl keyward VERB ...`). keyward-operator is
// installed a second time under the name kubectl-keyward (a symlink or a copy) and dispatches
// on its name; kubectl finds it on PATH. kubectl_complete-keyward (the same binary again) is
// what kubectl calls to complete the plugin's arguments.
//
//   status NAME        the ApiKey's key, schedule, window, consumers, provider and conditions
//   explain NAME       why it is not rotated or its pods not restarted now, one line per cause
//   rotate NAME        a rotation now, outside windows ([--end-grace] [--requested-by WHO])
//   hold POD --reason  keyward.dev/hold on a consumer pod;  release POD  removes it
//   inject -f FILE     the offline injection (keyward-operator inject; composed by main)
//   completion bash|zsh, version
//
// Flags anywhere: -n/--namespace (default: the kubeconfig context's namespace), --kubeconfig,
// --context, -o/--output text|json|yaml. The cluster is reached through the same kubeconfig
// handling as the operator (common/kube/kube_config.h). Exit codes: 0 done, 1 the cluster said
// no or cannot be reached (the message says what to do), 2 bad arguments.

#include <iosfwd>
#include <string>
#include <vector>

#include "common/io/config_resolver.h"

namespace keyward::cli {

inline constexpr const char* kPluginName = "kubectl-keyward";
inline constexpr const char* kCompletionName = "kubectl_complete-keyward";

// args: what follows the program name. inject is not handled here (main composes it).
int run_kubectl_plugin(const std::vector<std::string>& args, const Environment& env,
                       const std::string& version, std::ostream& out, std::ostream& err);

// `keyward-operator rotate NAMESPACE/NAME [--end-grace] [--requested-by WHO] [--kubeconfig F]`.
int run_rotate_command(const std::vector<std::string>& args, const Environment& env,
                       std::ostream& out, std::ostream& err);

// Cobra's completion protocol (what kubectl expects of kubectl_complete-<plugin>): args are the
// words typed so far, the last one the word being completed (maybe ""). Prints one candidate per
// line, then ":4" (no file completion). Candidates for names come from the cluster; a cluster
// that cannot be reached gives none.
int complete_kubectl_plugin(const std::vector<std::string>& args, const Environment& env,
                            std::ostream& out);

}  // namespace keyward::cli
