#include "common/io/config_resolver.h"

#include <yaml-cpp/yaml.h>

namespace keyward {

std::string to_string(SettingSource source) {
  switch (source) {
    case SettingSource::Default:
      return "default";
    case SettingSource::Environment:
      return "environment";
    case SettingSource::ConfigFile:
      return "config file";
    case SettingSource::Flag:
      return "flag";
  }
  return "default";
}

std::optional<std::string> ResolvedSettings::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.value;
}

std::string ResolvedSettings::get_or(const std::string& name, const std::string& fallback) const {
  auto v = get(name);
  return v ? *v : fallback;
}

bool ResolvedSettings::flag(const std::string& name) const {
  return get_or(name, "false") == "true";
}

std::optional<SettingSource> ResolvedSettings::source(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.source;
}

std::string ResolvedSettings::where(const std::string& name) const {
  for (const auto& s : specs_) {
    if (s.name != name) continue;
    auto src = source(name);
    if (!src) return name + " (not set)";
    switch (*src) {
      case SettingSource::Flag:
        return name + " (flag " + s.flag + ")";
      case SettingSource::ConfigFile:
        return name + " (config file key " + s.config_key + ")";
      case SettingSource::Environment:
        return name + " (environment " + s.env_var + ")";
      case SettingSource::Default:
        return name + " (default)";
    }
  }
  return name;
}

nlohmann::json ResolvedSettings::describe() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : specs_) {
    auto it = values_.find(s.name);
    if (it == values_.end()) continue;
    out.push_back({{"setting", s.name}, {"source", to_string(it->second.source)}});
  }
  return out;
}

ConfigResolver::ConfigResolver(std::vector<SettingSpec> specs) : specs_(std::move(specs)) {}

const SettingSpec* ConfigResolver::by_flag(const std::string& flag) const {
  for (const auto& s : specs_) {
    if (!s.flag.empty() && s.flag == flag) return &s;
  }
  return nullptr;
}

Result<FlagValues> ConfigResolver::parse_flags(const std::vector<std::string>& args,
                                               std::vector<std::string>* rest) const {
  FlagValues out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      if (rest) rest->assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (!arg.starts_with("--")) {
      return fail("InvalidFlag", "unexpected argument '" + arg + "': flags look like --name value");
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const SettingSpec* spec = by_flag(name);
    if (!spec) return fail("InvalidFlag", "unknown flag " + name + ": see --help for the flags");
    if (spec->boolean) {
      if (!value) value = "true";
      if (*value != "true" && *value != "false") {
        return fail("InvalidFlag", "flag " + name + " takes no value (or =true / =false)");
      }
    } else if (!value) {
      if (i + 1 >= args.size() || args[i + 1] == "--") {
        return fail("InvalidFlag", "flag " + name + " needs a value: " + name + " VALUE");
      }
      value = args[++i];
    }
    auto [it, inserted] = out.emplace(name, *value);
    if (!inserted && it->second != *value) {
      return fail("ContradictorySettings",
                  "flag " + name + " is given twice with different values; give it once");
    }
  }
  return out;
}

namespace {

Result<std::map<std::string, std::string>> load_yaml(const std::string& text,
                                                     const std::string& name) {
  std::map<std::string, std::string> out;
  if (text.empty()) return out;
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return out;
    if (!root.IsMap()) {
      return fail("InvalidConfig", "config file " + name + " must be a YAML mapping of key: value");
    }
    for (const auto& kv : root) {
      const auto key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) {
        return fail("InvalidConfig",
                    "config file " + name + ": key " + key + " must have a scalar value");
      }
      out[key] = kv.second.as<std::string>();
    }
  } catch (const YAML::Exception& e) {
    return fail("InvalidConfig", "config file " + name + " is not valid YAML: " + e.what());
  }
  return out;
}

}  // namespace

Result<ResolvedSettings> ConfigResolver::resolve(const FlagValues& flags,
                                                 const std::string& config_yaml,
                                                 const std::string& config_name,
                                                 const Environment& env) const {
  auto file = load_yaml(config_yaml, config_name);
  if (!file) return fail(file.error());
  for (const auto& [key, value] : *file) {
    bool known = false;
    for (const auto& s : specs_) known = known || (!s.config_key.empty() && s.config_key == key);
    if (!known) {
      return fail("InvalidConfig", "config file " + config_name + " has an unknown key '" + key +
                                       "': check its spelling against docs/sidecar.md");
    }
  }
  ResolvedSettings out;
  out.specs_ = specs_;
  for (const auto& s : specs_) {
    std::optional<ResolvedSettings::Value> v;
    std::string where;
    if (!s.flag.empty()) {
      if (auto it = flags.find(s.flag); it != flags.end()) {
        v = ResolvedSettings::Value{it->second, SettingSource::Flag};
        where = "flag " + s.flag;
      }
    }
    if (!v && !s.config_key.empty()) {
      if (auto it = file->find(s.config_key); it != file->end()) {
        v = ResolvedSettings::Value{it->second, SettingSource::ConfigFile};
        where = "config file " + config_name + " key " + s.config_key;
      }
    }
    if (!v && !s.env_var.empty()) {
      if (auto it = env.find(s.env_var); it != env.end() && !it->second.empty()) {
        v = ResolvedSettings::Value{it->second, SettingSource::Environment};
        where = "environment variable " + s.env_var;
      }
    }
    if (!v && s.default_value) {
      v = ResolvedSettings::Value{*s.default_value, SettingSource::Default};
      where = "default";
    }
    if (!v) {
      if (s.required) {
        std::vector<std::string> ways;
        if (!s.flag.empty()) ways.push_back("flag " + s.flag);
        if (!s.config_key.empty()) ways.push_back("config key " + s.config_key);
        if (!s.env_var.empty()) ways.push_back("environment variable " + s.env_var);
        std::string list;
        for (std::size_t i = 0; i < ways.size(); ++i) list += (i ? ", " : "") + ways[i];
        return fail("MissingSetting", "setting " + s.name + " is required: set it with " + list);
      }
      continue;
    }
    if (s.boolean && v->value != "true" && v->value != "false") {
      return fail("InvalidSetting",
                  "setting " + s.name + " from " + where + " must be true or false");
    }
    if (s.validator) {
      if (auto check = s.validator(v->value); !check) {
        // The value itself is shown only for settings that are not secret.
        const std::string shown = s.secret ? "" : " ('" + v->value + "')";
        return fail("InvalidSetting",
                    "setting " + s.name + " from " + where + shown + ": " + check.error().message);
      }
    }
    out.values_.emplace(s.name, std::move(*v));
  }
  return out;
}

Environment environment_from(char** envp) {
  Environment env;
  for (char** p = envp; p && *p; ++p) {
    std::string_view entry(*p);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

}  // namespace keyward
