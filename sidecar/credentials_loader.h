#pragma once
// Reads login material from mounted Secret directories (one file per field, the kubelet's
// layout: <dir>/apiKey -> ..data/apiKey) and from settings. Field names per docs/contracts.md:
// apiKey, apiSecret, passphrase, username, password, clientId, clientSecret, appId,
// appVersion, deviceId. Later sources fill only fields the earlier ones left empty:
// key dir, then credentials dir, then the explicit values. Every secret read is registered with
// the redactor at once.

#include <optional>
#include <string>

#include "common/core/log.h"
#include "common/io/filesystem.h"
#include "common/token/access_token.h"

namespace keyward::sidecar {

struct CredentialSources {
  std::string key_dir;          // the operator's key Secret; empty: none
  std::string credentials_dir;  // the user's login Secret; empty: none
  Credentials explicit_values;  // from flags / config file / environment
};

class CredentialsLoader {
 public:
  CredentialsLoader(const Filesystem& fs, CredentialSources sources, Redactor& redactor)
      : fs_(fs), sources_(std::move(sources)), redactor_(redactor) {}
  Result<Credentials> load() const;
  [[nodiscard]] const CredentialSources& sources() const { return sources_; }

 private:
  const Filesystem& fs_;
  CredentialSources sources_;
  Redactor& redactor_;
};

}  // namespace keyward::sidecar
