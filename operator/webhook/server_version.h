#pragma once
// The API server's version as /version reports it ({"major":"1","minor":"29+",
// "gitVersion":"v1.29.3-eks-..."}), reduced to what injection decides on: native sidecars
// (init containers with restartPolicy Always) are on by default from 1.29.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/core/result.h"

namespace keyward::webhook {

struct ServerVersion {
  int major = 1;
  int minor = 0;

  [[nodiscard]] bool supports_native_sidecars() const {
    return major > 1 || (major == 1 && minor >= 29);
  }
  [[nodiscard]] std::string to_string() const {
    return std::to_string(major) + "." + std::to_string(minor);
  }
  bool operator==(const ServerVersion&) const = default;
};

// "1.30", "v1.28.4", "1.29+" -> ServerVersion; Error{"InvalidServerVersion"} otherwise.
Result<ServerVersion> parse_server_version(std::string_view text);

// The /version object; major/minor first (vendors append "+"), gitVersion as a fallback.
Result<ServerVersion> server_version_from_json(const nlohmann::json& version);

}  // namespace keyward::webhook
