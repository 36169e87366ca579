#include "sidecar/sidecar_config.h"

#include <gtest/gtest.h>

namespace keyward::sidecar {
namespace {

Result<SidecarConfig> resolve(const std::vector<std::string>& args, const Environment& env = {},
                              const std::string& file = "") {
  return resolve_sidecar_config(args, env, "bot-7c9-x2",
                                [file](const std::string& path) -> Result<std::string> {
                                  if (file.empty())
                                    return fail("NotFound", "opening " + path + " failed");
                                  return file;
                                });
}

TEST(SidecarConfigTest, BrokerModeAsTheWebhookRendersIt) {
  auto c =
      resolve({"--mode", "broker", "--apikey", "alpha-bot", "--namespace", "bots", "--out",
               "/var/run/keyward/tokens", "--broker-url",
               "https://keyward-broker.keyward-system.svc:8443", "--listen", "127.0.0.1:9090"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->mode, Mode::Broker);
  EXPECT_EQ(c->listen_port, 9090);
  EXPECT_EQ(c->credentials.device_id, "keyward-bot-7c9-x2");
}

TEST(SidecarConfigTest, PrecedenceFlagOverConfigFileOverEnvironment) {
  auto c = resolve({"--config", "/etc/k.yaml", "--refresh-lead-seconds", "600"},
                   {{"KEYWARD_REFRESH_LEAD_SECONDS", "60"},
                    {"KEYWARD_PROVIDER", "none"},
                    {"KEYWARD_API_KEY", "key-from-env"},
                    {"KEYWARD_OUT", "/env/out"}},
                   "refreshLeadSeconds: 120\nout: /dev/shm/keyward\nenvVarName: EXCHANGE_KEY\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->refresh_lead, Seconds(600));
  EXPECT_EQ(c->out_dir, "/dev/shm/keyward");
  EXPECT_EQ(c->env_var_name, "EXCHANGE_KEY");
  EXPECT_EQ(c->credentials.api_key, "key-from-env");
  const std::string sources = c->sources.dump();
  EXPECT_NE(sources.find(R"({"setting":"refresh-lead-seconds","source":"flag"})"),
            std::string::npos);
  EXPECT_NE(sources.find(R"({"setting":"out","source":"config file"})"), std::string::npos);
  EXPECT_NE(sources.find(R"({"setting":"api-key","source":"environment"})"), std::string::npos);
  EXPECT_EQ(sources.find("key-from-env"), std::string::npos);
}

TEST(SidecarConfigTest, ContradictionsAndMissingSettingsAreOneClearLine) {
  auto broker_with_provider = resolve({"--mode", "broker", "--apikey", "a", "--namespace", "n",
                                       "--broker-url", "https://b", "--provider", "tradovate"});
  ASSERT_FALSE(broker_with_provider);
  EXPECT_EQ(broker_with_provider.error().reason, "ContradictorySettings");
  EXPECT_EQ(broker_with_provider.error().message,
            "setting provider (flag --provider) contradicts mode (flag --mode): in broker mode the "
            "operator's broker talks to the provider; drop provider or use --mode direct");

  auto env_contradiction = resolve({"--broker-url", "https://b"}, {{"KEYWARD_MODE", "direct"}});
  ASSERT_FALSE(env_contradiction);
  EXPECT_NE(env_contradiction.error().message.find("mode (environment KEYWARD_MODE)"),
            std::string::npos)
      << env_contradiction.error().message;

  auto no_broker = resolve({"--mode", "broker", "--apikey", "a", "--namespace", "n"});
  ASSERT_FALSE(no_broker);
  EXPECT_EQ(no_broker.error().reason, "MissingSetting");
  EXPECT_NE(no_broker.error().message.find("broker-url"), std::string::npos);

  auto no_endpoint = resolve({"--provider", "tradovate", "--key-dir", "/k"});
  ASSERT_FALSE(no_endpoint);
  EXPECT_NE(no_endpoint.error().message.find("endpoint is required"), std::string::npos);

  auto no_creds =
      resolve({"--provider", "tradovate", "--endpoint", "https://demo.tradovateapi.com/v1"});
  ASSERT_FALSE(no_creds);
  EXPECT_NE(no_creds.error().message.find("no credentials"), std::string::npos);

  auto lead = resolve({"--provider", "none", "--api-key", "k-abcdef", "--lifetime-seconds", "60",
                       "--refresh-lead-seconds", "60"});
  ASSERT_FALSE(lead);
  EXPECT_EQ(lead.error().reason, "ContradictorySettings");
}

// --key-from-broker: direct mode with the broker's URL, and no mounted key material beside it.
TEST(SidecarConfigTest, KeyFromBrokerNeedsTheBrokerAndNoMountedSecrets) {
  auto c = resolve({"--provider", "none", "--apikey", "a", "--namespace", "n", "--report-url",
                    "https://broker:8444", "--key-from-broker", "--recheck-seconds", "5"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->key_from_broker);
  EXPECT_EQ(c->recheck, Seconds(5)) << "rechecking the broker is allowed in direct mode";
  auto no_url = resolve({"--provider", "none", "--key-from-broker"});
  ASSERT_FALSE(no_url);
  EXPECT_NE(no_url.error().message.find("set --report-url"), std::string::npos)
      << no_url.error().message;
  auto with_dir = resolve({"--provider", "none", "--report-url", "https://broker:8444",
                           "--key-from-broker", "--key-dir", "/k"});
  ASSERT_FALSE(with_dir);
  EXPECT_NE(with_dir.error().message.find("drop key-dir"), std::string::npos);
  auto in_broker_mode = resolve({"--mode", "broker", "--apikey", "a", "--namespace", "n",
                                 "--broker-url", "https://b", "--key-from-broker"});
  ASSERT_FALSE(in_broker_mode);
  EXPECT_NE(in_broker_mode.error().message.find("drop key-from-broker"), std::string::npos)
      << in_broker_mode.error().message;
}

TEST(SidecarConfigTest, BadValuesAreRejectedWithTheirSource) {
  auto mode = resolve({"--mode", "sideways"});
  ASSERT_FALSE(mode);
  EXPECT_EQ(mode.error().message,
            "setting mode from flag --mode ('sideways'): must be one of broker | direct | accept");
  auto listen = resolve({"--provider", "none", "--api-key", "k-abcdef", "--listen", "9090"});
  EXPECT_FALSE(listen);
  auto env_name =
      resolve({"--provider", "none", "--api-key", "k-abcdef", "--env-var-name", "BAD-NAME"});
  ASSERT_FALSE(env_name);
  EXPECT_NE(env_name.error().message.find("env-var-name"), std::string::npos);
  auto missing_file = resolve({"--config", "/nope.yaml"});
  ASSERT_FALSE(missing_file);
  EXPECT_NE(missing_file.error().message.find("/nope.yaml"), std::string::npos);
  auto typo = resolve({"--config", "/k.yaml"}, {}, "provder: none\n");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("unknown key 'provder'"), std::string::npos);
}

TEST(SidecarConfigTest, ListenOffAndOnce) {
  auto c = resolve({"--provider", "none", "--api-key", "k-abcdef", "--listen", "off", "--once"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->listen_port, -1);
  EXPECT_TRUE(c->once);
}

TEST(SidecarConfigAcceptMode, NeedsTheBrokerAndRefusesKeyAndTokenSettings) {
  auto read = [](const std::string&) -> Result<std::string> { return fail("NotFound", "none"); };
  auto good = resolve_sidecar_config({"--mode", "accept", "--apikey", "gamma,delta", "--namespace",
                                      "bots", "--broker-url", "https://b:8444", "--out", "/tmp/a"},
                                     {}, "host", read);
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(good->mode, Mode::Accept);
  EXPECT_EQ(good->apikey, "gamma,delta");
  auto no_broker = resolve_sidecar_config(
      {"--mode", "accept", "--apikey", "gamma", "--namespace", "bots", "--out", "/tmp/a"}, {},
      "host", read);
  ASSERT_FALSE(no_broker);
  EXPECT_NE(no_broker.error().message.find("broker-url"), std::string::npos);
  auto with_key = resolve_sidecar_config(
      {"--mode", "accept", "--apikey", "gamma", "--namespace", "bots", "--broker-url",
       "https://b:8444", "--out", "/tmp/a", "--key-dir", "/k"},
      {}, "host", read);
  ASSERT_FALSE(with_key);
  EXPECT_EQ(with_key.error().reason, "ContradictorySettings");
  EXPECT_NE(with_key.error().message.find("key-dir"), std::string::npos);
}

}  // namespace
}  // namespace keyward::sidecar
