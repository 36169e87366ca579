#pragma once
// The keyward_* metric names the chart's monitoring uses: its alert rules
// (charts/keyward/files/alerts.yaml) and its Grafana dashboard
// (charts/keyward/files/dashboard.json). Header-only, so any test can check them against what the
// operator and the sidecar export.

#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

namespace keyward::chart_testing {

// Every keyward_* metric name in `text` (PromQL, a rule file, dashboard JSON): each match of
// keyward_[a-z0-9_]+ that does not continue a longer identifier (so the Prometheus meta label
// __meta_kubernetes_pod_label_keyward_dev_apikey is not one), with a histogram's series suffix
// _bucket, _sum or _count stripped (keyward_reconcile_duration_seconds_bucket names the histogram
// keyward_reconcile_duration_seconds). No Keyward metric ends in one of those suffixes otherwise;
// a match that ends in "_" is a prefix (keyward_sidecar_*) and left out.
inline std::set<std::string> metric_names_in(const std::string& text) {
  static const std::regex name_re("keyward_[a-z0-9_]+");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name_re);
       it != std::sregex_iterator(); ++it) {
    const auto pos = static_cast<std::size_t>(it->position(0));
    if (pos > 0) {
      const unsigned char before = static_cast<unsigned char>(text[pos - 1]);
      if (std::isalnum(before) != 0 || before == '_' || before == ':') continue;
    }
    std::string name = it->str(0);
    if (name.back() == '_') continue;  // a prefix (keyward_sidecar_*), not a name
    for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        name.erase(name.size() - suffix.size());
        break;
      }
    }
    names.insert(name);
  }
  return names;
}

// The whole of a file, or "" when it cannot be read.
inline std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every keyward_* metric the chart's alert rules and dashboard use, from the source tree at
// `source_dir` (tests pass KEYWARD_SOURCE_DIR).
inline std::set<std::string> chart_metric_names(const std::filesystem::path& source_dir) {
  const std::filesystem::path files = source_dir / "charts" / "keyward" / "files";
  std::set<std::string> names = metric_names_in(read_text_file(files / "alerts.yaml"));
  names.merge(metric_names_in(read_text_file(files / "dashboard.json")));
  return names;
}

}  // namespace keyward::chart_testing
