#pragma once
// `keyward-sidecar exec [--out DIR] [--timeout-seconds N] -- CMD ARGS...`: for apps that read
// their credentials only from the environment. Waits until token.json says Valid with life
// left (a progress line every 5 seconds), reads token.env, and execs CMD with those variables
// added to its environment. The directory is watched with inotify: no polling once it exists.

#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/io/config_resolver.h"
#include "common/io/filesystem.h"

namespace keyward::sidecar {

// The environment for CMD: base plus every NAME='value' of token.env (token.env wins).
Result<std::vector<std::string>> exec_environment(const Environment& base,
                                                  const std::string& token_env);

// Blocks until a valid token is in dir, the timeout passes (Error "Timeout") or stop.
// progress runs every progress_every with the seconds waited so far.
Status wait_for_valid_token(const Filesystem& fs, Clock& clock, const std::string& dir,
                            Seconds timeout, std::stop_token stop, const Logger& logger,
                            Seconds progress_every = Seconds(5));

// The whole subcommand; returns only on failure (exit code), otherwise execs.
int run_exec(const std::vector<std::string>& args, const Environment& env, const Logger& logger);

}  // namespace keyward::sidecar
