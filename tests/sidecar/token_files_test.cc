#include "sidecar/token_files.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "tests/support/fake_clock.h"
#include "tests/support/faulty_filesystem.h"

namespace keyward::sidecar {
namespace {

AccessToken sample() {
  AccessToken t;
  t.token = "tok-it's \"quoted\" $HOME `x`";
  t.md_token = "md-abcdef";
  t.expires_at = parse_rfc3339("2027-01-15T12:00:00Z").value();
  t.issued_at = parse_rfc3339("2027-01-15T10:30:00Z").value();
  t.key_version = 7;
  t.provider = "tradovate";
  return t;
}

std::string run_shell(const std::string& script) {
  std::string out;
  FILE* p = ::popen(script.c_str(), "r");
  if (!p) return "<popen failed>";
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  return out;
}

TEST(TokenFilesTest, RendersTheContractFiles) {
  auto files =
      render_token_files({sample(), TokenState::Valid, "fp"}, {"token", "TRADOVATE_ACCESS_TOKEN"});
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].name, "token");
  EXPECT_EQ(files[0].content, sample().token) << "raw, no newline";
  auto j = nlohmann::json::parse(files[1].content);
  EXPECT_EQ(j["accessToken"], sample().token);
  EXPECT_EQ(j["mdAccessToken"], "md-abcdef");
  EXPECT_EQ(j["expirationTime"], "2027-01-15T12:00:00Z");
  EXPECT_EQ(j["issuedAt"], "2027-01-15T10:30:00Z");
  EXPECT_EQ(j["keyVersion"], 7);
  EXPECT_EQ(j["provider"], "tradovate");
  EXPECT_EQ(j["state"], "Valid");
  for (const auto& f : files) EXPECT_EQ(f.mode, 0640u);
}

TEST(TokenFilesTest, EnvFileIsSourceableByAPosixShell) {
  testing::TempDir tmp;
  PosixFilesystem fs;
  auto files = render_token_files({sample(), TokenState::Valid, ""}, {"token", "MY_TOKEN"});
  ASSERT_TRUE(fs.write_new_file(tmp / "token.env", files[2].content, 0640));
  const std::string got =
      run_shell("sh -c '. " + (tmp / "token.env") +
                " && printf %s \"$MY_TOKEN|$KEYWARD_TOKEN_EXPIRES_AT|$KEYWARD_TOKEN_STATE\"'");
  EXPECT_EQ(got, sample().token + "|2027-01-15T12:00:00Z|Valid");
}

TEST(TokenFilesTest, EnvFileRoundTripsThroughTheParser) {
  auto files = render_token_files({sample(), TokenState::Valid, ""}, {"token", "MY_TOKEN"});
  auto vars = parse_env_file(files[2].content);
  ASSERT_TRUE(vars) << vars.error().message;
  EXPECT_EQ(vars->at(0), (std::pair<std::string, std::string>{"MY_TOKEN", sample().token}));
  EXPECT_EQ(shell_quote("a'b"), "'a'\\''b'");
  EXPECT_FALSE(parse_env_file("X='unclosed\n"));
  EXPECT_FALSE(parse_env_file("no equals\n"));
}

TEST(TokenFilesTest, ExpiredAndInactiveFilesCarryNoToken) {
  for (TokenState st : {TokenState::Expired, TokenState::Inactive}) {
    auto files = render_token_files({sample(), st, ""}, {"token", "T"});
    EXPECT_EQ(files[0].content, "");
    auto j = nlohmann::json::parse(files[1].content);
    EXPECT_EQ(j["accessToken"], "");
    EXPECT_FALSE(j.contains("mdAccessToken"));
    EXPECT_EQ(j["state"], to_string(st));
    EXPECT_EQ(files[2].content.find("tok-"), std::string::npos);
  }
}

TEST(TokenFilesTest, StaticKeyHasNoExpiryAndCarriesCompanions) {
  AccessToken t;
  t.token = "key-abcdef";
  t.api_secret = "sec-abcdef";
  t.passphrase = "pp-abcdef";
  t.provider = "none";
  auto files = render_token_files({t, TokenState::Valid, ""}, {"token", "EXCHANGE_KEY"});
  auto j = nlohmann::json::parse(files[1].content);
  EXPECT_TRUE(j["expirationTime"].is_null());
  EXPECT_EQ(j["apiSecret"], "sec-abcdef");
  EXPECT_NE(files[2].content.find("EXCHANGE_KEY_SECRET='sec-abcdef'"), std::string::npos);
  EXPECT_NE(files[2].content.find("EXCHANGE_KEY_PASSPHRASE='pp-abcdef'"), std::string::npos);
}

TEST(TokenFilesTest, KeyPairFieldsAreFilesSwitchedTogether) {
  testing::TempDir tmp;
  testing::FaultyFilesystem fs;
  keyward::testing::FakeClock clock;
  AtomicWriter writer(fs, clock, tmp / "t", make_null_logger());
  TokenFileWriter files(writer, {"token", "EXCHANGE_KEY"});
  AccessToken v1;
  v1.token = "key-one-abcdef";
  v1.api_secret = "sec-one-abcdef";
  v1.passphrase = "pp-one-abcdef";
  v1.provider = "none";
  v1.key_version = 1;
  ASSERT_TRUE(files.write({v1, TokenState::Valid, ""}));
  EXPECT_EQ(*fs.read_file(tmp / "t/apiKey"), "key-one-abcdef");
  EXPECT_EQ(*fs.read_file(tmp / "t/apiSecret"), "sec-one-abcdef");
  EXPECT_EQ(*fs.read_file(tmp / "t/passphrase"), "pp-one-abcdef");
  // Version 2 of the pair has no passphrase: every file moves in the one swap, and the
  // passphrase of version 1 is gone rather than left beside the new pair.
  AccessToken v2 = v1;
  v2.token = "key-two-abcdef";
  v2.api_secret = "sec-two-abcdef";
  v2.passphrase.clear();
  v2.key_version = 2;
  ASSERT_TRUE(files.write({v2, TokenState::Valid, ""}));
  EXPECT_EQ(*fs.read_file(tmp / "t/apiKey"), "key-two-abcdef");
  EXPECT_EQ(*fs.read_file(tmp / "t/apiSecret"), "sec-two-abcdef");
  EXPECT_FALSE(fs.read_file(tmp / "t/passphrase"));
  EXPECT_NE(fs.read_file(tmp / "t/token.env")->find("EXCHANGE_KEY_SECRET='sec-two-abcdef'"),
            std::string::npos);
  // Inactive: the fields are emptied with the token.
  ASSERT_TRUE(files.write({v2, TokenState::Inactive, ""}));
  EXPECT_EQ(*fs.read_file(tmp / "t/apiSecret"), "");
  // A token of an exchange is no key: no field files.
  AccessToken exchanged;
  exchanged.token = "tok-abcdef";
  exchanged.provider = "tradovate";
  exchanged.api_secret = "sec-abcdef";
  for (const auto& f : render_token_files({exchanged, TokenState::Valid, ""}, {})) {
    EXPECT_NE(f.name, "apiSecret");
    EXPECT_NE(f.name, "apiKey");
  }
}

TEST(TokenFilesTest, ReadsBackWhatItWrote) {
  testing::TempDir tmp;
  testing::FaultyFilesystem fs;
  keyward::testing::FakeClock clock;
  AtomicWriter writer(fs, clock, tmp / "t", make_null_logger());
  TokenFileWriter files(writer, {});
  ASSERT_TRUE(files.write({sample(), TokenState::Valid, "fp123"}));
  auto r = read_token_record(fs, tmp / "t");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->token.token, sample().token);
  EXPECT_EQ(r->token.expires_at, sample().expires_at);
  EXPECT_EQ(r->credentials_fingerprint, "fp123");
  EXPECT_EQ(r->state, TokenState::Valid);
  EXPECT_EQ(read_token_record(fs, tmp / "none").error().reason, "NotFound");
}

}  // namespace
}  // namespace keyward::sidecar
