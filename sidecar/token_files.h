#pragma once
// The files the sidecar delivers on the shared tmpfs (docs/contracts.md, "Token directory"):
//   token       the raw access token, no newline (empty while Expired or Inactive)
//   token.json  {"accessToken","mdAccessToken"?,"expirationTime","issuedAt","keyVersion",
//                "provider","state","credentialsFingerprint"?}
//   token.env   NAME='value' lines any POSIX shell can source ('  is written as  '\'' )
//   apiKey, apiSecret, passphrase   provider none: each field of the key material (those it has)
// TokenFileWriter renders them and replaces them together through the AtomicWriter;
// read_token_record() reads token.json back (restart reuse, the exec shim).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/io/atomic_writer.h"
#include "common/io/filesystem.h"
#include "common/token/access_token.h"

namespace keyward::sidecar {

enum class TokenState { Valid, Expired, Inactive, Revoked };
std::string to_string(TokenState state);

struct TokenRecord {
  AccessToken token;
  TokenState state = TokenState::Valid;
  std::string credentials_fingerprint;  // direct mode: which credentials issued it
};

struct TokenFileNames {
  std::string token_file = "token";
  std::string env_var = "KEYWARD_ACCESS_TOKEN";  // the CRD default
};

// Single-quotes a value for a POSIX shell: ' becomes '\''.
std::string shell_quote(const std::string& value);
// Parses lines written by render_env (NAME='value' with '\'' escapes); other lines are errors.
Result<std::vector<std::pair<std::string, std::string>>> parse_env_file(const std::string& text);

std::vector<PayloadFile> render_token_files(const TokenRecord& record, const TokenFileNames& names);

class TokenFileWriter {
 public:
  TokenFileWriter(AtomicWriter& writer, TokenFileNames names)
      : writer_(writer), names_(std::move(names)) {}
  Status write(const TokenRecord& record) {
    return writer_.write(render_token_files(record, names_));
  }
  [[nodiscard]] const std::string& dir() const { return writer_.target_dir(); }
  [[nodiscard]] const TokenFileNames& names() const { return names_; }

 private:
  AtomicWriter& writer_;
  TokenFileNames names_;
};

// token.json of an earlier run; NotFound when there is none, InvalidTokenFile when unreadable.
Result<TokenRecord> read_token_record(const Filesystem& fs, const std::string& dir);

}  // namespace keyward::sidecar
