#include "sidecar/credentials_loader.h"

#include <utility>

namespace keyward::sidecar {

namespace {

std::string trim_newline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

Result<Credentials> CredentialsLoader::load() const {
  Credentials c;
  const std::pair<const char*, std::string Credentials::*> fields[] = {
      {"apiKey", &Credentials::api_key},
      {"apiSecret", &Credentials::api_secret},
      {"passphrase", &Credentials::passphrase},
      {"username", &Credentials::username},
      {"password", &Credentials::password},
      {"clientId", &Credentials::client_id},
      {"clientSecret", &Credentials::client_secret},
      {"appId", &Credentials::app_id},
      {"appVersion", &Credentials::app_version},
      {"deviceId", &Credentials::device_id}};
  for (const std::string* dir : {&sources_.key_dir, &sources_.credentials_dir}) {
    if (dir->empty()) continue;
    if (!fs_.exists(*dir)) {
      return fail("MissingCredentials",
                  "the credentials directory " + *dir +
                      " does not exist: mount the Secret there or fix --key-dir/--credentials-dir");
    }
    for (const auto& [file, member] : fields) {
      if (!(c.*member).empty()) continue;
      auto value = fs_.read_file(*dir + "/" + file);
      if (!value) {
        if (value.error().reason == "NotFound") continue;
        return fail(value.error().reason, "reading credentials: " + value.error().message);
      }
      c.*member = trim_newline(std::move(*value));
    }
  }
  for (const auto& [file, member] : fields) {
    if ((c.*member).empty()) c.*member = sources_.explicit_values.*member;
  }
  c.key_version = sources_.explicit_values.key_version;
  c.register_secrets(redactor_);
  sources_.explicit_values.register_secrets(redactor_);  // also the values a directory overrode
  return c;
}

}  // namespace keyward::sidecar
