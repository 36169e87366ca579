#include "common/core/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace keyward {
namespace {

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string render_labels(const Labels& labels, const std::string& extra_key = "",
                          const std::string& extra_value = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + escape_label_value(v) + "\"";
  }
  if (!extra_key.empty()) {
    if (!first) out += ',';
    out += extra_key + "=\"" + extra_value + "\"";
  }
  out += '}';
  return out;
}

}  // namespace

void Counter::inc(const Labels& labels, double v) {
  if (v < 0) return;  // counters only go up
  std::lock_guard lock(mu_);
  values_[labels] += v;
}

double Counter::value(const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0 : it->second;
}

void Gauge::set(const Labels& labels, double v) {
  std::lock_guard lock(mu_);
  values_[labels] = v;
}

void Gauge::inc(const Labels& labels, double v) {
  std::lock_guard lock(mu_);
  values_[labels] += v;
}

void Gauge::erase_matching(const Labels& subset) {
  std::lock_guard lock(mu_);
  std::erase_if(values_, [&](const auto& entry) {
    return std::ranges::all_of(subset, [&](const auto& kv) {
      auto it = entry.first.find(kv.first);
      return it != entry.first.end() && it->second == kv.second;
    });
  });
}

bool Gauge::has(const Labels& labels) const {
  std::lock_guard lock(mu_);
  return values_.contains(labels);
}

double Gauge::value(const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0 : it->second;
}

Histogram::Histogram(std::vector<double> buckets) : buckets_(std::move(buckets)) {
  std::sort(buckets_.begin(), buckets_.end());
}

void Histogram::observe(const Labels& labels, double v) {
  std::lock_guard lock(mu_);
  Series& s = series_[labels];
  if (s.bucket_counts.empty()) s.bucket_counts.assign(buckets_.size(), 0);
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    if (v <= buckets_[i]) {
      ++s.bucket_counts[i];
      break;
    }
  }
  ++s.count;
  s.sum += v;
}

std::uint64_t Histogram::count(const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.count;
}

double Histogram::sum(const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.sum;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[name];
  if (e.gauge || e.histogram) std::abort();  // one name, one type
  if (!e.counter) {
    e.help = help;
    e.counter = std::make_unique<Counter>();
  }
  return *e.counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[name];
  if (e.counter || e.histogram) std::abort();
  if (!e.gauge) {
    e.help = help;
    e.gauge = std::make_unique<Gauge>();
  }
  return *e.gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[name];
  if (e.counter || e.gauge) std::abort();
  if (!e.histogram) {
    e.help = help;
    e.histogram = std::make_unique<Histogram>(std::move(buckets));
  }
  return *e.histogram;
}

std::string MetricsRegistry::render() const {
  std::ostringstream out;
  std::lock_guard lock(mu_);
  for (const auto& [name, e] : entries_) {
    out << "# HELP " << name << ' ' << e.help << '\n';
    if (e.counter) {
      out << "# TYPE " << name << " counter\n";
      std::lock_guard l(e.counter->mu_);
      for (const auto& [labels, v] : e.counter->values_)
        out << name << render_labels(labels) << ' ' << format_value(v) << '\n';
    } else if (e.gauge) {
      out << "# TYPE " << name << " gauge\n";
      std::lock_guard l(e.gauge->mu_);
      for (const auto& [labels, v] : e.gauge->values_)
        out << name << render_labels(labels) << ' ' << format_value(v) << '\n';
    } else if (e.histogram) {
      out << "# TYPE " << name << " histogram\n";
      const Histogram& h = *e.histogram;
      std::lock_guard l(h.mu_);
      for (const auto& [labels, s] : h.series_) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < h.buckets_.size(); ++i) {
          cumulative += s.bucket_counts[i];
          out << name << "_bucket" << render_labels(labels, "le", format_value(h.buckets_[i]))
              << ' ' << cumulative << '\n';
        }
        out << name << "_bucket" << render_labels(labels, "le", "+Inf") << ' ' << s.count << '\n';
        out << name << "_sum" << render_labels(labels) << ' ' << format_value(s.sum) << '\n';
        out << name << "_count" << render_labels(labels) << ' ' << s.count << '\n';
      }
    }
  }
  return out.str();
}

}  // namespace keyward
