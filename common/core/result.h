#pragma once
// One error style for every module boundary: Result<T> = std::expected<T, Error>.
// Error::reason is CamelCase and doubles as a condition reason and an event reason
// (for example "Conflict", "Unreachable", "InvalidKubeconfig", "ProviderPenalty").
// Error::message is for people: it says what is wrong and what to do, and never holds a secret.
// Library exceptions (nlohmann::json, yaml-cpp, std::filesystem) are caught where the library
// is called and turned into an Error there.

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <utility>

namespace keyward {

struct Error {
  std::string reason;   // CamelCase, machine readable
  std::string message;  // one line for people: what is wrong, where, what to do
  int http_status = 0;  // the HTTP status behind the error, 0 when none
  // How long the other side asked us to wait (Retry-After, a provider's lockout end): the
  // caller waits exactly this long instead of its own backoff. nullopt: its own backoff.
  std::optional<std::chrono::seconds> retry_after{};

  [[nodiscard]] std::string to_string() const { return reason + ": " + message; }
};

template <class T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

[[nodiscard]] inline std::unexpected<Error> fail(std::string reason, std::string message,
                                                 int http_status = 0) {
  return std::unexpected<Error>(Error{std::move(reason), std::move(message), http_status});
}

[[nodiscard]] inline std::unexpected<Error> fail(Error error) {
  return std::unexpected<Error>(std::move(error));
}

inline Status ok() { return {}; }

}  // namespace keyward
