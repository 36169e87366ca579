#pragma once
// How main() learns it should end: SIGTERM/SIGINT through a signalfd (the signals are blocked
// in every thread, so no handler and no global flag is needed), or finish() from inside the
// program (--once got its token). wait() blocks in poll(2) on both fds.

#include <memory>
#include <string>

#include "common/core/result.h"
#include "common/io/unique_fd.h"

namespace keyward::sidecar {

class ShutdownSignal {
 public:
  // Blocks SIGTERM and SIGINT in the calling thread (call before starting any thread, so all
  // threads inherit the mask) and opens the fds.
  static Result<std::unique_ptr<ShutdownSignal>> install();

  void finish(int exit_code);
  // Returns the exit code: 0 after SIGTERM/SIGINT, or what finish() was given.
  int wait();

 private:
  ShutdownSignal(UniqueFd signal_fd, UniqueFd event_fd)
      : signal_fd_(std::move(signal_fd)), event_fd_(std::move(event_fd)) {}
  UniqueFd signal_fd_;
  UniqueFd event_fd_;
  int exit_code_ = 0;  // written by finish() before the eventfd write, read after it
};

}  // namespace keyward::sidecar
