#include "sidecar/shutdown_signal.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

namespace keyward::sidecar {

Result<std::unique_ptr<ShutdownSignal>> ShutdownSignal::install() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return fail("SignalSetupFailed", "blocking SIGTERM/SIGINT failed");
  }
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!sfd)
    return fail("SignalSetupFailed", std::string("signalfd failed: ") + std::strerror(errno));
  UniqueFd efd(::eventfd(0, EFD_CLOEXEC));
  if (!efd)
    return fail("SignalSetupFailed", std::string("eventfd failed: ") + std::strerror(errno));
  return std::unique_ptr<ShutdownSignal>(new ShutdownSignal(std::move(sfd), std::move(efd)));
}

void ShutdownSignal::finish(int exit_code) {
  exit_code_ = exit_code;
  std::atomic_thread_fence(std::memory_order_release);
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(event_fd_.get(), &one, sizeof one);
}

int ShutdownSignal::wait() {
  while (true) {
    std::array<pollfd, 2> fds{pollfd{signal_fd_.get(), POLLIN, 0},
                              pollfd{event_fd_.get(), POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[0].revents & POLLIN) return 0;
    if (fds[1].revents & POLLIN) {
      std::atomic_thread_fence(std::memory_order_acquire);
      return exit_code_;
    }
  }
}

}  // namespace keyward::sidecar
