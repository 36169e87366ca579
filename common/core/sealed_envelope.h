#pragma once
// The one reader of the sealed-envelope contract (docs/sealing.md) outside the operator's sealer:
// a stored value that starts "kw1." followed by a KEK id and a dot is an AES-256-GCM envelope,
// never key material. The sidecar uses it to refuse a sealed key Secret mounted as a volume.

#include <string_view>

namespace keyward {

inline constexpr std::string_view kSealedEnvelopeFormat = "kw1";

// Whether a value is a sealed envelope: "kw1.<KEK id>.<...>".
constexpr bool is_sealed_envelope(std::string_view value) {
  if (value.size() <= kSealedEnvelopeFormat.size() + 1) return false;
  if (value.substr(0, kSealedEnvelopeFormat.size()) != kSealedEnvelopeFormat) return false;
  if (value[kSealedEnvelopeFormat.size()] != '.') return false;
  return value.find('.', kSealedEnvelopeFormat.size() + 1) != std::string_view::npos;
}

}  // namespace keyward
