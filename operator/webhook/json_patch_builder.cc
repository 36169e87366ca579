#include "operator/webhook/json_patch_builder.h"

namespace keyward::webhook {

using nlohmann::json;

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

const json* JsonPatchBuilder::find(const std::string& path) const {
  json::json_pointer ptr(path);
  if (!doc_.contains(ptr)) return nullptr;
  const json& v = doc_.at(ptr);
  return v.is_null() ? nullptr : &v;
}

void JsonPatchBuilder::apply(json op) {
  // Operations are built from find() results, so applying them cannot fail; a failure here is a
  // bug in the mutator and json::patch throws, which the caller's tests catch.
  doc_ = doc_.patch(json::array({op}));
  ops_.push_back(std::move(op));
}

void JsonPatchBuilder::add(const std::string& path, json value) {
  apply({{"op", "add"}, {"path", path}, {"value", std::move(value)}});
}

void JsonPatchBuilder::replace(const std::string& path, json value) {
  apply({{"op", "replace"}, {"path", path}, {"value", std::move(value)}});
}

void JsonPatchBuilder::append(const std::string& array_path, json value) {
  const json* arr = find(array_path);
  if (arr != nullptr && arr->is_array()) {
    add(array_path + "/-", std::move(value));
  } else {
    add(array_path, json::array({std::move(value)}));  // "add" replaces a null member too
  }
}

void JsonPatchBuilder::prepend(const std::string& array_path, json value) {
  const json* arr = find(array_path);
  if (arr != nullptr && arr->is_array()) {
    add(array_path + "/0", std::move(value));
  } else {
    add(array_path, json::array({std::move(value)}));
  }
}

void JsonPatchBuilder::put(const std::string& object_path, std::string_view key, json value) {
  const json* obj = find(object_path);
  if (obj != nullptr && obj->is_object()) {
    add(object_path + "/" + escape_pointer_token(key), std::move(value));
  } else {
    add(object_path, json::object({{std::string(key), std::move(value)}}));
  }
}

}  // namespace keyward::webhook
