#include "sidecar/credentials_loader.h"

#include <charconv>
#include <utility>

#include "common/core/sealed_envelope.h"

namespace keyward::sidecar {

namespace {

std::string trim_newline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

Result<Credentials> CredentialsLoader::load() const {
  Credentials c;
  if (sources_.broker_key) {
    const std::optional<BrokerKey> key = sources_.broker_key();
    if (!key) {
      return fail("MissingCredentials",
                  "the operator's broker has not delivered the key yet (GET .../key); the "
                  "sidecar keeps asking");
    }
    for (const auto& [file, member] : login_fields()) {
      if (auto it = key->fields.find(std::string(file)); it != key->fields.end()) {
        c.*member = it->second;
      }
    }
    c.key_version = key->key_version;
    c.active = key->active;
    c.revoked = key->revoked;
    c.register_secrets(redactor_);
    return c;
  }
  for (const std::string* dir : {&sources_.key_dir, &sources_.credentials_dir}) {
    if (dir->empty()) continue;
    if (!fs_.exists(*dir)) {
      return fail("MissingCredentials",
                  "the credentials directory " + *dir +
                      " does not exist: mount the Secret there or fix --key-dir/--credentials-dir");
    }
    for (const auto& [file, member] : login_fields()) {
      if (!(c.*member).empty()) continue;
      auto value = fs_.read_file(*dir + "/" + std::string(file));
      if (!value) {
        if (value.error().reason == "NotFound") continue;
        return fail(value.error().reason, "reading credentials: " + value.error().message);
      }
      c.*member = trim_newline(std::move(*value));
    }
    if (dir == &sources_.key_dir && is_sealed_envelope(c.api_key)) {
      return fail("SealedKey",
                  "the key in " + *dir +
                      "/apiKey is sealed (the operator seals key Secrets with --kek-dir), so it "
                      "cannot be mounted: take the key from the broker instead (--key-from-broker "
                      "with --report-url; the webhook renders it when the operator has a broker)");
    }
  }
  for (const auto& [file, member] : login_fields()) {
    if ((c.*member).empty()) c.*member = sources_.explicit_values.*member;
  }
  c.key_version = sources_.explicit_values.key_version;
  // The operator's key Secret carries the version of apiKey as data.keyVersion (projected as a
  // file beside it, swapped together by the kubelet).
  if (!sources_.key_dir.empty()) {
    auto version = fs_.read_file(sources_.key_dir + "/keyVersion");
    if (version) {
      const std::string text = trim_newline(std::move(*version));
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || p != text.data() + text.size() || v < 0) {
        return fail("MissingCredentials", "the key version in " + sources_.key_dir +
                                              "/keyVersion is not a non-negative integer; it "
                                              "comes from the operator's key Secret");
      }
      c.key_version = v;
    } else if (version.error().reason != "NotFound") {
      return fail(version.error().reason, "reading the key version: " + version.error().message);
    }
    // spec.active, as the operator writes it into the key Secret.
    auto active = fs_.read_file(sources_.key_dir + "/active");
    if (active) {
      const std::string text = trim_newline(std::move(*active));
      if (text != "true" && text != "false") {
        return fail("MissingCredentials", "the active flag in " + sources_.key_dir +
                                              "/active is neither true nor false; it comes "
                                              "from the operator's key Secret");
      }
      c.active = text == "true";
    } else if (active.error().reason != "NotFound") {
      return fail(active.error().reason, "reading the active flag: " + active.error().message);
    }
  }
  c.register_secrets(redactor_);
  sources_.explicit_values.register_secrets(redactor_);  // also the values a directory overrode
  return c;
}

}  // namespace keyward::sidecar
