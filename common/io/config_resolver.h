#pragma once
// ConfigResolver: one place that turns flags, a YAML config file and the environment into
// validated settings, remembering where each value came from.
//
// Precedence: an explicit flag > the config file > the environment > the declared default.
// The environment is a map the caller passes (main() builds it from envp): nothing here calls
// getenv. describe() gives the startup log a JSON list of {setting, source} and never a value.
// Every problem comes back as one Error whose message names the setting and its sources.

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/core/result.h"

namespace keyward {

enum class SettingSource { Default, Environment, ConfigFile, Flag };
std::string to_string(SettingSource source);

struct SettingSpec {
  std::string name;        // the setting's name in messages: "broker-url"
  std::string flag;        // "--broker-url"; empty: not settable by flag
  std::string config_key;  // "brokerUrl"; empty: not settable in the config file
  std::string env_var;     // "KEYWARD_BROKER_URL"; empty: not settable by environment
  bool required = false;
  bool secret = false;   // the value is never shown (describe() shows only the source)
  bool boolean = false;  // a flag without a value ("--once"); values "true"/"false"
  std::optional<std::string> default_value{};
  // Checks one value; the Error's message says what is wrong with it (the resolver adds the
  // setting's name and source).
  std::function<Status(const std::string&)> validator{};
};

// Flags as parsed from argv: name ("--out") -> value ("true" for boolean flags).
using FlagValues = std::map<std::string, std::string>;
using Environment = std::map<std::string, std::string>;

class ResolvedSettings {
 public:
  struct Value {
    std::string value;
    SettingSource source;
  };

  [[nodiscard]] std::optional<std::string> get(const std::string& name) const;
  [[nodiscard]] std::string get_or(const std::string& name, const std::string& fallback) const;
  [[nodiscard]] bool flag(const std::string& name) const;  // a boolean setting
  [[nodiscard]] std::optional<SettingSource> source(const std::string& name) const;
  [[nodiscard]] bool has(const std::string& name) const { return values_.contains(name); }
  // "broker-url (flag --broker-url)" for messages about contradictions.
  [[nodiscard]] std::string where(const std::string& name) const;
  // [{"setting": "...", "source": "flag"}...] in declaration order; no values.
  [[nodiscard]] nlohmann::json describe() const;

 private:
  friend class ConfigResolver;
  std::vector<SettingSpec> specs_;
  std::map<std::string, Value> values_;
};

class ConfigResolver {
 public:
  explicit ConfigResolver(std::vector<SettingSpec> specs);

  // Splits argv-style arguments into flag values. Accepts "--name value" and "--name=value";
  // boolean flags take no value. Unknown flags, a missing value, or one flag given twice with
  // different values are errors. Arguments after "--" are returned in rest (if not null).
  [[nodiscard]] Result<FlagValues> parse_flags(const std::vector<std::string>& args,
                                               std::vector<std::string>* rest = nullptr) const;

  // config_yaml: the config file's text (empty: no file); config_name names it in messages.
  // Unknown config keys are errors (a typo must not be silently ignored).
  [[nodiscard]] Result<ResolvedSettings> resolve(const FlagValues& flags,
                                                 const std::string& config_yaml,
                                                 const std::string& config_name,
                                                 const Environment& env) const;

  [[nodiscard]] const std::vector<SettingSpec>& specs() const { return specs_; }

 private:
  const SettingSpec* by_flag(const std::string& flag) const;
  std::vector<SettingSpec> specs_;
};

// Environment from main()'s envp ("NAME=value" strings).
Environment environment_from(char** envp);

}  // namespace keyward
