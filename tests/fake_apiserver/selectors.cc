#include "tests/fake_apiserver/selectors.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace keyward::testing::fake {

using nlohmann::json;

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Splits on commas that are not inside parentheses.
std::vector<std::string> split_top_level(const std::string& text) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string current;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(trim(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!trim(current).empty() || !parts.empty()) parts.push_back(trim(current));
  return parts;
}

std::vector<std::string> split_values(const std::string& inner) {
  std::vector<std::string> values;
  std::string current;
  for (char c : inner) {
    if (c == ',') {
      values.push_back(trim(current));
      current.clear();
    } else {
      current += c;
    }
  }
  values.push_back(trim(current));
  return values;
}

bool parse_int(const std::string& s, long long& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::string label_value(const json& labels, const std::string& key, bool& present) {
  auto it = labels.find(key);
  present = it != labels.end() && it->is_string();
  return present ? it->get<std::string>() : std::string();
}

}  // namespace

Result<LabelSelector> LabelSelector::parse(const std::string& text) {
  LabelSelector selector;
  if (trim(text).empty()) return selector;
  for (const std::string& part : split_top_level(text)) {
    if (part.empty()) {
      return fail("InvalidSelector", "labelSelector \"" + text + "\" has an empty requirement");
    }
    Requirement req;
    if (part[0] == '!') {
      req.key = trim(part.substr(1));
      req.op = Op::DoesNotExist;
    } else if (auto pos = part.find(" notin ");
               pos != std::string::npos || part.find(" in ") != std::string::npos) {
      bool notin = pos != std::string::npos;
      if (!notin) pos = part.find(" in ");
      req.key = trim(part.substr(0, pos));
      std::string rest = trim(part.substr(pos + (notin ? 7 : 4)));
      if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') {
        return fail("InvalidSelector",
                    "labelSelector \"" + text + "\": set values must be in parentheses");
      }
      req.values = split_values(rest.substr(1, rest.size() - 2));
      req.op = notin ? Op::NotIn : Op::In;
    } else if (auto ne = part.find("!="); ne != std::string::npos) {
      req.key = trim(part.substr(0, ne));
      req.values = {trim(part.substr(ne + 2))};
      req.op = Op::NotEquals;
    } else if (auto eq2 = part.find("=="); eq2 != std::string::npos) {
      req.key = trim(part.substr(0, eq2));
      req.values = {trim(part.substr(eq2 + 2))};
      req.op = Op::Equals;
    } else if (auto eq = part.find('='); eq != std::string::npos) {
      req.key = trim(part.substr(0, eq));
      req.values = {trim(part.substr(eq + 1))};
      req.op = Op::Equals;
    } else if (auto gt = part.find_first_of("><"); gt != std::string::npos) {
      req.key = trim(part.substr(0, gt));
      req.values = {trim(part.substr(gt + 1))};
      req.op = part[gt] == '>' ? Op::GreaterThan : Op::LessThan;
      long long ignored = 0;
      if (!parse_int(req.values[0], ignored)) {
        return fail("InvalidSelector",
                    "labelSelector \"" + text + "\": " + req.values[0] + " is not an integer");
      }
    } else {
      req.key = part;
      req.op = Op::Exists;
    }
    if (req.key.empty() || req.key.find_first_of(" ()") != std::string::npos) {
      return fail("InvalidSelector",
                  "labelSelector \"" + text + "\": invalid key in \"" + part + "\"");
    }
    selector.requirements_.push_back(std::move(req));
  }
  return selector;
}

Result<LabelSelector> LabelSelector::from_json(const json& sel) {
  LabelSelector selector;
  if (!sel.is_object()) return selector;
  if (auto ml = sel.find("matchLabels"); ml != sel.end() && ml->is_object()) {
    for (const auto& [k, v] : ml->items()) {
      selector.requirements_.push_back(
          {k, Op::Equals, {v.is_string() ? v.get<std::string>() : v.dump()}});
    }
  }
  if (auto me = sel.find("matchExpressions"); me != sel.end() && me->is_array()) {
    for (const auto& e : *me) {
      Requirement req;
      req.key = e.value("key", "");
      std::string op = e.value("operator", "");
      if (op == "In")
        req.op = Op::In;
      else if (op == "NotIn")
        req.op = Op::NotIn;
      else if (op == "Exists")
        req.op = Op::Exists;
      else if (op == "DoesNotExist")
        req.op = Op::DoesNotExist;
      else
        return fail("InvalidSelector", "matchExpressions operator \"" + op +
                                           "\" is not In, NotIn, Exists or DoesNotExist");
      if (auto vals = e.find("values"); vals != e.end() && vals->is_array()) {
        for (const auto& v : *vals)
          req.values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      }
      selector.requirements_.push_back(std::move(req));
    }
  }
  return selector;
}

bool LabelSelector::matches(const json& labels) const {
  for (const Requirement& req : requirements_) {
    bool present = false;
    std::string value = labels.is_object() ? label_value(labels, req.key, present) : std::string();
    auto in_values = [&] {
      return std::find(req.values.begin(), req.values.end(), value) != req.values.end();
    };
    switch (req.op) {
      case Op::Equals:
        if (!present || value != req.values[0]) return false;
        break;
      case Op::NotEquals:
        if (present && value == req.values[0]) return false;
        break;
      case Op::In:
        if (!present || !in_values()) return false;
        break;
      case Op::NotIn:
        if (present && in_values()) return false;
        break;
      case Op::Exists:
        if (!present) return false;
        break;
      case Op::DoesNotExist:
        if (present) return false;
        break;
      case Op::GreaterThan:
      case Op::LessThan: {
        long long have = 0;
        long long want = 0;
        if (!present || !parse_int(value, have) || !parse_int(req.values[0], want)) return false;
        if (req.op == Op::GreaterThan ? !(have > want) : !(have < want)) return false;
        break;
      }
    }
  }
  return true;
}

Result<FieldSelector> FieldSelector::parse(const std::string& text) {
  FieldSelector selector;
  if (trim(text).empty()) return selector;
  for (const std::string& part : split_top_level(text)) {
    Term term;
    std::size_t op_len = 0;
    std::size_t pos = part.find("!=");
    if (pos != std::string::npos) {
      term.negate = true;
      op_len = 2;
    } else if ((pos = part.find("==")) != std::string::npos) {
      term.negate = false;
      op_len = 2;
    } else if ((pos = part.find('=')) != std::string::npos) {
      term.negate = false;
      op_len = 1;
    } else {
      return fail("InvalidSelector",
                  "fieldSelector \"" + text + "\": \"" + part + "\" has no operator (=, ==, !=)");
    }
    std::string path = trim(part.substr(0, pos));
    term.value = trim(part.substr(pos + op_len));
    if (path.empty())
      return fail("InvalidSelector", "fieldSelector \"" + text + "\": empty field name");
    std::size_t start = 0;
    while (true) {
      std::size_t dot = path.find('.', start);
      term.path.push_back(path.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    selector.terms_.push_back(std::move(term));
  }
  return selector;
}

bool FieldSelector::matches(const json& object) const {
  for (const Term& term : terms_) {
    const json* node = &object;
    for (const std::string& step : term.path) {
      if (!node->is_object()) {
        node = nullptr;
        break;
      }
      auto it = node->find(step);
      if (it == node->end()) {
        node = nullptr;
        break;
      }
      node = &*it;
    }
    std::string value;
    if (node != nullptr && !node->is_null())
      value = node->is_string() ? node->get<std::string>() : node->dump();
    if ((value == term.value) == term.negate) return false;
  }
  return true;
}

}  // namespace keyward::testing::fake
