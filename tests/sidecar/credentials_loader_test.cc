#include "sidecar/credentials_loader.h"

#include <gtest/gtest.h>

#include "tests/support/faulty_filesystem.h"

namespace keyward::sidecar {
namespace {

TEST(CredentialsLoaderTest, KeyDirThenCredentialsDirThenExplicitValues) {
  testing::TempDir tmp;
  PosixFilesystem fs;
  ASSERT_TRUE(fs.make_dirs(tmp / "key", 0700));
  ASSERT_TRUE(fs.make_dirs(tmp / "creds", 0700));
  ASSERT_TRUE(fs.write_new_file(tmp / "key/apiKey", "key-from-operator\n", 0600));
  ASSERT_TRUE(fs.write_new_file(tmp / "creds/apiKey", "ignored-key", 0600));
  ASSERT_TRUE(fs.write_new_file(tmp / "creds/username", "alice", 0600));
  ASSERT_TRUE(fs.write_new_file(tmp / "creds/password", "pw-from-secret", 0600));
  Credentials explicit_values;
  explicit_values.password = "pw-from-flag";
  explicit_values.app_id = "Bot";
  Redactor redactor;
  CredentialsLoader loader(fs, {tmp / "key", tmp / "creds", explicit_values}, redactor);
  auto c = loader.load();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->api_key, "key-from-operator") << "trailing newline trimmed, key dir first";
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "pw-from-secret");
  EXPECT_EQ(c->app_id, "Bot");
  EXPECT_EQ(redactor.redact("x key-from-operator pw-from-secret pw-from-flag"),
            "x [REDACTED] [REDACTED] [REDACTED]");
}

TEST(CredentialsLoaderTest, MissingDirectoryIsAClearError) {
  PosixFilesystem fs;
  Redactor redactor;
  CredentialsLoader loader(fs, {"/nonexistent/key", "", {}}, redactor);
  auto c = loader.load();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().reason, "MissingCredentials");
  EXPECT_NE(c.error().message.find("/nonexistent/key"), std::string::npos);
}

// A sealed key Secret mounted as a volume holds an envelope, not a key: refused with what to do,
// never delivered as if it were the key.
TEST(CredentialsLoaderTest, ASealedKeyDirIsRefused) {
  testing::TempDir tmp;
  PosixFilesystem fs;
  ASSERT_TRUE(fs.make_dirs(tmp / "key", 0700));
  ASSERT_TRUE(fs.write_new_file(tmp / "key/apiKey", "kw1.k1.0123456789abcdef.AAAABBBB", 0600));
  Redactor redactor;
  CredentialsLoader loader(fs, {tmp / "key", "", {}}, redactor);
  auto c = loader.load();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().reason, "SealedKey");
  EXPECT_NE(c.error().message.find("--key-from-broker"), std::string::npos) << c.error().message;
}

// The broker's key, when given, is the only source: version and active come with it.
TEST(CredentialsLoaderTest, TheBrokersKeyReplacesTheDirectories) {
  PosixFilesystem fs;
  Redactor redactor;
  std::optional<BrokerKey> delivered;
  CredentialSources sources{"/nonexistent/key", "/nonexistent/creds", {}};
  sources.broker_key = [&] { return delivered; };
  CredentialsLoader loader(fs, sources, redactor);
  auto none = loader.load();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().reason, "MissingCredentials");
  BrokerKey key;
  key.key_version = 4;
  key.active = false;
  key.fields = {{"apiKey", "nt_delivered-by-broker"}, {"username", "alice"}};
  delivered = key;
  auto c = loader.load();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->api_key, "nt_delivered-by-broker");
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->key_version, 4);
  EXPECT_FALSE(c->active);
  EXPECT_EQ(redactor.redact("nt_delivered-by-broker"), "[REDACTED]");
}

}  // namespace
}  // namespace keyward::sidecar
