#include "common/io/config_resolver.h"

#include <gtest/gtest.h>

namespace keyward {
namespace {

std::vector<SettingSpec> specs() {
  std::vector<SettingSpec> s;
  s.push_back({.name = "out",
               .flag = "--out",
               .config_key = "out",
               .env_var = "KEYWARD_OUT",
               .default_value = "/var/run/keyward/tokens"});
  s.push_back({.name = "mode",
               .flag = "--mode",
               .config_key = "mode",
               .env_var = "KEYWARD_MODE",
               .required = true,
               .validator = [](const std::string& v) -> Status {
                 if (v == "broker" || v == "direct") return ok();
                 return fail("InvalidSetting", "must be broker or direct");
               }});
  s.push_back({.name = "password",
               .flag = "--password",
               .config_key = "password",
               .env_var = "KEYWARD_PASSWORD",
               .secret = true,
               .validator = [](const std::string& v) -> Status {
                 if (v.size() >= 8) return ok();
                 return fail("InvalidSetting", "must have at least 8 characters");
               }});
  s.push_back({.name = "once",
               .flag = "--once",
               .config_key = "once",
               .env_var = "KEYWARD_ONCE",
               .boolean = true});
  return s;
}

TEST(ConfigResolverTest, FlagBeatsConfigFileBeatsEnvironmentBeatsDefault) {
  ConfigResolver r(specs());
  auto flags = r.parse_flags({"--mode", "direct"});
  ASSERT_TRUE(flags);
  auto got = r.resolve(*flags, "mode: broker\nout: /dev/shm/t\n", "c.yaml",
                       {{"KEYWARD_MODE", "broker"},
                        {"KEYWARD_OUT", "/env"},
                        {"KEYWARD_PASSWORD", "hunter2hunter2"}});
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got->get("mode"), "direct");
  EXPECT_EQ(*got->source("mode"), SettingSource::Flag);
  EXPECT_EQ(*got->get("out"), "/dev/shm/t");
  EXPECT_EQ(*got->source("out"), SettingSource::ConfigFile);
  EXPECT_EQ(*got->get("password"), "hunter2hunter2");
  EXPECT_EQ(*got->source("password"), SettingSource::Environment);
  EXPECT_FALSE(got->flag("once"));

  auto defaults = r.resolve({}, "", "", {{"KEYWARD_MODE", "broker"}});
  ASSERT_TRUE(defaults);
  EXPECT_EQ(*defaults->get("out"), "/var/run/keyward/tokens");
  EXPECT_EQ(*defaults->source("out"), SettingSource::Default);
}

TEST(ConfigResolverTest, DescribeNamesSourcesButNeverValues) {
  ConfigResolver r(specs());
  auto got =
      r.resolve(*r.parse_flags({"--password=s3cr3t-value", "--mode=direct", "--once"}), "", "", {});
  ASSERT_TRUE(got) << got.error().message;
  const std::string text = got->describe().dump();
  EXPECT_EQ(text.find("s3cr3t-value"), std::string::npos) << text;
  EXPECT_EQ(text.find("direct"), std::string::npos) << "no values at all: " << text;
  EXPECT_NE(text.find(R"({"setting":"password","source":"flag"})"), std::string::npos) << text;
  EXPECT_NE(text.find(R"({"setting":"out","source":"default"})"), std::string::npos) << text;
  EXPECT_TRUE(got->flag("once"));
}

TEST(ConfigResolverTest, MissingRequiredSettingIsOneLineNamingAllWays) {
  ConfigResolver r(specs());
  auto got = r.resolve({}, "", "", {});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().reason, "MissingSetting");
  EXPECT_EQ(got.error().message,
            "setting mode is required: set it with flag --mode, config key mode, environment "
            "variable KEYWARD_MODE");
}

TEST(ConfigResolverTest, InvalidValueNamesSourceAndHidesSecrets) {
  ConfigResolver r(specs());
  auto bad_mode = r.resolve({}, "mode: sideways\n", "/etc/keyward.yaml", {});
  ASSERT_FALSE(bad_mode);
  EXPECT_EQ(bad_mode.error().message,
            "setting mode from config file /etc/keyward.yaml key mode ('sideways'): must be broker "
            "or direct");
  auto bad_secret =
      r.resolve({}, "", "", {{"KEYWARD_MODE", "direct"}, {"KEYWARD_PASSWORD", "short"}});
  ASSERT_FALSE(bad_secret);
  EXPECT_EQ(bad_secret.error().message.find("short"), std::string::npos)
      << bad_secret.error().message;
  EXPECT_NE(bad_secret.error().message.find("environment variable KEYWARD_PASSWORD"),
            std::string::npos);
}

TEST(ConfigResolverTest, ContradictoryAndUnknownInputsAreRejected) {
  ConfigResolver r(specs());
  auto twice = r.parse_flags({"--mode", "direct", "--mode=broker"});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().reason, "ContradictorySettings");
  EXPECT_TRUE(r.parse_flags({"--mode", "direct", "--mode=direct"}));
  EXPECT_EQ(r.parse_flags({"--bogus", "1"}).error().reason, "InvalidFlag");
  EXPECT_EQ(r.parse_flags({"--mode"}).error().reason, "InvalidFlag");
  auto typo = r.resolve({}, "mdoe: direct\n", "c.yaml", {});
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("unknown key 'mdoe'"), std::string::npos);
  auto garbage = r.resolve({}, "mode: [unclosed", "c.yaml", {});
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().reason, "InvalidConfig");
  EXPECT_EQ(r.resolve({}, "- a\n- b\n", "c.yaml", {}).error().reason, "InvalidConfig");
}

TEST(ConfigResolverTest, ArgumentsAfterDoubleDashAreLeftForTheCaller) {
  ConfigResolver r(specs());
  std::vector<std::string> rest;
  auto flags = r.parse_flags({"--out", "/tmp/x", "--", "python", "bot.py", "--mode"}, &rest);
  ASSERT_TRUE(flags);
  EXPECT_EQ(flags->at("--out"), "/tmp/x");
  EXPECT_EQ(rest, (std::vector<std::string>{"python", "bot.py", "--mode"}));
}

TEST(ConfigResolverTest, EnvironmentFromEnvp) {
  std::string a = "A=1", b = "B=x=y", c = "junk";
  char* envp[] = {a.data(), b.data(), c.data(), nullptr};
  auto env = environment_from(envp);
  EXPECT_EQ(env.at("A"), "1");
  EXPECT_EQ(env.at("B"), "x=y");
  EXPECT_EQ(env.size(), 2u);
}

}  // namespace
}  // namespace keyward
