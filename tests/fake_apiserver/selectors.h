#pragma once
// Label and field selectors as the real API server parses them from ?labelSelector= and
// ?fieldSelector=.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/core/result.h"

namespace keyward::testing::fake {

// labelSelector: comma-separated requirements, all of which must hold:
// `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not exist),
// `k>5`, `k<5` (integer comparison).
class LabelSelector {
 public:
  static Result<LabelSelector> parse(const std::string& text);
  // A meta/v1 LabelSelector object ({matchLabels, matchExpressions}), as in PDBs and Deployments.
  static Result<LabelSelector> from_json(const nlohmann::json& selector);
  [[nodiscard]] bool matches(const nlohmann::json& labels) const;
  [[nodiscard]] bool empty() const { return requirements_.empty(); }

 private:
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist, GreaterThan, LessThan };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  std::vector<Requirement> requirements_;
};

// fieldSelector: comma-separated `path=v`, `path==v`, `path!=v`. Any dotted path into the
// object is accepted (metadata.name, metadata.namespace, status.phase, spec.nodeName, type, ...);
// a missing field compares as "".
class FieldSelector {
 public:
  static Result<FieldSelector> parse(const std::string& text);
  [[nodiscard]] bool matches(const nlohmann::json& object) const;
  [[nodiscard]] bool empty() const { return terms_.empty(); }

 private:
  struct Term {
    std::vector<std::string> path;
    bool negate;
    std::string value;
  };
  std::vector<Term> terms_;
};

}  // namespace keyward::testing::fake
