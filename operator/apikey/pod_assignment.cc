#include "operator/apikey/pod_assignment.h"

#include <charconv>

#include "common/kube/object_meta.h"

namespace keyward::apikey {

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

std::optional<InjectReference> parse_inject_annotation(std::string_view value,
                                                       std::string_view pod_ns) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  InjectReference ref;
  if (const auto slash = value.find('/'); slash != std::string_view::npos) {
    ref.ns = std::string(value.substr(0, slash));
    ref.name = std::string(value.substr(slash + 1));
    ref.explicit_namespace = true;
  } else {
    ref.ns = std::string(pod_ns);
    ref.name = std::string(value);
  }
  return ref;
}

std::optional<InjectReference> inject_reference(const nlohmann::json& pod,
                                                std::string_view pod_ns) {
  std::string ns(pod_ns);
  if (ns.empty() && pod.is_object() && pod.contains("metadata") && pod["metadata"].is_object()) {
    ns = pod["metadata"].value("namespace", "");
  }
  return parse_inject_annotation(kube::annotation(pod, kInjectAnnotation), ns);
}

std::optional<std::string> assigned_apikey(const nlohmann::json& pod) {
  std::string ns;
  if (pod.is_object() && pod.contains("metadata") && pod["metadata"].is_object()) {
    ns = pod["metadata"].value("namespace", "");
  }
  if (auto ref = inject_reference(pod, ns)) {
    if (ref->ns != ns || ref->name.empty()) return std::nullopt;
    return ref->name;
  }
  std::string label = kube::label(pod, kApiKeyLabel);
  if (label.empty()) return std::nullopt;
  return label;
}

std::optional<std::int64_t> recorded_key_version(const nlohmann::json& pod) {
  const std::string text = kube::annotation(pod, kKeyVersionAnnotation);
  if (text.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace keyward::apikey
