#pragma once
// WorkQueue: the keys ("namespace/name") controllers work on, after client-go's workqueue
// (queue + dirty set + processing set, delaying queue, per-item exponential rate limiter) and
// controller-runtime's use of it.
//
// - add(key) deduplicates: a key waiting in the queue is not added twice.
// - A key is never handed to two workers: a key added while a worker processes it is marked
//   dirty and queued again only when that worker calls done(key).
// - add_after(key, delay): delayed keys are deduplicated, the earliest deadline wins. A timer
//   thread sleeps until the earliest deadline with Clock::sleep_until and a Wakeup (no polling;
//   a FakeClock drives it in tests).
// - add_rate_limited(key, not_before): add_after with max(base * 2^failures (capped),
//   not_before); forget(key) resets the failures.
// - shutdown(): get() returns nullopt once the queue is shut down; adds are ignored.
//
// Controller: N worker jthreads that take keys and call reconcile(key), kube-rs style with a
// reconcile and an error_policy. An error re-adds the key rate-limited (the queue's rate limiter
// is the one backoff) no earlier than the error policy says; success forgets its failures and,
// with requeue_after, adds it after that delay.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"

namespace keyward::kube {

struct WorkQueueOptions {
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{std::chrono::seconds(1000)};
};

class WorkQueue {
 public:
  // Starts the timer thread for delayed adds; the destructor shuts down and joins it.
  explicit WorkQueue(Clock& clock, WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void add_after(const std::string& key, std::chrono::milliseconds delay);
  void add_rate_limited(const std::string& key,
                        std::chrono::milliseconds not_before = std::chrono::milliseconds(0));
  void forget(const std::string& key);
  [[nodiscard]] int num_requeues(const std::string& key) const;
  // The delay add_rate_limited would use next for key (for tests and logs).
  [[nodiscard]] std::chrono::milliseconds next_backoff(const std::string& key) const;

  // Blocks until a key is ready, the queue shuts down or stop is requested (nullopt then).
  std::optional<std::string> get(std::stop_token stop = {});
  void done(const std::string& key);

  void shutdown();
  [[nodiscard]] bool shutting_down() const;

  [[nodiscard]] std::size_t depth() const;       // keys ready to be handed out
  [[nodiscard]] std::size_t delayed() const;     // keys waiting for their deadline
  [[nodiscard]] std::size_t processing() const;  // keys held by workers

 private:
  void add_locked(const std::string& key);
  void run_timer(std::stop_token stop);

  Clock& clock_;
  const WorkQueueOptions options_;

  mutable std::mutex mu_;  // guards everything below except timer_thread_ and timer_wakeup_
  std::condition_variable_any ready_;  // signalled when queue_ grows or on shutdown
  std::deque<std::string> queue_;
  std::set<std::string, std::less<>> dirty_;       // needs processing (queued or re-queued on done)
  std::set<std::string, std::less<>> processing_;  // held by a worker
  std::map<std::string, SystemTime, std::less<>> waiting_;  // delayed key -> earliest deadline
  std::map<std::string, int, std::less<>> failures_;        // rate limiter state
  bool shutting_down_ = false;

  Wakeup timer_wakeup_;  // poked when an earlier deadline arrives or on shutdown
  std::jthread timer_thread_;
};

struct ReconcileResult {
  std::optional<std::chrono::milliseconds> requeue_after;
  std::optional<Error> error;
};

// How soon a key whose reconcile failed may run again, at the earliest: the retry then happens at
// max(the queue's backoff, this). A policy can move a retry later (a server's Retry-After), never
// earlier, so a failing key can never hot-loop.
using ErrorPolicy =
    std::function<std::chrono::milliseconds(const std::string& key, const Error& error)>;

// The default policy: no earlier than the error's retry_after (an API server's 429/503
// Retry-After, a provider's rate limit), else the backoff alone.
[[nodiscard]] std::chrono::milliseconds honour_retry_after(const std::string& key,
                                                           const Error& error);

class Controller {
 public:
  using Reconcile = std::function<ReconcileResult(const std::string& key)>;

  Controller(std::string name, WorkQueue& queue, Reconcile reconcile, ErrorPolicy error_policy,
             int workers, Logger logger);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void start();
  // Stops the workers after their current reconcile; does not shut the queue down.
  void stop();

 private:
  void work(std::stop_token stop);

  std::string name_;
  WorkQueue& queue_;
  Reconcile reconcile_;
  ErrorPolicy error_policy_;
  int workers_;
  Logger logger_;
  std::vector<std::jthread> threads_;  // touched only by start/stop (one owner thread)
};

}  // namespace keyward::kube
