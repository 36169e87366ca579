#pragma once
// Builds an RFC 6902 JSON patch against a document while keeping a copy of the document with
// the operations applied, so each new operation is written for the document as it will be at
// that point: "add /spec/volumes [..]" when the array is missing, "add /spec/volumes/-" when it
// exists; "add /metadata/annotations {..}" when the map is missing, "add
// /metadata/annotations/keyward.dev~1injected" when it exists.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace keyward::webhook {

// RFC 6901 escaping of one reference token: '~' -> "~0", '/' -> "~1".
std::string escape_pointer_token(std::string_view token);

class JsonPatchBuilder {
 public:
  explicit JsonPatchBuilder(nlohmann::json document) : doc_(std::move(document)) {}

  // The value at path, or nullptr when absent or null.
  [[nodiscard]] const nlohmann::json* find(const std::string& path) const;

  void add(const std::string& path, nlohmann::json value);
  void replace(const std::string& path, nlohmann::json value);
  // Appends to the array at array_path, creating the array when it is missing or null.
  void append(const std::string& array_path, nlohmann::json value);
  // Inserts at index 0 of the array at array_path, creating the array when missing.
  void prepend(const std::string& array_path, nlohmann::json value);
  // Sets key in the object at object_path, creating the object when missing or null.
  void put(const std::string& object_path, std::string_view key, nlohmann::json value);

  [[nodiscard]] const nlohmann::json& operations() const { return ops_; }
  [[nodiscard]] const nlohmann::json& document() const { return doc_; }

 private:
  void apply(nlohmann::json op);

  nlohmann::json doc_;
  nlohmann::json ops_ = nlohmann::json::array();
};

}  // namespace keyward::webhook
