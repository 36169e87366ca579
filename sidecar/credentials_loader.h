#pragma once
// Reads login material from mounted Secret directories (one file per field, the kubelet's
// layout: <dir>/apiKey -> ..data/apiKey) and from settings. Field names per docs/contracts.md:
// apiKey, apiSecret, passphrase, username, password, clientId, clientSecret, appId,
// appVersion, deviceId. Later sources fill only fields the earlier ones left empty:
// the broker's key (direct mode with --key-from-broker), key dir, then credentials dir, then the
// explicit values. A key dir whose apiKey is a sealed envelope is refused with what to do. Every
// secret read is registered with the redactor at once.

#include <functional>
#include <optional>
#include <string>

#include "common/core/log.h"
#include "common/io/filesystem.h"
#include "common/token/access_token.h"
#include "sidecar/broker_key_client.h"

namespace keyward::sidecar {

struct CredentialSources {
  std::string key_dir;          // the operator's key Secret; empty: none
  std::string credentials_dir;  // the user's login Secret; empty: none
  Credentials explicit_values;  // from flags / config file / environment
  // The key material the operator's broker delivered (--key-from-broker), used instead of
  // key_dir and credentials_dir; nullopt from it: nothing delivered yet. Empty: not used.
  std::function<std::optional<BrokerKey>()> broker_key = {};
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
