#include "tests/fake_apiserver/table_printer.h"

#include <cstdio>

namespace keyward::testing::fake {

using nlohmann::json;

std::string human_duration(std::chrono::seconds age) {
  long long s = age.count();
  char buf[64];
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%llds", s);
    return buf;
  }
  long long m = s / 60;
  if (m < 10) {
    if (s % 60 == 0)
      std::snprintf(buf, sizeof buf, "%lldm", m);
    else
      std::snprintf(buf, sizeof buf, "%lldm%llds", m, s % 60);
    return buf;
  }
  if (m < 180) {
    std::snprintf(buf, sizeof buf, "%lldm", m);
    return buf;
  }
  long long h = s / 3600;
  if (h < 8) {
    if (m % 60 == 0)
      std::snprintf(buf, sizeof buf, "%lldh", h);
    else
      std::snprintf(buf, sizeof buf, "%lldh%lldm", h, m % 60);
    return buf;
  }
  if (h < 48) {
    std::snprintf(buf, sizeof buf, "%lldh", h);
    return buf;
  }
  if (h < 192) {
    if (h % 24 == 0)
      std::snprintf(buf, sizeof buf, "%lldd", h / 24);
    else
      std::snprintf(buf, sizeof buf, "%lldd%lldh", h / 24, h % 24);
    return buf;
  }
  if (h < 24LL * 365 * 2) {
    std::snprintf(buf, sizeof buf, "%lldd", h / 24);
    return buf;
  }
  long long y = h / (24LL * 365);
  if (y < 8)
    std::snprintf(buf, sizeof buf, "%lldy%lldd", y, (h / 24) % 365);
  else
    std::snprintf(buf, sizeof buf, "%lldy", y);
  return buf;
}

namespace {

// Reads one step of a path: a field name, then any number of [N] or [?(@.k=="v")] suffixes.
const json* step(const json* node, const std::string& segment) {
  std::size_t bracket = segment.find('[');
  std::string field = segment.substr(0, bracket);
  if (!field.empty()) {
    if (node == nullptr || !node->is_object()) return nullptr;
    auto it = node->find(field);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  while (bracket != std::string::npos && node != nullptr) {
    std::size_t close = segment.find(']', bracket);
    if (close == std::string::npos) return nullptr;
    std::string inside = segment.substr(bracket + 1, close - bracket - 1);
    if (!node->is_array()) return nullptr;
    if (inside.rfind("?(@.", 0) == 0) {
      // Filter: ?(@.key=="value")
      std::size_t eq = inside.find("==");
      if (eq == std::string::npos) return nullptr;
      std::string key = inside.substr(4, eq - 4);
      std::string want = inside.substr(eq + 2);
      if (!want.empty() && want.back() == ')') want.pop_back();
      if (want.size() >= 2 && (want.front() == '"' || want.front() == '\''))
        want = want.substr(1, want.size() - 2);
      const json* found = nullptr;
      for (const auto& item : *node) {
        if (item.is_object() && item.contains(key) && item[key].is_string() &&
            item[key].get<std::string>() == want) {
          found = &item;
          break;
        }
      }
      node = found;
    } else {
      std::size_t index = 0;
      try {
        index = std::stoul(inside);
      } catch (const std::exception&) {
        return nullptr;
      }
      node = index < node->size() ? &(*node)[index] : nullptr;
    }
    bracket = segment.find('[', close);
  }
  return node;
}

}  // namespace

json evaluate_column_path(const json& object, const std::string& path) {
  std::string p = path;
  if (p.size() >= 2 && p.front() == '{' && p.back() == '}') p = p.substr(1, p.size() - 2);
  if (!p.empty() && p.front() == '.') p.erase(0, 1);
  const json* node = &object;
  std::size_t start = 0;
  while (node != nullptr && start <= p.size()) {
    // Split on dots outside brackets.
    std::size_t i = start;
    int depth = 0;
    for (; i < p.size(); ++i) {
      if (p[i] == '[') ++depth;
      if (p[i] == ']') --depth;
      if (p[i] == '.' && depth == 0) break;
    }
    node = step(node, p.substr(start, i - start));
    if (i >= p.size()) break;
    start = i + 1;
  }
  return node == nullptr ? json(nullptr) : *node;
}

namespace {

std::string age_of(const json& object, SystemTime now) {
  auto created = parse_rfc3339(meta_string(object, "creationTimestamp"));
  if (!created) return "<unknown>";
  return human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - *created));
}

json row_object(const ObjectPtr& obj, const std::string& include_object) {
  if (include_object == "None") return nullptr;
  if (include_object == "Object") return *obj;
  return {{"kind", "PartialObjectMetadata"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", obj->value("metadata", json::object())}};
}

}  // namespace

json make_table(const ResourceInfo& info, const std::vector<ObjectPtr>& objects,
                const std::string& include_object, SystemTime now) {
  json columns = json::array();
  columns.push_back({{"name", "Name"},
                     {"type", "string"},
                     {"format", "name"},
                     {"description", "Name must be unique within a namespace."},
                     {"priority", 0}});
  json printer = info.printer_columns;
  if (!printer.is_array() || printer.empty()) {
    printer = json::array(
        {{{"name", "Age"}, {"type", "date"}, {"jsonPath", ".metadata.creationTimestamp"}}});
  }
  for (const auto& col : printer) {
    columns.push_back({{"name", col.value("name", "")},
                       {"type", col.value("type", "string")},
                       {"format", col.value("format", "")},
                       {"description", col.value("description", "")},
                       {"priority", col.value("priority", 0)}});
  }
  json rows = json::array();
  for (const ObjectPtr& obj : objects) {
    json cells = json::array({meta_string(*obj, "name")});
    for (const auto& col : printer) {
      std::string path = col.value("jsonPath", "");
      if (col.value("type", "") == "date") {
        json v = evaluate_column_path(*obj, path);
        Result<SystemTime> t = fail("NotATime", "");
        if (v.is_string()) t = parse_rfc3339(v.get<std::string>());
        if (path == ".metadata.creationTimestamp")
          cells.push_back(age_of(*obj, now));
        else if (t)
          cells.push_back(
              human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - *t)));
        else
          cells.push_back(nullptr);
      } else {
        cells.push_back(evaluate_column_path(*obj, path));
      }
    }
    json row = {{"cells", std::move(cells)}};
    json ro = row_object(obj, include_object);
    if (!ro.is_null()) row["object"] = std::move(ro);
    rows.push_back(std::move(row));
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", json::object()},
          {"columnDefinitions", std::move(columns)},
          {"rows", std::move(rows)}};
}

}  // namespace keyward::testing::fake
