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

}  // namespace
}  // namespace keyward::sidecar
