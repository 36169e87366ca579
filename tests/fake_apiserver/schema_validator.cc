#include "tests/fake_apiserver/schema_validator.h"

#include <cmath>
#include <regex>

#include "tests/fake_apiserver/cel_subset.h"

namespace keyward::testing::fake {

using nlohmann::json;

namespace {

std::string join_path(const std::string& base, const std::string& field) {
  return base.empty() ? field : base + "." + field;
}

std::string type_of(const json& v) {
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number_float()) return "number";
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  return "null";
}

bool has_type(const json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "integer") {
    return v.is_number_integer() || v.is_number_unsigned() ||
           (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  }
  if (type == "number") return v.is_number();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  return true;
}

std::string render(const json& v) {
  return v.is_string() ? "\"" + v.get<std::string>() + "\"" : v.dump();
}

class Walker {
 public:
  explicit Walker(SchemaOutcome& out) : out_(out) {}

  void walk(json& value, const json& schema, const std::string& path) {
    if (!schema.is_object()) return;
    if (value.is_null()) {
      if (!schema.value("nullable", false)) invalid(path, value, "must not be null");
      return;
    }
    bool int_or_string = schema.value("x-kubernetes-int-or-string", false);
    if (int_or_string) {
      if (!value.is_string() && !has_type(value, "integer")) {
        out_.causes.push_back({"FieldValueTypeInvalid",
                               "Invalid value: " + render(value) + ": " + path +
                                   " in body must be of type integer-or-string",
                               path});
      }
      return;
    }
    std::string type = schema.value("type", "");
    if (!type.empty() && !has_type(value, type)) {
      out_.causes.push_back({"FieldValueTypeInvalid",
                             "Invalid value: \"" + type_of(value) + "\": " + path +
                                 " in body must be of type " + type + ": \"" + type_of(value) +
                                 "\"",
                             path});
      return;
    }
    if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
      bool found = false;
      for (const auto& allowed : *e) found = found || allowed == value;
      if (!found) {
        std::string supported;
        for (const auto& allowed : *e)
          supported += (supported.empty() ? "" : ", ") + render(allowed);
        out_.causes.push_back(
            {"FieldValueNotSupported",
             "Unsupported value: " + render(value) + ": supported values: " + supported, path});
      }
    }
    if (value.is_string()) check_string(value.get<std::string>(), schema, path);
    if (value.is_number()) check_number(value, schema, path);
    if (value.is_array()) walk_array(value, schema, path);
    if (value.is_object()) walk_object(value, schema, path);
    check_rules(value, schema, path);
  }

  // x-kubernetes-validations, after the children were defaulted, as the real server runs them.
  // Rules outside the CEL subset (cel_subset.h) are not judged.
  void check_rules(const json& value, const json& schema, const std::string& path) {
    auto rules = schema.find("x-kubernetes-validations");
    if (rules == schema.end() || !rules->is_array()) return;
    const std::string type = "\"" + schema.value("type", std::string()) + "\"";
    for (const json& r : *rules) {
      if (!r.is_object() || !r.contains("rule") || !r["rule"].is_string()) continue;
      const std::string rule = r["rule"].get<std::string>();
      const std::string message = r.value("message", std::string());
      const CelOutcome outcome = evaluate_cel(rule, value);
      std::string field = path;
      if (r.contains("fieldPath") && r["fieldPath"].is_string())
        field += r["fieldPath"].get<std::string>();
      if (outcome.kind == CelOutcome::Kind::Error) {
        out_.causes.push_back({"FieldValueInvalid",
                               "Invalid value: " + type + ": " + outcome.message +
                                   " evaluating rule: " + (message.empty() ? rule : message),
                               field});
      } else if (outcome.kind == CelOutcome::Kind::False) {
        const std::string text = message.empty() ? "failed rule: " + rule : message;
        const std::string reason = r.value("reason", std::string("FieldValueInvalid"));
        if (reason == "FieldValueForbidden") {
          out_.causes.push_back({reason, "Forbidden: " + text, field});
        } else if (reason == "FieldValueRequired") {
          out_.causes.push_back({reason, "Required value: " + text, field});
        } else if (reason == "FieldValueDuplicate") {
          out_.causes.push_back({reason, "Duplicate value: " + type, field});
        } else {
          out_.causes.push_back(
              {"FieldValueInvalid", "Invalid value: " + type + ": " + text, field});
        }
      }
    }
  }

  void walk_object(json& value, const json& schema, const std::string& path) {
    auto props = schema.find("properties");
    bool has_props = props != schema.end() && props->is_object();
    // Defaults first (the real server defaults before it validates).
    if (has_props) {
      for (const auto& [name, sub] : props->items()) {
        if (!value.contains(name) && sub.is_object() && sub.contains("default"))
          value[name] = sub["default"];
      }
    }
    if (auto req = schema.find("required"); req != schema.end() && req->is_array()) {
      for (const auto& name : *req) {
        if (name.is_string() && !value.contains(name.get<std::string>())) {
          out_.causes.push_back(
              {"FieldValueRequired", "Required value", join_path(path, name.get<std::string>())});
        }
      }
    }
    bool preserve = schema.value("x-kubernetes-preserve-unknown-fields", false);
    auto additional = schema.find("additionalProperties");
    bool has_additional = additional != schema.end() && additional->is_object();
    std::vector<std::string> pruned;
    if (path.empty() && has_props) root_metadata(value, *props);
    for (auto& [name, child] : value.items()) {
      if (path.empty() && (name == "apiVersion" || name == "kind" || name == "metadata")) continue;
      std::string child_path = join_path(path, name);
      if (has_props && props->contains(name)) {
        walk(child, (*props)[name], child_path);
      } else if (has_additional) {
        walk(child, *additional, child_path);
      } else if (!preserve && !(additional != schema.end() && additional->is_boolean() &&
                                additional->get<bool>())) {
        pruned.push_back(name);
      }
    }
    for (const std::string& name : pruned) {
      out_.unknown_fields.push_back(join_path(path, name));
      value.erase(name);
    }
    if (auto mp = schema.find("maxProperties");
        mp != schema.end() && mp->is_number() && value.size() > mp->get<std::size_t>()) {
      out_.causes.push_back({"FieldValueTooMany",
                             "Too many: " + std::to_string(value.size()) + ": must have at most " +
                                 mp->dump() + " items",
                             path});
    }
  }

  // The root's metadata is ObjectMeta, validated by the server itself, except that a CRD may
  // restrict metadata.name and metadata.generateName (the only fields its schema may name there):
  // those restrictions apply; nothing of metadata is pruned.
  void root_metadata(const json& object, const json& props) {
    auto meta_schema = props.find("metadata");
    auto meta = object.find("metadata");
    if (meta_schema == props.end() || meta == object.end() || !meta->is_object()) return;
    auto meta_props = meta_schema->find("properties");
    if (meta_props == meta_schema->end() || !meta_props->is_object()) return;
    for (const char* field : {"name", "generateName"}) {
      auto sub = meta_props->find(field);
      auto v = meta->find(field);
      if (sub != meta_props->end() && sub->is_object() && v != meta->end() && v->is_string()) {
        check_string(v->get<std::string>(), *sub, std::string("metadata.") + field);
      }
    }
  }

  void walk_array(json& value, const json& schema, const std::string& path) {
    if (auto mi = schema.find("maxItems");
        mi != schema.end() && mi->is_number() && value.size() > mi->get<std::size_t>()) {
      out_.causes.push_back({"FieldValueTooMany",
                             "Too many: " + std::to_string(value.size()) + ": must have at most " +
                                 mi->dump() + " items",
                             path});
    }
    if (auto mi = schema.find("minItems");
        mi != schema.end() && mi->is_number() && value.size() < mi->get<std::size_t>()) {
      invalid(path, value, "in body should have at least " + mi->dump() + " items");
    }
    if (auto items = schema.find("items"); items != schema.end() && items->is_object()) {
      for (std::size_t i = 0; i < value.size(); ++i)
        walk(value[i], *items, path + "[" + std::to_string(i) + "]");
    }
  }

  void check_string(const std::string& s, const json& schema, const std::string& path) {
    if (auto ml = schema.find("maxLength");
        ml != schema.end() && ml->is_number() && s.size() > ml->get<std::size_t>()) {
      out_.causes.push_back(
          {"FieldValueTooLong", "Too long: may not be more than " + ml->dump() + " bytes", path});
    }
    if (auto ml = schema.find("minLength");
        ml != schema.end() && ml->is_number() && s.size() < ml->get<std::size_t>()) {
      invalid(path, json(s), "in body should be at least " + ml->dump() + " chars long");
    }
    if (auto p = schema.find("pattern"); p != schema.end() && p->is_string()) {
      try {
        if (!std::regex_search(s, std::regex(p->get<std::string>(), std::regex::ECMAScript))) {
          invalid(path, json(s), "in body should match '" + p->get<std::string>() + "'");
        }
      } catch (const std::regex_error&) {
        // A pattern std::regex cannot compile is not enforced (RE2 and ECMAScript differ).
      }
    }
  }

  void check_number(const json& v, const json& schema, const std::string& path) {
    double d = v.get<double>();
    if (auto m = schema.find("maximum"); m != schema.end() && m->is_number()) {
      bool exclusive = schema.value("exclusiveMaximum", false);
      if (exclusive ? d >= m->get<double>() : d > m->get<double>()) {
        invalid(path, v,
                std::string("in body should be less than ") + (exclusive ? "" : "or equal to ") +
                    m->dump());
      }
    }
    if (auto m = schema.find("minimum"); m != schema.end() && m->is_number()) {
      bool exclusive = schema.value("exclusiveMinimum", false);
      if (exclusive ? d <= m->get<double>() : d < m->get<double>()) {
        invalid(path, v,
                std::string("in body should be greater than ") + (exclusive ? "" : "or equal to ") +
                    m->dump());
      }
    }
  }

 private:
  void invalid(const std::string& path, const json& value, const std::string& what) {
    out_.causes.push_back(
        {"FieldValueInvalid", "Invalid value: " + render(value) + ": " + path + " " + what, path});
  }

  SchemaOutcome& out_;
};

}  // namespace

SchemaOutcome apply_schema(json& object, const json& schema) {
  SchemaOutcome outcome;
  if (!schema.is_object() || !object.is_object()) return outcome;
  Walker(outcome).walk_object(object, schema, "");
  return outcome;
}

}  // namespace keyward::testing::fake
