#include "sidecar/token_files.h"

#include <nlohmann/json.hpp>

namespace keyward::sidecar {
namespace {

constexpr std::string_view kKeyDeliveryProvider = "none";  // StaticKeyProvider::name()

}  // namespace

std::string to_string(TokenState state) {
  switch (state) {
    case TokenState::Valid:
      return "Valid";
    case TokenState::Expired:
      return "Expired";
    case TokenState::Inactive:
      return "Inactive";
    case TokenState::Revoked:
      return "Revoked";
  }
  return "Expired";
}

std::string shell_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  out += "'";
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_env_file(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    auto eol = text.find('\n', pos);
    // A quoted value may contain newlines: find the line's end after the closing quote.
    const auto eq = text.find('=', pos);
    if (eq == std::string::npos || (eol != std::string::npos && eq > eol)) {
      return fail("InvalidTokenFile",
                  "token.env line " + std::to_string(line_no) + " has no NAME=");
    }
    std::string name = text.substr(pos, eq - pos);
    std::size_t i = eq + 1;
    std::string value;
    while (i < text.size() && text[i] == '\'') {
      const auto close = text.find('\'', i + 1);
      if (close == std::string::npos) {
        return fail("InvalidTokenFile",
                    "token.env line " + std::to_string(line_no) + " has an unclosed quote");
      }
      value += text.substr(i + 1, close - i - 1);
      i = close + 1;
      if (text.compare(i, 3, "\\''") == 0) {  // '\'' : an escaped quote, then a new quoted part
        value.push_back('\'');
        i += 2;
      }
    }
    if (i < text.size() && text[i] != '\n') {
      return fail("InvalidTokenFile",
                  "token.env line " + std::to_string(line_no) + " is not NAME='value'");
    }
    out.emplace_back(std::move(name), std::move(value));
    pos = i + 1;
  }
  return out;
}

std::vector<PayloadFile> render_token_files(const TokenRecord& r, const TokenFileNames& names) {
  const bool live = r.state == TokenState::Valid;
  const AccessToken& t = r.token;
  nlohmann::json j;
  j["accessToken"] = live ? t.token : "";
  if (live && !t.md_token.empty()) j["mdAccessToken"] = t.md_token;
  j["expirationTime"] =
      t.expires() ? nlohmann::json(format_rfc3339(t.expires_at)) : nlohmann::json(nullptr);
  j["issuedAt"] = t.issued_at == SystemTime{} ? nlohmann::json(nullptr)
                                              : nlohmann::json(format_rfc3339(t.issued_at));
  j["keyVersion"] = t.key_version;
  j["provider"] = t.provider;
  j["state"] = to_string(r.state);
  if (!t.user_id.empty()) j["userId"] = t.user_id;
  if (!r.credentials_fingerprint.empty()) j["credentialsFingerprint"] = r.credentials_fingerprint;
  if (live && !t.api_secret.empty()) j["apiSecret"] = t.api_secret;
  if (live && !t.passphrase.empty()) j["passphrase"] = t.passphrase;

  std::string env;
  env += names.env_var + "=" + shell_quote(live ? t.token : "") + "\n";
  if (live && !t.md_token.empty())
    env += "KEYWARD_MD_ACCESS_TOKEN=" + shell_quote(t.md_token) + "\n";
  if (live && !t.api_secret.empty())
    env += names.env_var + "_SECRET=" + shell_quote(t.api_secret) + "\n";
  if (live && !t.passphrase.empty())
    env += names.env_var + "_PASSPHRASE=" + shell_quote(t.passphrase) + "\n";
  env +=
      "KEYWARD_TOKEN_EXPIRES_AT=" + shell_quote(t.expires() ? format_rfc3339(t.expires_at) : "") +
      "\n";
  env += "KEYWARD_TOKEN_STATE=" + shell_quote(to_string(r.state)) + "\n";

  std::vector<PayloadFile> files{{names.token_file, live ? t.token : "", 0640},
                                 {"token.json", j.dump() + "\n", 0640},
                                 {"token.env", env, 0640}};
  if (t.provider == kKeyDeliveryProvider) {
    // Provider none delivers the key material itself: each field as its own file too, switched
    // with the others in the same ..data swap (absent while nothing is delivered).
    const std::pair<const char*, const std::string*> fields[] = {
        {"apiKey", &t.token}, {"apiSecret", &t.api_secret}, {"passphrase", &t.passphrase}};
    for (const auto& [file, value] : fields) {
      if (value->empty() || file == names.token_file) continue;
      files.push_back({file, live ? *value : "", 0640});
    }
  }
  return files;
}

Result<TokenRecord> read_token_record(const Filesystem& fs, const std::string& dir) {
  const std::string path = dir + "/token.json";
  auto text = fs.read_file(path);
  if (!text) return fail(text.error());
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail("InvalidTokenFile", path + " is not a JSON object; it will be rewritten");
  }
  try {
    TokenRecord r;
    r.token.token = j.value("accessToken", std::string());
    r.token.md_token = j.value("mdAccessToken", std::string());
    r.token.provider = j.value("provider", std::string());
    r.token.key_version = j.value("keyVersion", std::int64_t{0});
    r.token.user_id = j.value("userId", std::string());
    r.token.api_secret = j.value("apiSecret", std::string());
    r.token.passphrase = j.value("passphrase", std::string());
    r.credentials_fingerprint = j.value("credentialsFingerprint", std::string());
    if (j.contains("expirationTime") && j["expirationTime"].is_string()) {
      auto expires = parse_rfc3339(j["expirationTime"].get<std::string>());
      if (!expires) {
        return fail("InvalidTokenFile", path + " has an expirationTime that is not RFC 3339");
      }
      r.token.expires_at = *expires;
    }
    if (j.contains("issuedAt") && j["issuedAt"].is_string()) {
      if (auto issued = parse_rfc3339(j["issuedAt"].get<std::string>())) {
        r.token.issued_at = *issued;
      }
    }
    const std::string state = j.value("state", std::string());
    if (state == "Valid")
      r.state = TokenState::Valid;
    else if (state == "Inactive")
      r.state = TokenState::Inactive;
    else if (state == "Revoked")
      r.state = TokenState::Revoked;
    else
      r.state = TokenState::Expired;
    return r;
  } catch (const nlohmann::json::exception& e) {
    return fail("InvalidTokenFile", path + " has a field of the wrong type (" + e.what() + ")");
  }
}

}  // namespace keyward::sidecar
