#include "operator/webhook/server_version.h"

#include <cctype>
#include <charconv>

namespace keyward::webhook {
namespace {

// Leading decimal digits of text as an int, or -1.
int leading_number(std::string_view text) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data()) return -1;
  return value;
}

}  // namespace

Result<ServerVersion> parse_server_version(std::string_view text) {
  std::string_view t = text;
  if (!t.empty() && (t.front() == 'v' || t.front() == 'V')) t.remove_prefix(1);
  auto dot = t.find('.');
  if (dot == std::string_view::npos) {
    return fail("InvalidServerVersion",
                "server version '" + std::string(text) +
                    "' is not MAJOR.MINOR; pass e.g. --server-version 1.30");
  }
  int major = leading_number(t.substr(0, dot));
  int minor = leading_number(t.substr(dot + 1));
  if (major < 0 || minor < 0) {
    return fail("InvalidServerVersion",
                "server version '" + std::string(text) +
                    "' is not MAJOR.MINOR; pass e.g. --server-version 1.30");
  }
  return ServerVersion{major, minor};
}

Result<ServerVersion> server_version_from_json(const nlohmann::json& version) {
  if (version.is_object()) {
    auto major = version.find("major");
    auto minor = version.find("minor");
    if (major != version.end() && minor != version.end() && major->is_string() &&
        minor->is_string()) {
      int ma = leading_number(major->get_ref<const std::string&>());
      int mi = leading_number(minor->get_ref<const std::string&>());
      if (ma >= 0 && mi >= 0) return ServerVersion{ma, mi};
    }
    auto git = version.find("gitVersion");
    if (git != version.end() && git->is_string())
      return parse_server_version(git->get<std::string>());
  }
  return fail("InvalidServerVersion",
              "the API server's /version answer has neither major/minor nor gitVersion");
}

}  // namespace keyward::webhook
