#include "common/core/yaml_json.h"

#include <charconv>
#include <regex>

namespace keyward {
namespace {

using nlohmann::json;

// YAML 1.2 core schema, except that a leading-zero integer is octal as in YAML 1.1, which is what
// the API server's and kubectl's YAML reader uses. The patterns are function-local statics: built
// on first use, not during static initialisation, where a throwing constructor could not be caught.
bool is_int_word(const std::string& s) {
  static const std::regex kInt("^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$");
  return std::regex_match(s, kInt);
}
bool is_float_word(const std::string& s) {
  static const std::regex kFloat("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");
  return std::regex_match(s, kFloat);
}
bool is_special_float_word(const std::string& s) {
  static const std::regex kSpecialFloat("^[-+]?\\.(inf|Inf|INF)$|^\\.(nan|NaN|NAN)$");
  return std::regex_match(s, kSpecialFloat);
}

bool is_null_word(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}
bool is_true_word(const std::string& s) { return s == "true" || s == "True" || s == "TRUE"; }
bool is_false_word(const std::string& s) { return s == "false" || s == "False" || s == "FALSE"; }

// Also quote YAML 1.1 words (yes/no/on/off) that older parsers (and kubectl's) read as booleans.
bool needs_quotes(const std::string& s) {
  static const std::regex kYaml11Bool("^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$");
  return is_null_word(s) || is_true_word(s) || is_false_word(s) || is_int_word(s) ||
         is_float_word(s) || is_special_float_word(s) || std::regex_match(s, kYaml11Bool);
}

json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() != "?") return text;  // quoted or explicitly tagged: a string
  if (is_null_word(text)) return nullptr;
  if (is_true_word(text)) return true;
  if (is_false_word(text)) return false;
  if (is_int_word(text)) {
    try {
      std::size_t pos = 0;
      long long v = 0;
      static const std::regex kYaml11Octal("^0[0-7]+$");
      if (text.rfind("0o", 0) == 0) {
        v = std::stoll(text.substr(2), &pos, 8);
      } else if (std::regex_match(text, kYaml11Octal)) {
        // What Kubernetes reads (sigs.k8s.io/yaml, YAML 1.1): "defaultMode: 0440" is 288, as
        // kubectl and Helm send it, not the 440 of YAML 1.2.
        v = std::stoll(text, &pos, 8);
      } else if (text.rfind("0x", 0) == 0) {
        v = std::stoll(text.substr(2), &pos, 16);
      } else {
        v = std::stoll(text, &pos, 10);
      }
      return v;
    } catch (const std::exception&) {
      return text;  // out of range: keep the text
    }
  }
  if (is_float_word(text)) {
    try {
      return std::stod(text);
    } catch (const std::exception&) {
      return text;
    }
  }
  return text;
}

void emit(YAML::Emitter& out, const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, item] : v.items()) {
        out << YAML::Key;
        if (needs_quotes(k)) {
          out << YAML::DoubleQuoted << k;
        } else {
          out << k;
        }
        out << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (needs_quotes(s)) {
        out << YAML::DoubleQuoted << s;
      } else if (s.find('\n') != std::string::npos) {
        // yaml-cpp writes literal blocks with "|" (keep one final newline); other multi-line
        // strings go double-quoted with \n escapes so they read back exactly.
        const bool literal_safe = s.back() == '\n' &&
                                  s.find("\n\n", s.size() - 2) == std::string::npos &&
                                  s.find_first_of("\t\r") == std::string::npos && s.front() != ' ';
        if (literal_safe) {
          out << YAML::Literal << s;
        } else {
          out << YAML::DoubleQuoted << s;
        }
      } else {
        out << s;
      }
      break;
    }
    case json::value_t::boolean:
      out << v.get<bool>();
      break;
    case json::value_t::null:
    case json::value_t::discarded:
      out << YAML::Null;
      break;
    case json::value_t::number_integer:
      out << v.get<long long>();
      break;
    case json::value_t::number_unsigned:
      out << v.get<unsigned long long>();
      break;
    case json::value_t::number_float:
      out << v.dump();  // shortest round-trip text
      break;
    case json::value_t::binary:
      out << YAML::Null;
      break;
  }
}

}  // namespace

Result<json> yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json(nullptr);
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : node) {
        auto v = yaml_to_json(item);
        if (!v) return v;
        arr.push_back(std::move(*v));
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) return fail("InvalidYaml", "a mapping key is not a scalar");
        auto v = yaml_to_json(kv.second);
        if (!v) return v;
        obj[kv.first.Scalar()] = std::move(*v);
      }
      return obj;
    }
  }
  return json(nullptr);
}

std::string json_to_yaml(const json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  emit(out, value);
  return out.c_str();
}

Result<std::vector<YAML::Node>> load_yaml_documents(const std::string& text) {
  try {
    return YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return fail("InvalidYaml", std::string("the input is not valid YAML: ") + e.what());
  }
}

}  // namespace keyward
