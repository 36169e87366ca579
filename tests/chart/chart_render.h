#pragma once
// Rendering the chart for the chart tests: `helm template` with --set values, every document
// parsed to JSON (chart_test.cc and monitoring_test.cc).

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/core/yaml_json.h"
#include "tests/chart/helm_runner.h"

namespace keyward::chart_testing {

inline constexpr const char* kNamespace = "keyward-system";

inline std::filesystem::path source_dir() { return KEYWARD_SOURCE_DIR; }
inline std::string chart_dir() { return (source_dir() / "charts" / "keyward").string(); }

struct Rendered {
  std::vector<nlohmann::json> docs;
  [[nodiscard]] std::vector<nlohmann::json> of_kind(const std::string& kind) const {
    std::vector<nlohmann::json> out;
    for (const auto& d : docs) {
      if (d.value("kind", "") == kind) out.push_back(d);
    }
    return out;
  }
  [[nodiscard]] nlohmann::json one(const std::string& kind) const {
    auto all = of_kind(kind);
    EXPECT_EQ(all.size(), 1u) << "expected exactly one " << kind;
    return all.empty() ? nlohmann::json() : all.front();
  }
};

inline std::vector<std::string> with_sets(std::vector<std::string> args,
                                          const std::vector<std::string>& sets) {
  for (const auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  return args;
}

inline Rendered render(const std::vector<std::string>& sets = {},
                       const std::string& release = "rel") {
  auto r = run_helm(with_sets({"template", release, chart_dir(), "--namespace", kNamespace}, sets));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A render is silent: Helm warns on stderr about symlinks in the chart and other oddities a
  // user would see on every install.
  EXPECT_EQ(r.err, "") << "helm template printed warnings";
  Rendered out;
  auto nodes = load_yaml_documents(r.out);
  EXPECT_TRUE(nodes) << (nodes ? "" : nodes.error().message);
  if (!nodes) return out;
  for (const auto& n : *nodes) {
    auto j = yaml_to_json(n);
    EXPECT_TRUE(j);
    if (j && !j->is_null()) out.docs.push_back(*j);
  }
  return out;
}

}  // namespace keyward::chart_testing
