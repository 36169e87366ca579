#pragma once
// Internal to keyward_apikey: the generic field reader the ApiKey's spec, metadata and status
// parsers share. Each error names the field by its full path ("spec.rotation.intervalSeconds")
// with the API server's wording, and carries reason InvalidSpec (with_reason changes it).

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>

#include "common/core/clock.h"
#include "common/core/result.h"
#include "operator/apikey/conditions.h"
#include "operator/apikey/message_text.h"

namespace keyward::apikey::detail {

using nlohmann::json;

inline std::unexpected<Error> invalid(const std::string& path, const std::string& what) {
  return fail(std::string(reason::kInvalidSpec), path + ": " + what);
}

inline std::string quote(std::string_view text) {
  // Spec values are not secrets, but keep messages valid UTF-8, one line and bounded.
  return "\"" + message_safe(text, 80) + "\"";
}

inline std::string_view type_name(const json& j) {
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) return "a number";
  if (j.is_array()) return "a list";
  if (j.is_object()) return "an object";
  return "null";
}

struct StringRule {
  bool required = false;
  std::size_t min_length = 0;
  std::size_t max_length = 0;           // 0: no limit
  const std::regex* pattern = nullptr;  // one of the k*Re below, each compiled once
  const char* pattern_hint = nullptr;   // what to write instead, shown when the pattern fails
};

// Reads one object's fields, naming each by its full path in error messages.
class FieldReader {
 public:
  FieldReader(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

  [[nodiscard]] std::string path(std::string_view field) const {
    return path_ + "." + std::string(field);
  }

  // The field's value, or null when it is absent or JSON null.
  [[nodiscard]] const json* find(const char* field) const {
    auto it = object_.find(field);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Status string(const char* field, std::string& out, const StringRule& rule) const {
    const json* value = find(field);
    if (value == nullptr) {
      if (rule.required) return invalid(path(field), "is required");
      return ok();
    }
    if (!value->is_string()) {
      return invalid(path(field), "must be a string, got " + std::string(type_name(*value)));
    }
    const auto& text = value->get_ref<const std::string&>();
    const std::size_t length = utf8_length(text);  // maxLength counts characters, as the API does
    if (length < rule.min_length) {
      return invalid(path(field), rule.min_length == 1
                                      ? std::string("must not be empty")
                                      : "must be at least " + std::to_string(rule.min_length) +
                                            " characters long");
    }
    if (rule.max_length != 0 && length > rule.max_length) {
      return invalid(path(field), "is " + std::to_string(length) +
                                      " characters long; the limit is " +
                                      std::to_string(rule.max_length));
    }
    if (rule.pattern != nullptr && !std::regex_match(text, *rule.pattern)) {
      return invalid(path(field), quote(text) + " is not valid; " + rule.pattern_hint);
    }
    out = text;
    return ok();
  }

  template <class Int>
  Status integer(const char* field, Int& out, std::int64_t min, std::int64_t max,
                 bool required = false) const {
    const json* value = find(field);
    if (value == nullptr) {
      if (required) return invalid(path(field), "is required");
      return ok();
    }
    if (!value->is_number_integer()) {
      return invalid(path(field), "must be an integer, got " + std::string(type_name(*value)));
    }
    const auto v = value->get<std::int64_t>();
    if (v < min || v > max) {
      return invalid(path(field), "is " + std::to_string(v) + "; it must be between " +
                                      std::to_string(min) + " and " + std::to_string(max));
    }
    out = static_cast<Int>(v);
    return ok();
  }

  Status boolean(const char* field, bool& out) const {
    const json* value = find(field);
    if (value == nullptr) return ok();
    if (!value->is_boolean()) {
      return invalid(path(field), "must be true or false, got " + std::string(type_name(*value)));
    }
    out = value->get<bool>();
    return ok();
  }

  template <class E>
  Status enumeration(const char* field, E& out,
                     std::initializer_list<std::pair<std::string_view, E>> values,
                     bool required = false) const {
    const json* value = find(field);
    if (value == nullptr) {
      if (required) return invalid(path(field), "is required");
      return ok();
    }
    std::string allowed;
    for (const auto& [name, e] : values) {
      allowed += (allowed.empty() ? "" : ", ") + std::string(name);
      if (value->is_string() && value->get_ref<const std::string&>() == name) {
        out = e;
        return ok();
      }
    }
    return invalid(path(field), (value->is_string() ? quote(value->get_ref<const std::string&>())
                                                    : std::string(type_name(*value))) +
                                    " is not allowed; use one of " + allowed);
  }

  // A nested object, or null when absent. Error when present but not an object.
  Result<const json*> object(const char* field, bool required = false) const {
    const json* value = find(field);
    if (value == nullptr) {
      if (required) return invalid(path(field), "is required");
      return nullptr;
    }
    if (!value->is_object()) {
      return invalid(path(field), "must be an object, got " + std::string(type_name(*value)));
    }
    return value;
  }

 private:
  const json& object_;
  std::string path_;
};

#define KW_TRY(expr)                                    \
  do {                                                  \
    if (auto _s = (expr); !_s) return fail(_s.error()); \
  } while (false)

// Turns InvalidSpec from the shared readers into another reason (for metadata and status).
template <class T>
Result<T> with_reason(Result<T> r, std::string_view new_reason) {
  if (!r && r.error().reason == reason::kInvalidSpec) r.error().reason = std::string(new_reason);
  return r;
}
inline Status with_reason(Status s, std::string_view new_reason) {
  if (!s && s.error().reason == reason::kInvalidSpec) s.error().reason = std::string(new_reason);
  return s;
}

// An optional RFC 3339 time field; a malformed one is error_reason naming the field.
inline Result<std::optional<SystemTime>> read_time(const FieldReader& r, const char* field,
                                                   std::string_view error_reason) {
  const json* value = r.find(field);
  if (value == nullptr) return std::optional<SystemTime>{};
  auto t = value->is_string() ? parse_rfc3339(value->get<std::string>())
                              : Result<SystemTime>(fail("InvalidTime", "not a string"));
  if (!t) return fail(std::string(error_reason), r.path(field) + ": expected an RFC 3339 time");
  return std::optional<SystemTime>(*t);
}

}  // namespace keyward::apikey::detail
