#include "common/kube/work_queue.h"

#include <algorithm>
#include <cmath>

namespace keyward::kube {

WorkQueue::WorkQueue(Clock& clock, WorkQueueOptions options) : clock_(clock), options_(options) {
  timer_thread_ = std::jthread([this](std::stop_token stop) { run_timer(stop); });
}

WorkQueue::~WorkQueue() {
  shutdown();
  timer_thread_.request_stop();
  if (timer_thread_.joinable()) timer_thread_.join();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  add_locked(key);
}

void WorkQueue::add_locked(const std::string& key) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;  // already waiting to be processed
  if (processing_.contains(key)) return;   // re-queued by done()
  queue_.push_back(key);
  ready_.notify_one();
}

void WorkQueue::add_after(const std::string& key, std::chrono::milliseconds delay) {
  if (delay <= std::chrono::milliseconds::zero()) {
    add(key);
    return;
  }
  bool earlier = false;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    const SystemTime deadline = clock_.now() + delay;
    const SystemTime previous_earliest =
        waiting_.empty()
            ? SystemTime::max()
            : std::min_element(waiting_.begin(), waiting_.end(), [](const auto& a, const auto& b) {
                return a.second < b.second;
              })->second;
    auto [it, inserted] = waiting_.try_emplace(key, deadline);
    if (!inserted && deadline < it->second) it->second = deadline;  // the earliest wins
    earlier = it->second < previous_earliest;
  }
  if (earlier) timer_wakeup_.notify();
}

std::chrono::milliseconds WorkQueue::next_backoff(const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = failures_.find(key);
  const int n = it == failures_.end() ? 0 : it->second;
  const double ms = static_cast<double>(options_.base_delay.count()) * std::pow(2.0, n);
  const double cap = static_cast<double>(options_.max_delay.count());
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::min(ms, cap)));
}

void WorkQueue::add_rate_limited(const std::string& key, std::chrono::milliseconds not_before) {
  const auto delay = std::max(next_backoff(key), not_before);
  {
    std::lock_guard lock(mu_);
    auto& n = failures_[key];
    if (n < 62) ++n;
  }
  add_after(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int WorkQueue::num_requeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<std::string> WorkQueue::get(std::stop_token stop) {
  std::unique_lock lock(mu_);
  ready_.wait(lock, stop, [this] { return !queue_.empty() || shutting_down_; });
  if (queue_.empty()) return std::nullopt;  // shut down (and drained) or stopped
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  if (dirty_.contains(key)) {
    queue_.push_back(key);
    ready_.notify_one();
  }
}

void WorkQueue::shutdown() {
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
  }
  ready_.notify_all();
  timer_wakeup_.notify();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

std::size_t WorkQueue::depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::size_t WorkQueue::delayed() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

std::size_t WorkQueue::processing() const {
  std::lock_guard lock(mu_);
  return processing_.size();
}

void WorkQueue::run_timer(std::stop_token stop) {
  while (!stop.stop_requested()) {
    SystemTime next = SystemTime::max();
    {
      std::lock_guard lock(mu_);
      if (shutting_down_) return;
      const SystemTime now = clock_.now();
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (it->second <= now) {
          add_locked(it->first);
          it = waiting_.erase(it);
        } else {
          next = std::min(next, it->second);
          ++it;
        }
      }
    }
    clock_.sleep_until(next, timer_wakeup_, stop);
  }
}

std::chrono::milliseconds honour_retry_after(const std::string& /*key*/, const Error& error) {
  return error.retry_after
             ? std::chrono::duration_cast<std::chrono::milliseconds>(*error.retry_after)
             : std::chrono::milliseconds(0);
}

Controller::Controller(std::string name, WorkQueue& queue, Reconcile reconcile,
                       ErrorPolicy error_policy, int workers, Logger logger)
    : name_(std::move(name)),
      queue_(queue),
      reconcile_(std::move(reconcile)),
      error_policy_(error_policy ? std::move(error_policy) : ErrorPolicy(honour_retry_after)),
      workers_(std::max(1, workers)),
      logger_(std::move(logger)) {}

Controller::~Controller() { stop(); }

void Controller::start() {
  if (!threads_.empty()) return;
  for (int i = 0; i < workers_; ++i) {
    threads_.emplace_back([this](std::stop_token stop) { work(stop); });
  }
}

void Controller::stop() {
  for (auto& t : threads_) t.request_stop();
  threads_.clear();  // joins
}

void Controller::work(std::stop_token stop) {
  while (!stop.stop_requested()) {
    auto key = queue_.get(stop);
    if (!key) return;
    ReconcileResult result;
    try {
      result = reconcile_(*key);
    } catch (const std::exception& e) {
      // A reconciler must not throw; treat it as an error so the key is retried, not lost.
      result.error = Error{"ReconcilePanic", std::string("reconcile threw: ") + e.what(), 0};
    }
    if (result.error) {
      const auto not_before = error_policy_(*key, *result.error);
      logger_.warn("reconcile failed; retrying with backoff",
                   {{"controller", name_},
                    {"object", *key},
                    {"reason", result.error->reason},
                    {"error", result.error->message},
                    {"retryInMs", std::max(queue_.next_backoff(*key), not_before).count()}});
      queue_.add_rate_limited(*key, not_before);
    } else {
      queue_.forget(*key);
      if (result.requeue_after) queue_.add_after(*key, *result.requeue_after);
    }
    queue_.done(*key);
  }
}

}  // namespace keyward::kube
