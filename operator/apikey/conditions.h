#pragma once
// Status conditions in the shape the Kubernetes API conventions prescribe: one entry per type,
// status "True" | "False" | "Unknown", a CamelCase reason, a message for people, the time the
// status last flipped, and the generation it was computed from.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/clock.h"
#include "common/core/result.h"

namespace keyward::apikey {

// Condition types an ApiKey reports.
namespace condition_type {
inline constexpr std::string_view kReady = "Ready";  // key present and delivered as specified
inline constexpr std::string_view kRotating =
    "Rotating";  // a rotation or its restarts are underway
inline constexpr std::string_view kDegraded = "Degraded";  // something needs a person's attention
// The broker's upstream session gets tokens from the provider (reasons: the provider's state,
// docs/operator.md "Provider limits").
inline constexpr std::string_view kProviderReady = "ProviderReady";
}  // namespace condition_type

namespace condition_status {
inline constexpr std::string_view kTrue = "True";
inline constexpr std::string_view kFalse = "False";
inline constexpr std::string_view kUnknown = "Unknown";
}  // namespace condition_status

// Reasons (CamelCase; they double as event reasons). Errors from this library carry the same
// strings in Error::reason, so a controller can copy Error::reason into a condition unchanged.
namespace reason {
inline constexpr std::string_view kInvalidSpec = "InvalidSpec";
inline constexpr std::string_view kWindowNeverOpens = "WindowNeverOpens";
inline constexpr std::string_view kKeyAvailable = "KeyAvailable";
inline constexpr std::string_view kKeyRotated = "KeyRotated";
inline constexpr std::string_view kRotationPending = "RotationPending";
inline constexpr std::string_view kWaitingForWindow = "WaitingForWindow";
inline constexpr std::string_view kRestartingConsumers = "RestartingConsumers";
inline constexpr std::string_view kConsumersHeld = "ConsumersHeld";
inline constexpr std::string_view kHoldEscalated = "HoldEscalated";
inline constexpr std::string_view kInactive = "Inactive";
inline constexpr std::string_view kAsExpected = "AsExpected";
inline constexpr std::string_view kKeySourceUnreachable = "KeySourceUnreachable";
inline constexpr std::string_view kKeySourceRejected = "KeySourceRejected";
inline constexpr std::string_view kKeySourceInvalidResponse = "KeySourceInvalidResponse";
inline constexpr std::string_view kSourceSecretNotFound = "SourceSecretNotFound";
inline constexpr std::string_view kSourceSecretKeyMissing = "SourceSecretKeyMissing";
inline constexpr std::string_view kKeyGenerationFailed = "KeyGenerationFailed";
inline constexpr std::string_view kNoCurrentKey = "NoCurrentKey";
inline constexpr std::string_view kProviderRecovered = "ProviderRecovered";  // an event reason
}  // namespace reason

struct Condition {
  std::string type;
  std::string status;  // "True" | "False" | "Unknown"
  std::string reason;  // CamelCase
  std::string message;
  SystemTime last_transition_time{};
  std::int64_t observed_generation = 0;

  bool operator==(const Condition&) const = default;
};

// Inserts or updates the condition of `condition.type`. lastTransitionTime becomes `now` when the
// condition is new or its status flips; otherwise the stored lastTransitionTime is kept (the one
// passed in `condition` is ignored). Returns true when anything in the list changed, so a caller
// can skip a status write that would change nothing.
bool set_condition(std::vector<Condition>& conditions, Condition condition, SystemTime now);

// Removes the condition of `type`; returns true when one was removed.
bool remove_condition(std::vector<Condition>& conditions, std::string_view type);

// The condition of `type`, or null.
[[nodiscard]] const Condition* find_condition(const std::vector<Condition>& conditions,
                                              std::string_view type);

// True when the condition of `type` exists with status "True".
[[nodiscard]] bool is_condition_true(const std::vector<Condition>& conditions,
                                     std::string_view type);

// {"type","status","reason","message","lastTransitionTime","observedGeneration"}.
[[nodiscard]] nlohmann::json to_json(const Condition& condition);
// Reads one condition; a missing or malformed field gives Error{"InvalidStatus", ...}.
[[nodiscard]] Result<Condition> condition_from_json(const nlohmann::json& json);

}  // namespace keyward::apikey
