#include "tests/fake_apiserver/crd_validator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <regex>
#include <set>
#include <string_view>
#include <utility>

#include "tests/fake_apiserver/cel_subset.h"

namespace keyward::testing::fake {

using nlohmann::json;

namespace {

// ------------------------------------------------------------------------------------------
// Go-style printing: how apimachinery's field errors print values (%q, %v, %#v).

std::string go_quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;  // printable ASCII, and UTF-8 kept as it is
        }
    }
  }
  return out + "\"";
}

// %v of a float64: the shortest digits, exponent form when the exponent is < -4 or >= 6
// (strconv's 'g' format with the shortest precision).
std::string go_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::size_t e = sci.find('e');
  int exp = std::stoi(sci.substr(e + 1));
  std::string mantissa = sci.substr(0, e);
  bool negative = !mantissa.empty() && mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string out;
  if (exp < -4 || exp >= 6) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exp < 0 ? "e-" : "e+";
    std::string ex = std::to_string(std::abs(exp));
    out += (ex.size() < 2 ? "0" : "") + ex;
  } else if (exp < 0) {
    out = "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  } else {
    auto point = static_cast<std::size_t>(exp) + 1;
    if (digits.size() <= point) {
      out = digits + std::string(point - digits.size(), '0');
    } else {
      out = digits.substr(0, point) + "." + digits.substr(point);
    }
  }
  return negative ? "-" + out : out;
}

// Kubernetes decodes JSON numbers that are whole as int64, the others as float64.
std::optional<std::int64_t> whole_number(const json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<std::int64_t>();
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(u);
    return std::nullopt;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.2e18) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

std::string go_number(const json& v) {
  if (auto i = whole_number(v)) return std::to_string(*i);
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  return go_float(v.get<double>());
}

// %#v of a decoded JSON value: map[string]interface {}{"a":"b"}, []interface {}{"a", 1}.
std::string go_sharp_v(const json& v) {
  if (v.is_null()) return "interface {}(nil)";
  if (v.is_string()) return go_quote(v.get_ref<const std::string&>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return go_number(v);
  std::string out = v.is_array() ? "[]interface {}{" : "map[string]interface {}{";
  bool first = true;
  for (const auto& [k, e] : v.items()) {
    out += first ? "" : ", ";
    first = false;
    if (v.is_object()) out += go_quote(k) + ":";
    out += go_sharp_v(e);
  }
  return out + "}";
}

// How field.Invalid and friends print a value: strings quoted, simple types plain, nil as
// "null", anything else with %#v.
std::string go_value(const json& v) {
  if (v.is_null()) return "\"null\"";
  if (v.is_string()) return go_quote(v.get_ref<const std::string&>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return go_number(v);
  return go_sharp_v(v);
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator,
                   bool quote) {
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : separator) + (quote ? go_quote(p) : p);
  }
  return out;
}

// %#v of a []string.
std::string go_string_list(const std::vector<std::string>& values) {
  return "[]string{" + joined(values, ", ", true) + "}";
}

// ------------------------------------------------------------------------------------------
// field.Path and the field.Error constructors.

std::string child(const std::string& path, std::string_view name) {
  return path + "." + std::string(name);
}
std::string at_key(const std::string& path, std::string_view key) {
  return path + "[" + std::string(key) + "]";
}
std::string at_index(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

class Errors {
 public:
  void required(const std::string& path, const std::string& detail = "") {
    add("FieldValueRequired", with_detail("Required value", detail), path);
  }
  void forbidden(const std::string& path, const std::string& detail) {
    add("FieldValueForbidden", with_detail("Forbidden", detail), path);
  }
  // `printed`: the value as Go prints it (go_value, go_quote, ...).
  void invalid(const std::string& path, const std::string& printed, const std::string& detail) {
    add("FieldValueInvalid", with_detail("Invalid value: " + printed, detail), path);
  }
  void type_invalid(const std::string& path, const std::string& printed,
                    const std::string& detail) {
    add("FieldValueTypeInvalid", with_detail("Invalid value: " + printed, detail), path);
  }
  void not_supported(const std::string& path, const std::string& printed,
                     const std::vector<std::string>& supported) {
    std::string body = "Unsupported value: " + printed;
    if (!supported.empty()) body += ": supported values: " + joined(supported, ", ", true);
    add("FieldValueNotSupported", body, path);
  }
  void duplicate(const std::string& path, const std::string& printed) {
    add("FieldValueDuplicate", "Duplicate value: " + printed, path);
  }
  void too_many(const std::string& path, std::int64_t actual, std::int64_t max) {
    add("FieldValueTooMany",
        "Too many: " + std::to_string(actual) + ": must have at most " + std::to_string(max) +
            " items",
        path);
  }
  void too_long(const std::string& path, std::int64_t max) {
    add("FieldValueTooLong", "Too long: must have at most " + std::to_string(max) + " bytes", path);
  }

  void append(const Errors& other) {
    causes_.insert(causes_.end(), other.causes_.begin(), other.causes_.end());
  }
  // ValidateStructural sorts its errors by their text.
  void sort_by_text() {
    std::stable_sort(causes_.begin(), causes_.end(), [](const auto& a, const auto& b) {
      return a.field + ": " + a.message < b.field + ": " + b.message;
    });
  }
  [[nodiscard]] std::size_t size() const { return causes_.size(); }
  [[nodiscard]] bool empty() const { return causes_.empty(); }
  std::vector<SchemaCause> take() { return std::move(causes_); }

 private:
  static std::string with_detail(const std::string& head, const std::string& detail) {
    return detail.empty() ? head : head + ": " + detail;
  }
  void add(const char* reason, std::string message, std::string field) {
    causes_.push_back({reason, std::move(message), std::move(field)});
  }

  std::vector<SchemaCause> causes_;
};

// ------------------------------------------------------------------------------------------
// Reading schema nodes. A JSON null counts as absent (Kubernetes drops `default: null`).

const json* member(const json& node, const char* name) {
  if (!node.is_object() || !node.contains(name)) return nullptr;
  const json& value = node.at(name);
  return value.is_null() ? nullptr : &value;
}

bool is_true(const json& node, const char* name) {
  const json* v = member(node, name);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

std::string text_of(const json& node, const char* name) {
  const json* v = member(node, name);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

const json* object_member(const json& node, const char* name) {
  const json* v = member(node, name);
  return v != nullptr && v->is_object() ? v : nullptr;
}

const json* array_member(const json& node, const char* name) {
  const json* v = member(node, name);
  return v != nullptr && v->is_array() ? v : nullptr;
}

bool non_empty(const json* v) { return v != nullptr && !v->empty(); }

// The properties a structural schema keeps: an empty map counts as none.
const json* properties_of(const json& s) {
  const json* p = object_member(s, "properties");
  return non_empty(p) ? p : nullptr;
}

const json* property(const json& s, const std::string& name) {
  const json* props = properties_of(s);
  if (props == nullptr) return nullptr;
  auto it = props->find(name);
  return it != props->end() && it->is_object() ? &*it : nullptr;
}

const json* items_schema(const json& s) { return object_member(s, "items"); }
const json* additional_schema(const json& s) { return object_member(s, "additionalProperties"); }

std::vector<std::string> strings_of(const json& node, const char* name) {
  std::vector<std::string> out;
  if (const json* a = array_member(node, name)) {
    for (const auto& e : *a) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  }
  return out;
}

std::string trim(std::string_view s) {
  const char* ws = " \t\n\r\f\v";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != s.npos; }

// The value validations that nest schemas: allOf/anyOf/oneOf (lists) and not.
constexpr const char* kJunctorLists[] = {"allOf", "anyOf", "oneOf"};

// ------------------------------------------------------------------------------------------
// Patterns. The real server compiles them with Go's regexp (RE2); here RE2 syntax is translated
// to ECMAScript for std::regex, and what RE2 refuses is refused with Go's message.

struct Re2Translation {
  std::string ecmascript;
  std::string error;  // Go's error after "error parsing regexp: "; empty when it compiles
};

bool is_octal(char c) { return c >= '0' && c <= '7'; }

// Go accepts a backslash before punctuation and before these letters only.
bool go_escape_letter(char c) { return std::strchr("afnrtvdswDSWbBAzpPQECx", c) != nullptr; }

std::string hex_escape(unsigned value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out += kHex[(value >> 4) & 0xf];
  out += kHex[value & 0xf];
  return out;
}

class Re2Translator {
 public:
  explicit Re2Translator(const std::string& pattern) : p_(pattern) {}

  Re2Translation run() {
    while (i_ < p_.size() && t_.error.empty()) step();
    if (!t_.error.empty()) return t_;
    if (in_class_) fail("missing closing ]: `" + p_.substr(class_start_) + "`");
    if (depth_ > 0) fail("missing closing ): `" + p_ + "`");
    return t_;
  }

 private:
  void step() {
    char c = p_[i_];
    if (c == '\\') return atom_done(), escape();
    if (in_class_) return class_char(c);
    if (c == '[') return atom_done(), open_class();
    if (c == '*' || c == '+' || c == '?') return repeat(std::string(1, c), 1);
    if (c == '(' && peek(1) == '?') return group_flags();
    if (c == '(') return open_group(1, "(");
    if (c == ')') return close_group();
    if (c == '|') {
      can_repeat_ = false;
      return literal("|");
    }
    if (c == '{') return brace();
    atom_done();
    if (c == '}') return literal("\\}");
    t_.ecmascript += c;
    ++i_;
  }

  // Something that a repetition operator may follow was just read.
  void atom_done() {
    can_repeat_ = true;
    after_repeat_ = false;
  }

  void open_group(std::size_t consumed, const std::string& text) {
    ++depth_;
    can_repeat_ = false;
    after_repeat_ = false;
    replace(consumed, text);
  }

  void close_group() {
    if (depth_ == 0) return fail("unexpected ): `" + p_ + "`");
    --depth_;
    atom_done();
    literal(")");
  }

  // *, +, ?, {n,m}; a '?' right after one makes it non-greedy.
  void repeat(const std::string& op, std::size_t consumed) {
    if (after_repeat_ && op == "?" && !after_lazy_) {
      after_lazy_ = true;
      return replace(consumed, op);
    }
    if (after_repeat_) return fail("invalid nested repetition operator: `" + last_op_ + op + "`");
    if (!can_repeat_) return fail("missing argument to repetition operator: `" + op + "`");
    after_repeat_ = true;
    after_lazy_ = false;
    last_op_ = op;
    replace(consumed, op);
  }

  [[nodiscard]] char peek(std::size_t ahead) const {
    return i_ + ahead < p_.size() ? p_[i_ + ahead] : '\0';
  }

  void literal(const std::string& text) {
    t_.ecmascript += text;
    ++i_;
  }

  void fail(const std::string& error) { t_.error = error; }

  void escape() {
    char n = peek(1);
    if (n == '\0') return fail("trailing backslash at end of expression: ``");
    if (n == '8' || n == '9' || (n >= '1' && n <= '7' && !is_octal(peek(2)))) {
      return fail("invalid escape sequence: `\\" + std::string(1, n) + "`");
    }
    if (is_octal(n)) return octal();
    if (std::isalnum(static_cast<unsigned char>(n)) && !go_escape_letter(n)) {
      return fail("invalid escape sequence: `\\" + std::string(1, n) + "`");
    }
    if (n == 'Q') return quoted_literal();
    if (n == 'p' || n == 'P') return unicode_class();
    if (n == 'x' && peek(2) == '{') return braced_hex();
    if (n == 'C') return replace(2, in_class_ ? "\\s\\S" : "[\\s\\S]");
    if (!in_class_ && n == 'A') return replace(2, "^");
    if (!in_class_ && n == 'z') return replace(2, "$");
    t_.ecmascript += p_.substr(i_, 2);
    i_ += 2;
  }

  void replace(std::size_t consumed, const std::string& text) {
    t_.ecmascript += text;
    i_ += consumed;
  }

  void octal() {
    std::size_t j = i_ + 1;
    unsigned value = 0;
    while (j < p_.size() && j < i_ + 4 && is_octal(p_[j])) value = value * 8 + (p_[j++] - '0');
    t_.ecmascript += hex_escape(value);
    i_ = j;
  }

  void quoted_literal() {
    std::size_t start = i_ + 2;
    std::size_t end = p_.find("\\E", start);
    std::string text = p_.substr(start, end == std::string::npos ? std::string::npos : end - start);
    for (char l : text) {
      if (std::strchr("\\^$.|?*+()[]{}-/", l) != nullptr) t_.ecmascript += '\\';
      t_.ecmascript += l;
    }
    i_ = end == std::string::npos ? p_.size() : end + 2;
  }

  // \pL, \p{Greek}: approximated by \w (std::regex has no Unicode classes).
  void unicode_class() {
    std::size_t j = i_ + 2;
    if (peek(2) == '{') {
      std::size_t close = p_.find('}', j);
      if (close == std::string::npos) {
        return fail("invalid character class range: `" + p_.substr(i_) + "`");
      }
      j = close + 1;
    } else {
      j += 1;
    }
    t_.ecmascript += p_[i_ + 1] == 'P' && !in_class_ ? "\\W" : "\\w";
    i_ = j;
  }

  void braced_hex() {
    std::size_t close = p_.find('}', i_ + 3);
    if (close == std::string::npos) return fail("invalid escape sequence: `" + p_.substr(i_) + "`");
    unsigned long value = std::strtoul(p_.substr(i_ + 3, close - i_ - 3).c_str(), nullptr, 16);
    t_.ecmascript += value <= 0xff ? hex_escape(static_cast<unsigned>(value)) : "\\w";
    i_ = close + 1;
  }

  void open_class() {
    in_class_ = true;
    class_start_ = i_;
    t_.ecmascript += '[';
    ++i_;
    if (peek(0) == '^') literal("^");
    if (peek(0) == ']') literal("\\]");  // a leading ']' is literal in RE2
  }

  void class_char(char c) {
    if (c == '[' && peek(1) == ':') {
      std::size_t close = p_.find(":]", i_ + 2);
      if (close != std::string::npos) {
        t_.ecmascript += p_.substr(i_, close + 2 - i_);
        i_ = close + 2;
        return;
      }
    }
    if (c == ']') in_class_ = false;
    t_.ecmascript += c;
    ++i_;
  }

  // (?=, (?!, (?<=, (?<!, named groups and flag groups.
  void group_flags() {
    std::string rest = p_.substr(i_);
    if (rest.starts_with("(?=") || rest.starts_with("(?!")) {
      return fail("invalid or unsupported Perl syntax: `" + rest.substr(0, 3) + "`");
    }
    if (rest.starts_with("(?<=") || rest.starts_with("(?<!")) {
      return fail("invalid or unsupported Perl syntax: `(?<`");
    }
    if (rest.starts_with("(?P<") || rest.starts_with("(?<")) return named_group(rest);
    std::size_t j = i_ + 2;
    while (j < p_.size() && std::strchr("imsU-", p_[j]) != nullptr) ++j;
    if (j < p_.size() && p_[j] == ':') return open_group(j + 1 - i_, "(?:");
    if (j < p_.size() && p_[j] == ')' && j > i_ + 2) {
      i_ = j + 1;  // (?i) and friends: flags std::regex cannot switch mid-pattern are dropped
      can_repeat_ = false;
      return;
    }
    fail("invalid or unsupported Perl syntax: `" + p_.substr(i_, j + 1 - i_) + "`");
  }

  void named_group(const std::string& rest) {
    std::size_t start = rest.starts_with("(?P<") ? 4 : 3;
    std::size_t close = rest.find('>');
    std::string name = close == std::string::npos ? "" : rest.substr(start, close - start);
    bool word = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
    });
    if (!word) {
      return fail("invalid named capture: `" +
                  rest.substr(0, close == std::string::npos ? rest.size() : close + 1) + "`");
    }
    open_group(close + 1, "(");
  }

  // {n}, {n,}, {n,m}: a repeat (at most 1000); anything else is a literal brace in RE2.
  void brace() {
    static const std::regex kRepeat(R"(^\{(\d+)(,(\d*))?\})");
    std::smatch m;
    std::string rest = p_.substr(i_);
    if (!std::regex_search(rest, m, kRepeat)) return atom_done(), literal("\\{");
    long low = std::stol(m[1].str().substr(0, 6));
    long high = m[3].matched && !m[3].str().empty() ? std::stol(m[3].str().substr(0, 6)) : low;
    if (low > 1000 || high > 1000 || high < low) {
      return fail("invalid repeat count: `" + m[0].str() + "`");
    }
    repeat(m[0].str(), m[0].length());
  }

  const std::string& p_;
  std::size_t i_ = 0;
  bool in_class_ = false;
  std::size_t class_start_ = 0;
  std::size_t depth_ = 0;      // open groups
  bool can_repeat_ = false;    // the last thing read can take a repetition operator
  bool after_repeat_ = false;  // the last thing read was a repetition operator
  bool after_lazy_ = false;    // ... made non-greedy with '?'
  std::string last_op_;
  Re2Translation t_;
};

// The repetition operator Go would name in "missing argument to repetition operator".
std::string repetition_error(const std::string& p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
      continue;
    }
    if (std::strchr("*+?", p[i]) == nullptr) continue;
    char before = i == 0 ? '(' : p[i - 1];
    if (before == '(' || before == '|') {
      return "missing argument to repetition operator: `" + std::string(1, p[i]) + "`";
    }
    if (i + 1 < p.size() && std::strchr("*+", p[i + 1]) != nullptr) {
      return "invalid nested repetition operator: `" + p.substr(i, 2) + "`";
    }
  }
  return "missing argument to repetition operator: `" + p + "`";
}

std::string regex_error_text(std::regex_constants::error_type code, const std::string& p) {
  using namespace std::regex_constants;
  if (code == error_badrepeat) return repetition_error(p);
  if (code == error_paren) {
    auto open = std::count(p.begin(), p.end(), '(');
    auto close = std::count(p.begin(), p.end(), ')');
    return (open > close ? "missing closing ): `" : "unexpected ): `") + p + "`";
  }
  if (code == error_brack) return "missing closing ]: `" + p.substr(p.rfind('[')) + "`";
  if (code == error_range) return "invalid character class range: `" + p + "`";
  if (code == error_escape) return "invalid escape sequence: `" + p + "`";
  if (code == error_brace || code == error_badbrace) return "invalid repeat count: `" + p + "`";
  return "invalid regular expression: `" + p + "`";
}

struct CompiledPattern {
  std::optional<std::regex> regex;
  std::string error;  // "error parsing regexp: ..." when it does not compile
};

CompiledPattern compile_pattern(const std::string& pattern) {
  Re2Translation t = Re2Translator(pattern).run();
  if (!t.error.empty()) return {std::nullopt, "error parsing regexp: " + t.error};
  try {
    return {std::regex(t.ecmascript, std::regex::ECMAScript), ""};
  } catch (const std::regex_error& e) {
    return {std::nullopt, "error parsing regexp: " + regex_error_text(e.code(), pattern)};
  }
}

// ------------------------------------------------------------------------------------------
// NewStructural: the conversion to a structural schema refuses a few fields outright. Its error
// is reported only when nothing else is (it overlaps the per-node checks), which in practice
// leaves $ref and $schema.

std::optional<std::string> unsupported_field(const json& s) {
  if (!text_of(s, "id").empty()) return "OpenAPIV3Schema 'id' is not supported";
  if (!text_of(s, "$schema").empty()) return "OpenAPIV3Schema 'schema' is not supported";
  if (!text_of(s, "$ref").empty()) return "OpenAPIV3Schema '$ref' is not supported";
  if (non_empty(object_member(s, "patternProperties"))) {
    return "OpenAPIV3Schema 'patternProperties' is not supported";
  }
  if (non_empty(object_member(s, "dependencies"))) {
    return "OpenAPIV3Schema 'dependencies' is not supported";
  }
  if (member(s, "additionalItems") != nullptr) {
    return "OpenAPIV3Schema 'additionalItems' is not supported";
  }
  if (non_empty(object_member(s, "definitions"))) {
    return "OpenAPIV3Schema 'definitions' is not supported";
  }
  return std::nullopt;
}

std::optional<std::string> structural_conversion_error(const json& s) {
  if (!s.is_object()) return std::nullopt;
  if (auto e = unsupported_field(s)) return e;
  std::vector<const json*> nested;
  if (const json* n = object_member(s, "not")) nested.push_back(n);
  for (const char* list : kJunctorLists) {
    if (const json* a = array_member(s, list)) {
      for (const auto& e : *a) nested.push_back(&e);
    }
  }
  if (const json* a = additional_schema(s)) nested.push_back(a);
  for (const json* n : nested) {
    if (auto e = structural_conversion_error(*n)) return e;
  }
  const json* preserve = member(s, "x-kubernetes-preserve-unknown-fields");
  if (preserve != nullptr && preserve->is_boolean() && !preserve->get<bool>()) {
    return "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined";
  }
  if (array_member(s, "items") != nullptr) {
    return "OpenAPIV3Schema 'items' must be a schema, but is an array";
  }
  if (const json* items = items_schema(s)) {
    if (auto e = structural_conversion_error(*items)) return e;
  }
  if (const json* props = object_member(s, "properties")) {
    for (const auto& [name, sub] : props->items()) {
      if (auto e = structural_conversion_error(sub)) return e;
    }
  }
  return std::nullopt;
}

// Whether a schema field is at its zero value once converted to a structural schema (what Go's
// reflect.DeepEqual compares). `nested`: under a junctor, where even an empty `properties` map
// is kept.
bool structurally_zero(const std::string& name, const json& v, bool nested) {
  if (v.is_null() || name == "example") return true;  // example is not kept
  if (name == "additionalProperties" || name == "x-kubernetes-list-type" ||
      name == "x-kubernetes-map-type") {
    return false;  // pointers: set is set
  }
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_string()) return v.get_ref<const std::string&>().empty();
  if (name == "enum" || name == "allOf" || name == "anyOf" || name == "oneOf") return v.empty();
  if (name == "properties") return !nested && v.empty();
  return false;
}

// An anyOf entry that is exactly {type: <type>}.
bool is_bare_type(const json& entry, const char* type) {
  if (!entry.is_object() || text_of(entry, "type") != type) return false;
  return std::all_of(entry.items().begin(), entry.items().end(), [](const auto& item) {
    return item.key() == "type" || structurally_zero(item.key(), item.value(), true);
  });
}

// anyOf: [{type: integer}, {type: string}], the int-or-string pattern.
bool is_int_or_string_pair(const json* any_of) {
  return any_of != nullptr && any_of->is_array() && any_of->size() == 2 &&
         is_bare_type((*any_of)[0], "integer") && is_bare_type((*any_of)[1], "string");
}

bool int_or_string_any_of(const json& s) { return is_int_or_string_pair(array_member(s, "anyOf")); }

bool int_or_string_all_of(const json& s) {
  const json* all_of = array_member(s, "allOf");
  return all_of != nullptr && !all_of->empty() && (*all_of)[0].is_object() &&
         is_int_or_string_pair(array_member((*all_of)[0], "anyOf"));
}

enum class Level { Root, Item, Field };

// ValidateStructural: the invariants of a structural schema, then completeness.
class StructuralChecker {
 public:
  explicit StructuralChecker(Errors& errs) : errs_(errs) {}

  void run(const json& root, const std::string& path) {
    invariants(root, Level::Root, path);
    completeness(root, &root, path, path);
    errs_.sort_by_text();
  }

 private:
  void invariants(const json& s, Level lvl, const std::string& p) {
    if (text_of(s, "type") == "array" && items_schema(s) == nullptr) {
      errs_.required(child(p, "items"), "must be specified");
    }
    if (const json* items = items_schema(s)) invariants(*items, Level::Item, child(p, "items"));
    if (const json* props = properties_of(s)) {
      for (const auto& [name, sub] : props->items()) {
        invariants(sub, Level::Field, at_key(child(p, "properties"), name));
      }
    }
    if (member(s, "additionalProperties") != nullptr) {
      if (lvl == Level::Root) {
        errs_.forbidden(child(p, "additionalProperties"), "must not be used at the root");
      }
      if (const json* a = additional_schema(s)) {
        invariants(*a, Level::Field, child(p, "additionalProperties"));
      }
    }
    extensions(s, p);
    value_validation(s, int_or_string_any_of(s), int_or_string_all_of(s), p);
    type_rules(s, lvl, p);
    resource_meta(s, lvl, p);
  }

  void extensions(const json& s, const std::string& p) {
    if (!is_true(s, "x-kubernetes-int-or-string")) return;
    if (is_true(s, "x-kubernetes-preserve-unknown-fields")) {
      errs_.invalid(child(p, "x-kubernetes-preserve-unknown-fields"), "true",
                    "must be false if x-kubernetes-int-or-string is true");
    }
    if (is_true(s, "x-kubernetes-embedded-resource")) {
      errs_.invalid(child(p, "x-kubernetes-embedded-resource"), "true",
                    "must be false if x-kubernetes-int-or-string is true");
    }
  }

  void type_rules(const json& s, Level lvl, const std::string& p) {
    std::string type = text_of(s, "type");
    bool embedded = is_true(s, "x-kubernetes-embedded-resource");
    const std::string type_path = child(p, "type");
    if (embedded && type != "object") {
      const char* why = "must be object if x-kubernetes-embedded-resource is true";
      type.empty() ? errs_.required(type_path, why) : errs_.invalid(type_path, go_quote(type), why);
    } else if (type.empty() && !is_true(s, "x-kubernetes-int-or-string") &&
               !is_true(s, "x-kubernetes-preserve-unknown-fields")) {
      errs_.required(type_path, lvl == Level::Root ? "must not be empty at the root"
                                : lvl == Level::Item
                                    ? "must not be empty for specified array items"
                                    : "must not be empty for specified object fields");
    }
    if (embedded && member(s, "additionalProperties") != nullptr) {
      errs_.forbidden(child(p, "additionalProperties"),
                      "must not be used if x-kubernetes-embedded-resource is set");
    }
    if (lvl == Level::Root && !type.empty() && type != "object") {
      errs_.invalid(type_path, go_quote(type), "must be object at the root");
    }
    if (embedded && !is_true(s, "x-kubernetes-preserve-unknown-fields") &&
        properties_of(s) == nullptr) {
      errs_.required(child(p, "properties"),
                     "must not be empty if x-kubernetes-embedded-resource is true without "
                     "x-kubernetes-preserve-unknown-fields");
    }
  }

  // kind, apiVersion and metadata of the root and of embedded resources.
  void resource_meta(const json& s, Level lvl, const std::string& p) {
    bool check = lvl == Level::Root || is_true(s, "x-kubernetes-embedded-resource");
    const std::string props = child(p, "properties");
    for (const char* name : {"kind", "apiVersion"}) {
      const json* sub = property(s, name);
      if (check && sub != nullptr && text_of(*sub, "type") != "string") {
        errs_.invalid(child(at_key(props, name), "type"), go_quote(text_of(*sub, "type")),
                      "must be string");
      }
    }
    if (const json* metadata = property(s, "metadata")) {
      const std::string mp = at_key(props, "metadata");
      if (check && text_of(*metadata, "type") != "object") {
        errs_.invalid(child(mp, "type"), go_quote(text_of(*metadata, "type")), "must be object");
      }
      if (lvl == Level::Root && !only_names_in_metadata(*metadata)) {
        errs_.forbidden(mp,
                        "must not specify anything other than name and generateName, but "
                        "metadata is implicitly specified");
      }
    }
  }

  // The root metadata may only set type, default and properties name / generateName.
  static bool only_names_in_metadata(const json& metadata) {
    for (const auto& [name, v] : metadata.items()) {
      if (name == "type" || name == "default") continue;
      if (name == "properties" && v.is_object() && names_only(v)) continue;
      if (!structurally_zero(name, v, false)) return false;
    }
    return true;
  }

  static bool names_only(const json& props) {
    return std::all_of(props.items().begin(), props.items().end(), [](const auto& item) {
      return item.key() == "name" || item.key() == "generateName";
    });
  }

  // validateValueValidation: junctors and the pattern of one node.
  void value_validation(const json& v, bool skip_any_of, bool skip_first_all_of_any_of,
                        const std::string& p) {
    if (const json* any_of = array_member(v, "anyOf"); any_of != nullptr && !skip_any_of) {
      for (std::size_t i = 0; i < any_of->size(); ++i) {
        nested((*any_of)[i], false, false, at_index(child(p, "anyOf"), i));
      }
    }
    if (const json* all_of = array_member(v, "allOf")) {
      for (std::size_t i = 0; i < all_of->size(); ++i) {
        nested((*all_of)[i], skip_first_all_of_any_of && i == 0, false,
               at_index(child(p, "allOf"), i));
      }
    }
    if (const json* one_of = array_member(v, "oneOf")) {
      for (std::size_t i = 0; i < one_of->size(); ++i) {
        nested((*one_of)[i], false, false, at_index(child(p, "oneOf"), i));
      }
    }
    if (const json* n = object_member(v, "not")) nested(*n, false, false, child(p, "not"));
    pattern(v, p);
  }

  void pattern(const json& v, const std::string& p) {
    std::string pattern = text_of(v, "pattern");
    if (pattern.empty()) return;
    CompiledPattern compiled = compile_pattern(pattern);
    if (!compiled.error.empty()) {
      errs_.invalid(child(p, "pattern"), go_quote(pattern),
                    "must be a valid regular expression, but isn't: " + compiled.error);
    }
  }

  // validateNestedValueValidation: a schema under allOf/anyOf/oneOf/not may only validate.
  void nested(const json& v, bool skip_any_of, bool skip_all_of_any_of, const std::string& q) {
    if (!v.is_object()) return;
    value_validation(v, skip_any_of, skip_all_of_any_of, q);
    if (const json* items = items_schema(v)) nested(*items, false, false, child(q, "items"));
    if (const json* props = object_member(v, "properties")) {
      for (const auto& [name, sub] : props->items()) {
        nested(sub, false, false, at_key(child(q, "properties"), name));
      }
    }
    forbidden_generics(v, q);
    forbidden_extensions(v, q);
    if (const json* props = object_member(v, "properties");
        props != nullptr && props->contains("metadata")) {
      errs_.forbidden(at_key(child(q, "properties"), "metadata"),
                      "must not be specified in a nested context");
    }
  }

  void forbidden_generics(const json& v, const std::string& q) {
    if (!text_of(v, "type").empty())
      errs_.forbidden(child(q, "type"), "must be empty to be structural");
    if (member(v, "additionalProperties") != nullptr) {
      errs_.forbidden(child(q, "additionalProperties"), "must be undefined to be structural");
    }
    if (member(v, "default") != nullptr) {
      errs_.forbidden(child(q, "default"), "must be undefined to be structural");
    }
    for (const char* name : {"title", "description"}) {
      if (!text_of(v, name).empty())
        errs_.forbidden(child(q, name), "must be empty to be structural");
    }
    if (is_true(v, "nullable"))
      errs_.forbidden(child(q, "nullable"), "must be false to be structural");
    if (member(v, "externalDocs") != nullptr) {
      errs_.forbidden(child(q, "externalDocs"), "must be undefined to be structural");
    }
  }

  void forbidden_extensions(const json& v, const std::string& q) {
    for (const char* name : {"x-kubernetes-preserve-unknown-fields",
                             "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string"}) {
      if (is_true(v, name)) errs_.forbidden(child(q, name), "must be false to be structural");
    }
    if (non_empty(array_member(v, "x-kubernetes-list-map-keys"))) {
      errs_.forbidden(child(q, "x-kubernetes-list-map-keys"), "must be empty to be structural");
    }
    for (const char* name : {"x-kubernetes-list-type", "x-kubernetes-map-type"}) {
      if (member(v, name) != nullptr) {
        errs_.forbidden(child(q, name), "must be undefined to be structural");
      }
    }
    if (non_empty(array_member(v, "x-kubernetes-validations"))) {
      errs_.forbidden(child(q, "x-kubernetes-validations"), "must be empty to be structural");
    }
  }

  // validateStructuralCompleteness (root junctors only, as upstream): every property or items
  // a junctor names must exist in the structural schema at the same place.
  void completeness(const json& v, const json* s, const std::string& s_path,
                    const std::string& v_path) {
    if (const json* n = object_member(v, "not")) {
      nested_completeness(*n, s, s_path, child(v_path, "not"));
    }
    for (const char* list : kJunctorLists) {
      if (const json* a = array_member(v, list)) {
        for (std::size_t i = 0; i < a->size(); ++i) {
          nested_completeness((*a)[i], s, s_path, at_index(child(v_path, list), i));
        }
      }
    }
  }

  void nested_completeness(const json& v, const json* s, const std::string& s_path,
                           const std::string& v_path) {
    if (!v.is_object()) return;
    if (s == nullptr) return errs_.required(s_path, "because it is defined in " + v_path);
    completeness(v, s, s_path, v_path);
    if (const json* items = items_schema(v)) {
      nested_completeness(*items, items_schema(*s), child(s_path, "items"), child(v_path, "items"));
    }
    if (const json* props = object_member(v, "properties")) {
      for (const auto& [name, sub] : props->items()) {
        const std::string sp = at_key(child(s_path, "properties"), name);
        const std::string vp = at_key(child(v_path, "properties"), name);
        const json* structural = property(*s, name);
        if (structural == nullptr) {
          errs_.required(sp, "because it is defined in " + vp);
        } else {
          nested_completeness(sub, structural, sp, vp);
        }
      }
    }
  }

  Errors& errs_;
};

// ------------------------------------------------------------------------------------------
// ValidateCustomResourceDefinitionOpenAPISchema: the checks every schema node gets, including
// those under junctors, definitions and dependencies.

// Whether `rule` uses the identifier oldSelf (outside string literals).
bool uses_old_self(const std::string& rule) {
  char quote = 0;
  for (std::size_t i = 0; i < rule.size(); ++i) {
    char c = rule[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      continue;
    }
    bool word_before = i > 0 && (std::isalnum(static_cast<unsigned char>(rule[i - 1])) != 0 ||
                                 rule[i - 1] == '_' || rule[i - 1] == '.');
    if (!word_before && rule.compare(i, 7, "oldSelf") == 0) {
      std::size_t end = i + 7;
      if (end == rule.size() ||
          (std::isalnum(static_cast<unsigned char>(rule[end])) == 0 && rule[end] != '_')) {
        return true;
      }
    }
  }
  return false;
}

// cel.ValidFieldPath: .name and ['name'] steps through declared properties or map keys.
bool field_path_resolves(const json& schema, const std::string& path) {
  const json* node = &schema;
  std::size_t i = 0;
  if (path.empty()) return false;
  while (i < path.size()) {
    std::string name;
    if (path[i] == '.') {
      std::size_t end = path.find_first_of(".[", i + 1);
      name = path.substr(i + 1, end == std::string::npos ? std::string::npos : end - i - 1);
      i = end == std::string::npos ? path.size() : end;
    } else if (path.compare(i, 2, "['") == 0) {
      std::size_t end = path.find("']", i + 2);
      if (end == std::string::npos) return false;
      name = path.substr(i + 2, end - i - 2);
      i = end + 2;
    } else {
      return false;
    }
    if (name.empty() || node == nullptr) return false;
    if (const json* map_values = additional_schema(*node)) {
      node = map_values;
    } else if (const json* prop = property(*node, name)) {
      node = prop;
    } else {
      return false;
    }
  }
  return true;
}

// What the validator carries down the tree (specStandardValidatorV3 plus the CEL context).
struct NodeContext {
  bool allow_defaults = true;
  std::string disallow_defaults_reason;
  bool inside_resource_meta = false;
  std::string uncorrelatable;  // the first ancestor below which oldSelf cannot be correlated
  bool is_root = false;
  bool cel = false;  // CEL checks run: the schema is structural, its defaults valid, no junctor
};

class OpenApiChecker {
 public:
  OpenApiChecker(Errors& schema_errs, Errors& cel_errs) : errs_(schema_errs), cel_errs_(cel_errs) {}

  void walk(const json& s, const std::string& p, const NodeContext& ctx) {
    if (!s.is_object()) return;
    std::size_t errors_before = errs_.size();
    node_checks(s, p, ctx);
    if (is_true(s, "uniqueItems")) {
      errs_.forbidden(child(p, "uniqueItems"),
                      "uniqueItems cannot be set to true since the runtime complexity becomes "
                      "quadratic");
    }
    walk_additional_properties(s, p, ctx);
    walk_properties(s, p, ctx);
    walk_nested(s, p, ctx);
    walk_items(s, p, ctx);
    extension_checks(s, p);
    list_type_checks(s, p);
    map_list_checks(s, p);
    map_list_keys_required(s, p);
    validation_rules(s, p, ctx, errors_before);
  }

 private:
  // specStandardValidatorV3.validate
  void node_checks(const json& s, const std::string& p, const NodeContext& ctx) {
    static const std::set<std::string> kTypes = {"array",  "boolean", "integer",
                                                 "number", "object",  "string"};
    std::string type = text_of(s, "type");
    if (!type.empty() && !kTypes.contains(type)) {
      errs_.not_supported(child(p, "type"), go_quote(type),
                          {"array", "boolean", "integer", "number", "object", "string"});
    }
    if (member(s, "default") != nullptr && !ctx.allow_defaults) {
      std::string detail = "must not be set";
      if (!ctx.disallow_defaults_reason.empty()) detail += " " + ctx.disallow_defaults_reason;
      errs_.forbidden(child(p, "default"), detail);
    }
    if (!text_of(s, "id").empty()) errs_.forbidden(child(p, "id"), "id is not supported");
    if (member(s, "additionalItems") != nullptr) {
      errs_.forbidden(child(p, "additionalItems"), "additionalItems is not supported");
    }
    if (non_empty(object_member(s, "patternProperties"))) {
      errs_.forbidden(child(p, "patternProperties"), "patternProperties is not supported");
    }
    if (non_empty(object_member(s, "definitions"))) {
      errs_.forbidden(child(p, "definitions"), "definitions is not supported");
    }
    if (member(s, "dependencies") != nullptr) {
      errs_.forbidden(child(p, "dependencies"), "dependencies is not supported");
    }
    if (type == "null") {
      errs_.forbidden(child(p, "type"),
                      "type cannot be set to null, use nullable as an alternative");
    }
    if (non_empty(array_member(s, "items"))) {
      errs_.forbidden(child(p, "items"), "items must be a schema object and not an array");
    }
    if (ctx.inside_resource_meta && is_true(s, "x-kubernetes-embedded-resource")) {
      errs_.forbidden(child(p, "x-kubernetes-embedded-resource"),
                      "must not be used inside of resource meta");
    }
  }

  void walk_additional_properties(const json& s, const std::string& p, const NodeContext& ctx) {
    const json* additional = member(s, "additionalProperties");
    if (additional == nullptr) return;
    bool allows = additional->is_object() || (additional->is_boolean() && additional->get<bool>());
    if (properties_of(s) != nullptr && (!allows || additional->is_object())) {
      errs_.forbidden(child(p, "additionalProperties"),
                      "additionalProperties and properties are mutual exclusive");
    }
    if (!additional->is_object()) return;
    NodeContext sub = ctx;
    sub.is_root = false;
    if (ctx.inside_resource_meta) {
      // pruning without an actual value is ambiguous there
      sub.allow_defaults = false;
      sub.disallow_defaults_reason = "inside additionalProperties applying to object metadata";
    }
    walk(*additional, child(p, "additionalProperties"), sub);
  }

  void walk_properties(const json& s, const std::string& p, const NodeContext& ctx) {
    const json* props = properties_of(s);
    if (props == nullptr) return;
    std::string map_type = text_of(s, "x-kubernetes-map-type");
    bool correlatable = member(s, "x-kubernetes-map-type") == nullptr || map_type == "granular";
    for (const auto& [name, sub_schema] : props->items()) {
      NodeContext sub = ctx;
      sub.is_root = false;
      if (!correlatable && sub.uncorrelatable.empty()) sub.uncorrelatable = p;
      bool meta_field = name == "metadata" || name == "kind" || name == "apiVersion";
      if ((ctx.is_root || is_true(s, "x-kubernetes-embedded-resource")) && meta_field) {
        sub.inside_resource_meta = true;
        if (ctx.is_root) {
          sub.allow_defaults = false;
          sub.disallow_defaults_reason = "in top-level " + name;
        }
      }
      walk(sub_schema, at_key(child(p, "properties"), name), sub);
    }
  }

  // not, allOf, oneOf, anyOf, definitions, dependencies: no CEL context below them.
  void walk_nested(const json& s, const std::string& p, const NodeContext& ctx) {
    NodeContext sub = ctx;
    sub.is_root = false;
    sub.cel = false;
    if (const json* n = object_member(s, "not")) walk(*n, child(p, "not"), sub);
    for (const char* list : {"allOf", "oneOf", "anyOf"}) {
      if (const json* a = array_member(s, list)) {
        for (std::size_t i = 0; i < a->size(); ++i) walk((*a)[i], at_index(child(p, list), i), sub);
      }
    }
    for (const char* map : {"definitions", "dependencies"}) {
      if (const json* m = object_member(s, map)) {
        for (const auto& [name, sub_schema] : m->items()) {
          walk(sub_schema, at_key(child(p, map), name), sub);
        }
      }
    }
  }

  void walk_items(const json& s, const std::string& p, const NodeContext& ctx) {
    const json* items = member(s, "items");
    if (items == nullptr) return;
    NodeContext sub = ctx;
    sub.is_root = false;
    if (text_of(s, "x-kubernetes-list-type") != "map" && sub.uncorrelatable.empty()) {
      sub.uncorrelatable = p;
    }
    if (items->is_object()) walk(*items, child(p, "items"), sub);
    if (items->is_array()) {
      sub.cel = false;
      for (std::size_t i = 0; i < items->size(); ++i) {
        walk((*items)[i], at_index(child(p, "items"), i), sub);
      }
    }
  }

  void extension_checks(const json& s, const std::string& p) {
    const json* preserve = member(s, "x-kubernetes-preserve-unknown-fields");
    if (preserve != nullptr && preserve->is_boolean() && !preserve->get<bool>()) {
      errs_.invalid(child(p, "x-kubernetes-preserve-unknown-fields"), "false",
                    "must be true or undefined");
    }
    std::string type = text_of(s, "type");
    if (member(s, "x-kubernetes-map-type") != nullptr) {
      std::string map_type = text_of(s, "x-kubernetes-map-type");
      if (type != "object") {
        const char* why = "must be object if x-kubernetes-map-type is specified";
        type.empty() ? errs_.required(child(p, "type"), why)
                     : errs_.invalid(child(p, "type"), go_quote(type), why);
      }
      if (map_type != "atomic" && map_type != "granular") {
        errs_.not_supported(child(p, "x-kubernetes-map-type"), go_quote(map_type),
                            {"atomic", "granular"});
      }
    }
  }

  void list_type_checks(const json& s, const std::string& p) {
    std::string type = text_of(s, "type");
    bool has_list_type = member(s, "x-kubernetes-list-type") != nullptr;
    std::string list_type = text_of(s, "x-kubernetes-list-type");
    const std::string lt_path = child(p, "x-kubernetes-list-type");
    if (has_list_type && type != "array") {
      const char* why = "must be array if x-kubernetes-list-type is specified";
      type.empty() ? errs_.required(child(p, "type"), why)
                   : errs_.invalid(child(p, "type"), go_quote(type), why);
    } else if (list_type == "set") {
      if (const json* items = items_schema(s)) atomic_set_items(*items, p);
    }
    if (has_list_type && list_type != "atomic" && list_type != "set" && list_type != "map") {
      errs_.not_supported(lt_path, go_quote(list_type), {"atomic", "set", "map"});
    }
    if (non_empty(array_member(s, "x-kubernetes-list-map-keys"))) {
      const char* why = "must be map if x-kubernetes-list-map-keys is non-empty";
      if (!has_list_type) {
        errs_.required(lt_path, why);
      } else if (list_type != "map") {
        errs_.invalid(lt_path, go_quote(list_type), why);
      }
    }
  }

  // The items of a set must be atomic. (Upstream prints the items' list-type as the value of
  // the map-type error too, so that one usually reads "null".)
  void atomic_set_items(const json& items, const std::string& p) {
    const json* items_list_type = member(items, "x-kubernetes-list-type");
    std::string printed = items_list_type != nullptr ? go_value(*items_list_type) : "\"null\"";
    const char* why = "must be atomic as item of a list with x-kubernetes-list-type=set";
    std::string type = text_of(items, "type");
    if (type == "array" && items_list_type != nullptr &&
        text_of(items, "x-kubernetes-list-type") != "atomic") {
      errs_.invalid(child(child(p, "items"), "x-kubernetes-list-type"), printed, why);
    }
    if (type == "object" && text_of(items, "x-kubernetes-map-type") != "atomic") {
      errs_.invalid(child(child(p, "items"), "x-kubernetes-map-type"), printed, why);
    }
  }

  void map_list_checks(const json& s, const std::string& p) {
    if (text_of(s, "x-kubernetes-list-type") != "map") return;
    std::vector<std::string> keys = strings_of(s, "x-kubernetes-list-map-keys");
    const std::string keys_path = child(p, "x-kubernetes-list-map-keys");
    if (keys.empty()) {
      errs_.required(keys_path, "must not be empty if x-kubernetes-list-type is map");
    }
    const json* items = member(s, "items");
    if (items == nullptr) {
      return errs_.required(child(p, "items"),
                            "must have a schema if x-kubernetes-list-type is map");
    }
    if (!items->is_object()) {
      return errs_.invalid(child(p, "items"), "apiextensions.JSONSchemaPropsOrArray{...}",
                           "must only have a single schema if x-kubernetes-list-type is map");
    }
    std::string items_type = text_of(*items, "type");
    if (items_type != "object") {
      return errs_.invalid(child(child(p, "items"), "type"), go_quote(items_type),
                           "must be object if parent array's x-kubernetes-list-type is map");
    }
    std::set<std::string> seen;
    for (const auto& k : keys) {
      if (const json* prop = property(*items, k)) {
        std::string t = text_of(*prop, "type");
        if (t == "array" || t == "object") {
          errs_.invalid(child(at_key(child(child(p, "items"), "properties"), k), "type"),
                        go_quote(items_type),
                        "must be a scalar type if parent array's x-kubernetes-list-type is map");
        }
      } else {
        errs_.invalid(keys_path, go_string_list(keys),
                      "entries must all be names of item properties");
      }
      if (!seen.insert(k).second) {
        errs_.invalid(keys_path, go_string_list(keys), "must not contain duplicate entries");
      }
    }
  }

  // validateMapListKeysMapSet
  void map_list_keys_required(const json& s, const std::string& p) {
    const json* items = items_schema(s);
    std::string list_type = text_of(s, "x-kubernetes-list-type");
    if (items == nullptr || (list_type != "set" && list_type != "map")) return;
    const std::string items_path = child(p, "items");
    if (is_true(*items, "nullable")) {
      errs_.forbidden(child(items_path, "nullable"),
                      "cannot be nullable when x-kubernetes-list-type is " + list_type);
    }
    if (list_type != "map") return;
    std::vector<std::string> required = strings_of(*items, "required");
    for (const auto& k : strings_of(s, "x-kubernetes-list-map-keys")) {
      const json* prop = property(*items, k);
      if (prop == nullptr) continue;
      const std::string prop_path = at_key(child(items_path, "properties"), k);
      bool is_required = std::find(required.begin(), required.end(), k) != required.end();
      if (!is_required && member(*prop, "default") == nullptr) {
        errs_.required(child(prop_path, "default"),
                       "this property is in x-kubernetes-list-map-keys, so it must have a default "
                       "or be a required property");
      }
      if (is_true(*prop, "nullable")) {
        errs_.forbidden(child(prop_path, "nullable"),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable");
      }
    }
  }

  // x-kubernetes-validations: the textual checks; then, when CEL would be compiled (no schema
  // error at or below this node), the oldSelf placement checks.
  void validation_rules(const json& s, const std::string& p, const NodeContext& ctx,
                        std::size_t errors_before) {
    const json* rules = array_member(s, "x-kubernetes-validations");
    if (rules == nullptr) return;
    const std::string rules_path = child(p, "x-kubernetes-validations");
    for (std::size_t i = 0; i < rules->size(); ++i) {
      const json& rule = (*rules)[i];
      rule_text_checks(s, rule, at_index(rules_path, i));
    }
    if (!ctx.cel || errs_.size() != errors_before) return;
    for (std::size_t i = 0; i < rules->size(); ++i) {
      old_self_checks((*rules)[i], at_index(rules_path, i), ctx);
    }
  }

  void rule_text_checks(const json& s, const json& rule, const std::string& r) {
    std::string text = text_of(rule, "rule");
    std::string message = text_of(rule, "message");
    std::string trimmed_rule = trim(text);
    std::string trimmed_message = trim(message);
    if (trimmed_rule.empty()) {
      errs_.required(child(r, "rule"), "rule is not specified");
    } else if (!message.empty() && trimmed_message.empty()) {
      errs_.invalid(child(r, "message"), go_quote(message),
                    "message must be non-empty if specified");
    } else if (has_line_break(trimmed_message)) {
      errs_.invalid(child(r, "message"), go_quote(message), "message must not contain line breaks");
    } else if (has_line_break(trimmed_rule) && trimmed_message.empty()) {
      errs_.required(child(r, "message"), "message must be specified if rule contains line breaks");
    }
    std::string expression = text_of(rule, "messageExpression");
    if (!expression.empty() && trim(expression).empty()) {
      errs_.required(child(r, "messageExpression"),
                     "messageExpression must be non-empty if specified");
    }
    reason_check(rule, r);
    field_path_checks(s, rule, r);
  }

  void reason_check(const json& rule, const std::string& r) {
    static const std::vector<std::string> kReasons = {"FieldValueDuplicate", "FieldValueForbidden",
                                                      "FieldValueInvalid", "FieldValueRequired"};
    const json* reason = member(rule, "reason");
    if (reason == nullptr) return;
    std::string value = reason->is_string() ? reason->get<std::string>() : reason->dump();
    if (std::find(kReasons.begin(), kReasons.end(), value) == kReasons.end()) {
      errs_.not_supported(child(r, "reason"), go_quote(value), kReasons);
    }
  }

  void field_path_checks(const json& s, const json& rule, const std::string& r) {
    std::string field_path = text_of(rule, "fieldPath");
    if (field_path.empty()) return;
    const std::string fp = child(r, "fieldPath");
    if (trim(field_path).empty()) {
      errs_.invalid(fp, go_quote(field_path), "fieldPath must be non-empty if specified");
    }
    if (has_line_break(field_path)) {
      errs_.invalid(fp, go_quote(field_path), "fieldPath must not contain line breaks");
    }
    if (!structural_conversion_error(s).has_value() && !field_path_resolves(s, field_path)) {
      errs_.invalid(fp, go_quote(field_path), "fieldPath must be a valid path");
    }
  }

  void old_self_checks(const json& rule, const std::string& r, const NodeContext& ctx) {
    std::string text = text_of(rule, "rule");
    if (uses_old_self(text)) {
      if (!ctx.uncorrelatable.empty()) {
        cel_errs_.invalid(child(r, "rule"), go_quote(text),
                          "oldSelf cannot be used on the uncorrelatable portion of the schema "
                          "within " +
                              ctx.uncorrelatable);
      }
    } else if (const json* optional = member(rule, "optionalOldSelf")) {
      cel_errs_.invalid(child(r, "optionalOldSelf"), go_value(*optional),
                        "may not be set if oldSelf is not used in rule");
    }
  }

  Errors& errs_;
  Errors& cel_errs_;
};

// ------------------------------------------------------------------------------------------
// ValidateDefaults: runs only when the schema is structural. It walks items and properties
// (not additionalProperties, where defaults are forbidden), treating the root as an embedded
// resource.

bool is_meta_field(const std::string& name) {
  return name == "apiVersion" || name == "kind" || name == "metadata";
}

// pruning.Prune on a copy of a default: would it remove anything? `resource`: apiVersion, kind
// and metadata are kept (at the root and in embedded resources).
bool prune_removes(const json& x, const json* s, bool resource);

bool prune_removes_preserving(const json& x, const json& s) {
  bool embedded = is_true(s, "x-kubernetes-embedded-resource");
  if (x.is_object()) {
    for (const auto& [k, v] : x.items()) {
      if (embedded && is_meta_field(k)) continue;
      if (const json* prop = property(s, k)) {
        if (prune_removes(v, prop, false)) return true;
      } else if (member(s, "additionalProperties") != nullptr) {
        if (prune_removes(v, additional_schema(s), false)) return true;
      }
    }
  } else if (x.is_array()) {
    const json* items = items_schema(s);
    if (items == nullptr) return false;
    for (const auto& v : x) {
      if (prune_removes_preserving(v, *items)) return true;
    }
  }
  return false;
}

bool prune_removes(const json& x, const json* s, bool resource) {
  if (s != nullptr && is_true(*s, "x-kubernetes-preserve-unknown-fields")) {
    return prune_removes_preserving(x, *s);
  }
  if (x.is_object()) {
    if (s == nullptr) return !x.empty();
    bool keep_meta = resource || is_true(*s, "x-kubernetes-embedded-resource");
    for (const auto& [k, v] : x.items()) {
      if (keep_meta && is_meta_field(k)) continue;
      if (const json* prop = property(*s, k)) {
        if (prune_removes(v, prop, false)) return true;
      } else if (member(*s, "additionalProperties") != nullptr) {
        if (prune_removes(v, additional_schema(*s), false)) return true;
      } else {
        return true;
      }
    }
  } else if (x.is_array()) {
    const json* items = s != nullptr ? items_schema(*s) : nullptr;
    for (const auto& v : x) {
      if (prune_removes(v, items, false)) return true;
    }
  }
  return false;
}

// objectmeta.Validate: embedded resources inside a default need apiVersion and kind strings.
void embedded_type_meta(const json& x, const json* s, const std::string& path, bool resource,
                        Errors& errs) {
  if (s == nullptr) return;
  if (x.is_object()) {
    if (resource || is_true(*s, "x-kubernetes-embedded-resource")) {
      for (const char* name : {"apiVersion", "kind"}) {
        const json* v = member(x, name);
        if (v == nullptr || (v->is_string() && v->get_ref<const std::string&>().empty())) {
          errs.required(child(path, name));
        } else if (!v->is_string()) {
          errs.invalid(child(path, name), go_value(*v), "must be a string");
        }
      }
    }
    for (const auto& [k, v] : x.items()) {
      if (const json* prop = property(*s, k)) {
        embedded_type_meta(v, prop, child(path, k), false, errs);
      } else if (const json* map_values = additional_schema(*s)) {
        embedded_type_meta(v, map_values, at_key(path, k), false, errs);
      }
    }
  } else if (x.is_array()) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      embedded_type_meta(x[i], items_schema(*s), at_index(path, i), false, errs);
    }
  }
}

std::string json_type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return whole_number(v) || v.is_number_unsigned() ? "integer" : "number";
  return v.is_array() ? "array" : "object";
}

bool has_json_type(const json& v, const std::string& type) {
  if (type == "integer,string") return v.is_string() || has_json_type(v, "integer");
  if (type == "integer") return v.is_number() && (whole_number(v) || v.is_number_unsigned());
  if (type == "number") return v.is_number();
  return json_type_name(v) == type;
}

// The string formats the fake checks on defaults (kube-openapi's strfmt, loosely).
bool format_matches(const std::string& format, const std::string& v) {
  static const std::regex kDateTime(
      R"(^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$)");
  static const std::regex kDate(R"(^\d{4}-\d{2}-\d{2}$)");
  static const std::regex kUuid(
      R"(^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$)");
  static const std::regex kBase64(R"(^[A-Za-z0-9+/]*={0,2}$)");
  std::string f;
  for (char c : format) {
    if (c != '-') f += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  unsigned char addr[16];
  if (f == "datetime") return std::regex_match(v, kDateTime);
  if (f == "date") return std::regex_match(v, kDate);
  if (f == "uuid" || f == "uuid3" || f == "uuid4" || f == "uuid5")
    return std::regex_match(v, kUuid);
  if (f == "byte") return v.size() % 4 == 0 && std::regex_match(v, kBase64);
  if (f == "ipv4") return inet_pton(AF_INET, v.c_str(), addr) == 1;
  if (f == "ipv6") return inet_pton(AF_INET6, v.c_str(), addr) == 1;
  if (f == "cidr") {
    auto slash = v.find('/');
    if (slash == std::string::npos) return false;
    std::string ip = v.substr(0, slash);
    return inet_pton(AF_INET, ip.c_str(), addr) == 1 || inet_pton(AF_INET6, ip.c_str(), addr) == 1;
  }
  return true;  // not checked by the fake
}

std::size_t utf8_length(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

std::optional<std::int64_t> int_member(const json& s, const char* name) {
  const json* v = member(s, name);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  if (auto i = whole_number(*v)) return i;
  return static_cast<std::int64_t>(v->get<double>());
}

// How go-openapi prints a bound: as an integer when the value is one.
std::string bound_text(const json& bound, const json& value) {
  if (whole_number(value)) return std::to_string(static_cast<std::int64_t>(bound.get<double>()));
  return go_float(bound.get<double>());
}

// kube-openapi's validation of a default against its node's schema (no nested defaults), with
// kubeOpenAPIResultToFieldErrors' mapping to field errors. `name` is the dotted path inside the
// default ("" for the default itself), as kube-openapi names it in its messages.
class DefaultValueValidator {
 public:
  DefaultValueValidator(Errors& errs, std::string base) : errs_(errs), base_(std::move(base)) {}

  // Like kube-openapi, every validator that applies to the value's kind runs, even after a
  // type error.
  void validate(const json& v, const json& s, const std::string& name) {
    if (!s.is_object()) return;
    type_check(v, s, name);
    if (v.is_null()) return;
    enumeration(v, s, name);
    if (v.is_string()) string_checks(v.get<std::string>(), v, s, name);
    if (v.is_number()) number_checks(v, s, name);
    if (v.is_array()) array_checks(v, s, name);
    if (v.is_object()) object_checks(v, s, name);
    junctors(v, s, name);
  }

 private:
  static std::string schema_type(const json& s) {
    return is_true(s, "x-kubernetes-int-or-string") ? "integer,string" : text_of(s, "type");
  }

  [[nodiscard]] std::string field(const std::string& name) const {
    if (name.empty()) return base_;
    return child(base_, name[0] == '.' ? name.substr(1) : name);
  }

  static std::string join(const std::string& name, const std::string& next) {
    return name.empty() ? next : name + "." + next;
  }

  void type_check(const json& v, const json& s, const std::string& name) {
    std::string type = schema_type(s);
    if (type.empty() || has_json_type(v, type) || (v.is_null() && is_true(s, "nullable"))) return;
    std::string actual = json_type_name(v);
    errs_.type_invalid(field(name), go_quote(actual),
                       name + " in body must be of type " + type + ": " + go_quote(actual));
  }

  void enumeration(const json& v, const json& s, const std::string& name) {
    const json* values = array_member(s, "enum");
    if (values == nullptr || values->empty()) return;
    if (std::find(values->begin(), values->end(), v) != values->end()) return;
    std::vector<std::string> supported;
    for (const auto& e : *values)
      supported.push_back(e.is_string() ? e.get<std::string>() : e.dump());
    errs_.not_supported(field(name), go_value(v), supported);
  }

  void string_checks(const std::string& text, const json& v, const json& s,
                     const std::string& name) {
    std::string format = text_of(s, "format");
    if (!format.empty() && !format_matches(format, text)) {
      errs_.type_invalid(field(name), go_quote(text),
                         name + " in body must be of type " + format + ": " + go_quote(text));
    }
    auto length = static_cast<std::int64_t>(utf8_length(text));
    if (auto max = int_member(s, "maxLength"); max && length > *max) {
      errs_.too_long(field(name), *max);
    }
    if (auto min = int_member(s, "minLength"); min && length < *min) {
      errs_.invalid(field(name), go_value(v),
                    name + " in body should be at least " + std::to_string(*min) + " chars long");
    }
    std::string pattern = text_of(s, "pattern");
    if (pattern.empty()) return;
    CompiledPattern compiled = compile_pattern(pattern);
    if (compiled.regex && !std::regex_search(text, *compiled.regex)) {
      errs_.invalid(field(name), go_value(v), name + " in body should match '" + pattern + "'");
    }
  }

  void number_checks(const json& v, const json& s, const std::string& name) {
    double d = v.get<double>();
    if (const json* max = member(s, "maximum"); max != nullptr && max->is_number()) {
      bool exclusive = is_true(s, "exclusiveMaximum");
      if (exclusive ? d >= max->get<double>() : d > max->get<double>()) {
        errs_.invalid(field(name), go_value(v),
                      name + " in body should be less than " + (exclusive ? "" : "or equal to ") +
                          bound_text(*max, v));
      }
    }
    if (const json* min = member(s, "minimum"); min != nullptr && min->is_number()) {
      bool exclusive = is_true(s, "exclusiveMinimum");
      if (exclusive ? d <= min->get<double>() : d < min->get<double>()) {
        errs_.invalid(field(name), go_value(v),
                      name + " in body should be greater than " +
                          (exclusive ? "" : "or equal to ") + bound_text(*min, v));
      }
    }
    if (const json* m = member(s, "multipleOf"); m != nullptr && m->is_number()) {
      double factor = m->get<double>();
      if (factor > 0 && std::fabs(std::remainder(d, factor)) > 1e-9 * std::max(1.0, std::fabs(d))) {
        errs_.invalid(field(name), go_value(v),
                      name + " in body should be a multiple of " + bound_text(*m, v));
      }
    }
  }

  void array_checks(const json& v, const json& s, const std::string& name) {
    auto size = static_cast<std::int64_t>(v.size());
    if (auto max = int_member(s, "maxItems"); max && size > *max) {
      errs_.too_many(field(name), size, *max);
    }
    if (auto min = int_member(s, "minItems"); min && size < *min) {
      errs_.invalid(field(name), go_value(v),
                    name + " in body should have at least " + std::to_string(*min) + " items");
    }
    if (const json* items = items_schema(s)) {
      for (std::size_t i = 0; i < v.size(); ++i) validate(v[i], *items, at_index(name, i));
    }
  }

  // A property-count failure ends the object's validation, as in kube-openapi.
  void object_checks(const json& v, const json& s, const std::string& name) {
    auto size = static_cast<std::int64_t>(v.size());
    if (auto min = int_member(s, "minProperties"); min && size < *min) {
      return errs_.invalid(
          field(name), std::to_string(size),
          name + " in body should have at least " + std::to_string(*min) + " properties");
    }
    if (auto max = int_member(s, "maxProperties"); max && size > *max) {
      return errs_.too_many(field(name), size, *max);
    }
    for (const auto& r : strings_of(s, "required")) {
      if (!v.contains(r)) errs_.required(field(join(name, r)));
    }
    const json* additional = member(s, "additionalProperties");
    for (const auto& [k, sub] : v.items()) {
      if (const json* prop = property(s, k)) {
        validate(sub, *prop, join(name, k));
      } else if (additional != nullptr && additional->is_object()) {
        validate(sub, *additional, name + "." + k);
      } else if (additional != nullptr && additional->is_boolean() && !additional->get<bool>()) {
        errs_.invalid(field(name), go_quote(k),
                      name + "." + k + " in body is a forbidden property");
      }
    }
  }

  [[nodiscard]] bool passes(const json& v, const json& s, const std::string& name) const {
    Errors scratch;
    DefaultValueValidator(scratch, base_).validate(v, s, name);
    return scratch.empty();
  }

  // allOf errors are reported as they are; anyOf, oneOf and not as one error at the default.
  void junctors(const json& v, const json& s, const std::string& name) {
    if (const json* all_of = array_member(s, "allOf")) {
      for (const auto& sub : *all_of) validate(v, sub, name);
    }
    if (const json* any_of = array_member(s, "anyOf"); non_empty(any_of)) {
      bool any = std::any_of(any_of->begin(), any_of->end(),
                             [&](const json& sub) { return passes(v, sub, name); });
      if (!any) errs_.invalid(base_, "\"\"", name + " must validate at least one schema (anyOf)");
    }
    if (const json* one_of = array_member(s, "oneOf"); non_empty(one_of)) {
      auto count = std::count_if(one_of->begin(), one_of->end(),
                                 [&](const json& sub) { return passes(v, sub, name); });
      if (count != 1) {
        errs_.invalid(base_, "\"\"", name + " must validate one and only one schema (oneOf)");
      }
    }
    if (const json* n = object_member(s, "not"); n != nullptr && passes(v, *n, name)) {
      errs_.invalid(base_, "\"\"", name + " must not validate the schema (not)");
    }
  }

  Errors& errs_;
  std::string base_;
};

// The CEL rules of a node and of its descendants, evaluated against a default (no nested
// defaulting: a descendant's rules run only where the default has a value).
class CelOnDefault {
 public:
  explicit CelOnDefault(Errors& errs) : errs_(errs) {}

  void run(const json& s, const json& value, const std::string& path) {
    if (value.is_null() || !s.is_object()) return;
    if (const json* rules = array_member(s, "x-kubernetes-validations")) {
      for (const auto& rule : *rules) evaluate(rule, s, value, path);
    }
    if (value.is_object()) {
      for (const auto& [k, v] : value.items()) {
        if (const json* prop = property(s, k)) {
          run(*prop, v, child(path, k));
        } else if (const json* map_values = additional_schema(s)) {
          run(*map_values, v, at_key(path, k));
        }
      }
    } else if (const json* items = items_schema(s); items != nullptr && value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) run(*items, value[i], at_index(path, i));
    }
  }

 private:
  void evaluate(const json& rule, const json& s, const json& value, const std::string& path) {
    std::string text = text_of(rule, "rule");
    if (trim(text).empty()) return;
    CelOutcome outcome = evaluate_cel(text, value);
    std::string type = go_quote(text_of(s, "type"));
    std::string message = trim(text_of(rule, "message"));
    std::string shown = message.empty() ? trim(text) : message;
    switch (outcome.kind) {
      case CelOutcome::Kind::Error:
        errs_.invalid(path, type, outcome.message + " evaluating rule: " + shown);
        break;
      case CelOutcome::Kind::False:
        failed(rule, path, type, message.empty() ? "failed rule: " + trim(text) : message);
        break;
      case CelOutcome::Kind::True:
        break;
      case CelOutcome::Kind::Unsupported:
        break;  // outside the CEL subset: the fake cannot judge the rule, so it lets it pass
    }
  }

  // fieldErrorForReason. (A messageExpression is not evaluated: the message is used.)
  void failed(const json& rule, std::string path, const std::string& type,
              const std::string& detail) {
    std::string field_path = trim(text_of(rule, "fieldPath"));
    if (!field_path.empty()) path += field_path[0] == '.' ? field_path : "." + field_path;
    std::string reason = text_of(rule, "reason");
    if (reason == "FieldValueForbidden") {
      errs_.forbidden(path, detail);
    } else if (reason == "FieldValueRequired") {
      errs_.required(path, detail);
    } else if (reason == "FieldValueDuplicate") {
      errs_.duplicate(path, type);
    } else {
      errs_.invalid(path, type, detail);
    }
  }

  Errors& errs_;
};

class DefaultsChecker {
 public:
  explicit DefaultsChecker(Errors& errs) : errs_(errs) {}

  // `resource`: s is the root or an embedded resource; `inside_meta`: s is (under) the
  // apiVersion, kind or metadata of one.
  void walk(const json& s, const std::string& p, bool resource, bool inside_meta) {
    if (!s.is_object()) return;
    resource = resource || is_true(s, "x-kubernetes-embedded-resource");
    if (resource) inside_meta = false;
    if (const json* d = member(s, "default"); d != nullptr && !inside_meta) {
      check(*d, s, p, resource);
    }
    // Defaults inside resource meta are refused by the OpenAPI walk at the root; the metadata
    // checks the real server runs on them in embedded resources are not done here.
    if (const json* items = items_schema(s)) walk(*items, child(p, "items"), false, inside_meta);
    if (const json* props = properties_of(s)) {
      for (const auto& [name, sub] : props->items()) {
        walk(sub, at_key(child(p, "properties"), name), false,
             inside_meta || (resource && is_meta_field(name)));
      }
    }
  }

 private:
  void check(const json& d, const json& s, const std::string& p, bool resource) {
    const std::string path = child(p, "default");
    if (prune_removes(d, &s, resource))
      errs_.invalid(path, go_value(d), "must not have unknown fields");
    Errors meta;
    embedded_type_meta(d, &s, path, resource, meta);
    if (!meta.empty()) return errs_.append(meta);
    Errors values;
    DefaultValueValidator(values, path).validate(d, s, "");
    if (!values.empty()) return errs_.append(values);
    CelOnDefault(errs_).run(s, d, path);
  }

  Errors& errs_;
};

// ------------------------------------------------------------------------------------------
// One openAPIV3Schema (validateCustomResourceDefinitionValidation).

// The JSONSchemaProps fields, in Go's declaration order, the root may not set with /status on.
constexpr const char* kRootFieldsForbiddenWithStatus[] = {
    "id",
    "$schema",
    "$ref",
    "default",
    "enum",
    "maxProperties",
    "minProperties",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "additionalProperties",
    "patternProperties",
    "dependencies",
    "additionalItems",
    "definitions",
    "nullable",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
};

// A JSONSchemaProps field at its Go zero value (absent, false, "").
bool go_zero(const json& v) {
  if (v.is_null()) return true;
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_string()) return v.get_ref<const std::string&>().empty();
  return false;
}

// With the status subresource on, the root may only hold fields that survive extracting
// properties[status].
void check_root_with_status(const json& schema, const std::string& validation_path, Errors& errs) {
  std::string type = text_of(schema, "type");
  if (!type.empty() && type != "object") {
    return errs.invalid(child(validation_path, "openAPIV3Schema.type"), go_quote(type),
                        "only \"object\" is allowed as the type at the root of the schema if the "
                        "status subresource is enabled");
  }
  for (const char* name : kRootFieldsForbiddenWithStatus) {
    const json* v = member(schema, name);
    if (v == nullptr || go_zero(*v)) continue;
    return errs.invalid(
        child(validation_path, "openAPIV3Schema"), "apiextensions.JSONSchemaProps{...}",
        "only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum "
        "MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items "
        "Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed "
        "at the root of the schema if the status subresource is enabled");
  }
}

struct SchemaSite {
  const json* schema = nullptr;
  std::string validation_path;  // "spec.validation" or "spec.versions[i].schema"
  bool status_enabled = false;
};

void validate_schema(const SchemaSite& site, Errors& errs) {
  const json& schema = *site.schema;
  const std::string root = child(site.validation_path, "openAPIV3Schema");
  Errors site_errs;
  if (site.status_enabled) check_root_with_status(schema, site.validation_path, site_errs);
  if (is_true(schema, "nullable")) {
    site_errs.forbidden(child(root, "nullable"), "nullable cannot be true at the root");
  }
  std::optional<std::string> conversion_error = structural_conversion_error(schema);
  NodeContext ctx;
  ctx.is_root = true;
  if (!conversion_error) {
    Errors structural;
    StructuralChecker(structural).run(schema, root);
    Errors defaults;
    if (structural.empty()) DefaultsChecker(defaults).walk(schema, root, true, false);
    ctx.cel = structural.empty() && defaults.empty();
    site_errs.append(structural);
    site_errs.append(defaults);
  }
  Errors schema_errs;
  Errors cel_errs;
  OpenApiChecker(schema_errs, cel_errs).walk(schema, root, ctx);
  site_errs.append(schema_errs);
  site_errs.append(cel_errs);
  if (site_errs.empty() && conversion_error) site_errs.invalid(root, "\"\"", *conversion_error);
  errs.append(site_errs);
}

// ------------------------------------------------------------------------------------------
// The CRD object and its spec.

const json& empty_object() {
  static const json kEmpty = json::object();
  return kEmpty;
}

const json& object_or_empty(const json& node, const char* name) {
  const json* v = object_member(node, name);
  return v != nullptr ? *v : empty_object();
}

std::vector<const json*> versions_of(const json& spec) {
  std::vector<const json*> out;
  if (const json* versions = array_member(spec, "versions")) {
    for (const auto& v : *versions) out.push_back(&v);
  }
  return out;
}

constexpr const char* kDns1123SubdomainFormat =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr const char* kDns1035LabelFormat = "[a-z]([-a-z0-9]*[a-z0-9])?";

std::vector<std::string> dns1123_subdomain_errors(const std::string& value) {
  static const std::regex kSubdomain(std::string("^") + kDns1123SubdomainFormat + "$");
  std::vector<std::string> errs;
  if (value.size() > 253) errs.emplace_back("must be no more than 253 characters");
  if (!std::regex_match(value, kSubdomain)) {
    errs.push_back(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
        "regex used for validation is '" +
        std::string(kDns1123SubdomainFormat) + "')");
  }
  return errs;
}

std::vector<std::string> dns1035_label_errors(const std::string& value) {
  static const std::regex kLabel(std::string("^") + kDns1035LabelFormat + "$");
  std::vector<std::string> errs;
  if (value.size() > 63) errs.emplace_back("must be no more than 63 characters");
  if (!std::regex_match(value, kLabel)) {
    errs.push_back(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
        "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
        "'abc-123', regex used for validation is '" +
        std::string(kDns1035LabelFormat) + "')");
  }
  return errs;
}

std::string join_commas(const std::vector<std::string>& parts) { return joined(parts, ",", false); }

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void check_name(const json& crd, Errors& errs) {
  const json& metadata = object_or_empty(crd, "metadata");
  std::string name = text_of(metadata, "name");
  if (name.empty()) {
    if (text_of(metadata, "generateName").empty()) {
      errs.required("metadata.name", "name or generateName is required");
    }
    return;
  }
  const json& spec = object_or_empty(crd, "spec");
  std::vector<std::string> problems = dns1123_subdomain_errors(name);
  if (name != text_of(object_or_empty(spec, "names"), "plural") + "." + text_of(spec, "group")) {
    problems.emplace_back("must be spec.names.plural+\".\"+spec.group");
  }
  for (const auto& problem : problems) errs.invalid("metadata.name", go_quote(name), problem);
}

void check_group_and_scope(const json& spec, Errors& errs) {
  std::string group = text_of(spec, "group");
  if (group.empty()) {
    errs.required("spec.group");
  } else if (auto problems = dns1123_subdomain_errors(group); !problems.empty()) {
    errs.invalid("spec.group", go_quote(group), join_commas(problems));
  } else if (group.find('.') == std::string::npos) {
    errs.invalid("spec.group", go_quote(group), "should be a domain with at least one dot");
  }
  std::string scope = text_of(spec, "scope");
  if (scope.empty()) {
    errs.required("spec.scope");
  } else if (scope != "Cluster" && scope != "Namespaced") {
    errs.not_supported("spec.scope", go_quote(scope), {"Cluster", "Namespaced"});
  }
}

void check_label(const std::string& path, const std::string& value, bool mixed_case, Errors& errs) {
  if (value.empty()) return;
  auto problems = dns1035_label_errors(mixed_case ? lowercase(value) : value);
  if (problems.empty()) return;
  errs.invalid(path, go_quote(value),
               (mixed_case ? "may have mixed case, but should otherwise match: " : "") +
                   join_commas(problems));
}

void check_names(const json& spec, Errors& errs) {
  const json& names = object_or_empty(spec, "names");
  for (const char* name : {"plural", "singular", "kind", "listKind"}) {
    if (text_of(names, name).empty()) errs.required(child("spec.names", name));
  }
  check_label("spec.names.plural", text_of(names, "plural"), false, errs);
  check_label("spec.names.singular", text_of(names, "singular"), false, errs);
  check_label("spec.names.kind", text_of(names, "kind"), true, errs);
  check_label("spec.names.listKind", text_of(names, "listKind"), true, errs);
  for (const char* list : {"shortNames", "categories"}) {
    std::vector<std::string> values = strings_of(names, list);
    for (std::size_t i = 0; i < values.size(); ++i) {
      check_label(at_index(child("spec.names", list), i), values[i], false, errs);
    }
  }
  std::string kind = text_of(names, "kind");
  if (!kind.empty() && kind == text_of(names, "listKind")) {
    errs.invalid("spec.names.listKind", go_quote(kind), "kind and listKind may not be the same");
  }
}

void check_versions(const json& spec, Errors& errs) {
  std::vector<const json*> versions = versions_of(spec);
  std::set<std::string> seen;
  bool unique = true;
  int storage = 0;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    std::string name = text_of(*versions[i], "name");
    if (is_true(*versions[i], "storage")) ++storage;
    unique = seen.insert(name).second && unique;
    if (auto problems = dns1035_label_errors(name); !problems.empty()) {
      errs.invalid(child(at_index("spec.versions", i), "name"), go_quote(name),
                   join_commas(problems));
    }
  }
  const char* printed = "[]apiextensions.CustomResourceDefinitionVersion{...}";
  if (!unique) errs.invalid("spec.versions", printed, "must contain unique version names");
  if (storage != 1) {
    errs.invalid("spec.versions", printed,
                 "must have exactly one version marked as storage version");
  }
}

bool schema_has_default(const json& s) {
  if (s.is_array()) return std::any_of(s.begin(), s.end(), schema_has_default);
  if (!s.is_object()) return false;
  if (member(s, "default") != nullptr) return true;
  for (const char* name :
       {"items", "allOf", "anyOf", "oneOf", "not", "additionalProperties", "additionalItems"}) {
    if (const json* v = member(s, name); v != nullptr && schema_has_default(*v)) return true;
  }
  for (const char* map : {"properties", "patternProperties", "definitions", "dependencies"}) {
    if (const json* m = object_member(s, map)) {
      for (const auto& [name, sub] : m->items()) {
        if (schema_has_default(sub)) return true;
      }
    }
  }
  return false;
}

const json* openapi_schema(const json& version) {
  return object_member(object_or_empty(version, "schema"), "openAPIV3Schema");
}

void check_preserve_unknown_fields(const json& spec, Errors& errs) {
  if (!is_true(spec, "preserveUnknownFields")) return;
  std::vector<const json*> versions = versions_of(spec);
  bool defaults = std::any_of(versions.begin(), versions.end(), [](const json* v) {
    const json* schema = openapi_schema(*v);
    return schema != nullptr && schema_has_default(*schema);
  });
  if (defaults) {
    errs.invalid("spec.preserveUnknownFields", "true",
                 "must be false in order to use defaults in the schema");
  }
  errs.invalid("spec.preserveUnknownFields", "true",
               "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in "
               "spec.versions[*].schema instead");
}

bool status_enabled(const json& version) {
  return member(object_or_empty(version, "subresources"), "status") != nullptr;
}

// v1 -> internal conversion: identical per-version schemas become spec.validation.
std::vector<SchemaSite> schema_sites(const json& spec, Errors& errs) {
  std::vector<const json*> versions = versions_of(spec);
  std::vector<SchemaSite> sites;
  if (versions.empty()) return sites;
  auto schema_of = [](const json* v) { return v->contains("schema") ? (*v)["schema"] : json(); };
  bool identical = std::all_of(versions.begin(), versions.end(), [&](const json* v) {
    return schema_of(v) == schema_of(versions[0]);
  });
  if (identical && openapi_schema(*versions[0]) != nullptr) {
    bool status = std::any_of(versions.begin(), versions.end(),
                              [](const json* v) { return status_enabled(*v); });
    sites.push_back({openapi_schema(*versions[0]), "spec.validation", status});
    return sites;
  }
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const std::string path = child(at_index("spec.versions", i), "schema");
    if (const json* schema = openapi_schema(*versions[i])) {
      sites.push_back({schema, path, status_enabled(*versions[i])});
    } else {
      errs.required(child(path, "openAPIV3Schema"), "schemas are required");
    }
  }
  return sites;
}

void check_printer_column(const json& column, const std::string& p, Errors& errs) {
  static const std::set<std::string> kTypes = {"boolean", "date", "integer", "number", "string"};
  static const std::set<std::string> kFormats = {"byte",  "date",  "date-time", "double",
                                                 "float", "int32", "int64",     "password"};
  const std::string types = "must be one of boolean,date,integer,number,string";
  if (text_of(column, "name").empty()) errs.required(child(p, "name"));
  std::string type = text_of(column, "type");
  if (type.empty()) {
    errs.required(child(p, "type"), types);
  } else if (!kTypes.contains(type)) {
    errs.invalid(child(p, "type"), go_quote(type), types);
  }
  std::string format = text_of(column, "format");
  if (!format.empty() && !kFormats.contains(format)) {
    errs.invalid(child(p, "format"), go_quote(format),
                 "must be one of byte,date,date-time,double,float,int32,int64,password");
  }
  std::string json_path = text_of(column, "jsonPath");
  if (json_path.empty()) {
    errs.required(child(p, "JSONPath"));
  } else if (json_path[0] != '.') {
    errs.invalid(child(p, "JSONPath"), go_quote(json_path),
                 "must be a simple json path starting with .");
  }
}

// Identical, non-empty columns in every version become spec.additionalPrinterColumns.
void check_printer_columns(const json& spec, Errors& errs) {
  std::vector<const json*> versions = versions_of(spec);
  auto columns_of = [](const json* v) {
    const json* c = array_member(*v, "additionalPrinterColumns");
    return c != nullptr ? *c : json::array();
  };
  bool shared = !versions.empty() && std::all_of(versions.begin(), versions.end(), [&](auto* v) {
    return !columns_of(v).empty() && columns_of(v) == columns_of(versions[0]);
  });
  for (std::size_t i = 0; i < versions.size(); ++i) {
    std::string base = shared ? "spec.additionalPrinterColumns"
                              : child(at_index("spec.versions", i), "additionalPrinterColumns");
    json columns = columns_of(versions[i]);
    for (std::size_t j = 0; j < columns.size(); ++j) {
      check_printer_column(columns[j], at_index(base, j), errs);
    }
    if (shared) break;
  }
}

void check_conversion(const json& spec, Errors& errs) {
  const json* conversion = object_member(spec, "conversion");
  if (conversion == nullptr) return;
  std::string strategy = text_of(*conversion, "strategy");
  if (strategy.empty()) return errs.required("spec.conversion.strategy");
  if (strategy != "None" && strategy != "Webhook") {
    return errs.not_supported("spec.conversion.strategy", go_quote(strategy), {"None", "Webhook"});
  }
  if (strategy != "Webhook") return;
  const json& webhook = object_or_empty(*conversion, "webhook");
  if (object_member(webhook, "clientConfig") == nullptr) {
    errs.required("spec.conversion.webhookClientConfig",
                  "required when strategy is set to Webhook");
  }
  std::vector<std::string> review = strings_of(webhook, "conversionReviewVersions");
  const std::string review_path = "spec.conversion.conversionReviewVersions";
  if (review.empty()) return errs.required(review_path);
  bool accepted = std::any_of(review.begin(), review.end(),
                              [](const auto& v) { return v == "v1" || v == "v1beta1"; });
  if (!accepted) {
    errs.invalid(review_path, go_string_list(review), "must include at least one of v1, v1beta1");
  }
}

}  // namespace

std::vector<SchemaCause> validate_crd(const json& crd) {
  Errors errs;
  const json& spec = object_or_empty(crd, "spec");
  check_name(crd, errs);
  check_group_and_scope(spec, errs);
  for (const SchemaSite& site : schema_sites(spec, errs)) validate_schema(site, errs);
  check_versions(spec, errs);
  check_names(spec, errs);
  check_printer_columns(spec, errs);
  check_conversion(spec, errs);
  check_preserve_unknown_fields(spec, errs);
  return errs.take();
}

std::string crd_invalid_message(const std::string& name, const std::vector<SchemaCause>& causes) {
  std::vector<std::string> texts;
  for (const auto& c : causes) {
    std::string text = c.field + ": " + c.message;
    if (std::find(texts.begin(), texts.end(), text) == texts.end()) texts.push_back(text);
  }
  std::string aggregate = texts.empty()       ? "<nil>"
                          : texts.size() == 1 ? texts[0]
                                              : "[" + joined(texts, ", ", false) + "]";
  return "CustomResourceDefinition.apiextensions.k8s.io " + go_quote(name) +
         " is invalid: " + aggregate;
}

}  // namespace keyward::testing::fake
