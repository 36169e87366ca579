#pragma once
// Prometheus metrics without globals: a MetricsRegistry owned by main() and passed by reference.
// render() produces the text exposition format, version 0.0.4.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace keyward {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  void inc(const Labels& labels = {}, double v = 1);
  [[nodiscard]] double value(const Labels& labels = {}) const;

 private:
  friend class MetricsRegistry;
  mutable std::mutex mu_;  // guards values_
  std::map<Labels, double> values_;
};

class Gauge {
 public:
  void set(const Labels& labels, double v);
  void set(double v) { set({}, v); }
  void inc(const Labels& labels = {}, double v = 1);
  void dec(const Labels& labels = {}, double v = 1) { inc(labels, -v); }
  // Drops every series whose labels include all of `subset` (an ApiKey's series when it goes,
  // or its old condition when a new one replaces it).
  void erase_matching(const Labels& subset);
  [[nodiscard]] double value(const Labels& labels = {}) const;
  // Whether a series with exactly these labels exists (set and not erased).
  [[nodiscard]] bool has(const Labels& labels) const;

 private:
  friend class MetricsRegistry;
  mutable std::mutex mu_;  // guards values_
  std::map<Labels, double> values_;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> buckets);
  void observe(const Labels& labels, double v);
  void observe(double v) { observe({}, v); }
  [[nodiscard]] std::uint64_t count(const Labels& labels = {}) const;
  [[nodiscard]] double sum(const Labels& labels = {}) const;

 private:
  friend class MetricsRegistry;
  struct Series {
    std::vector<std::uint64_t> bucket_counts;  // not cumulative; rendered cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::vector<double> buckets_;
  mutable std::mutex mu_;  // guards series_
  std::map<Labels, Series> series_;
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering the same name twice returns the same metric (of the same type; a clash of types
  // is a programming error and aborts).
  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                      2.5, 5, 10});

  [[nodiscard]] std::string render() const;
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry {
    std::string help;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  mutable std::mutex mu_;  // guards entries_ (the map; each metric guards its own values)
  std::map<std::string, Entry> entries_;
};

}  // namespace keyward
