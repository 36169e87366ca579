#pragma once
// Waits for a condition another thread makes true, with a bounded deadline (never a fixed
// sleep): true as soon as pred() holds, false after the timeout.

#include <chrono>
#include <thread>

namespace keyward::testing {

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace keyward::testing
