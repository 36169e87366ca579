#include "common/io/atomic_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/io/unique_fd.h"
#include "tests/support/fake_clock.h"
#include "tests/support/faulty_filesystem.h"

namespace keyward {
namespace {

using testing::FaultyFilesystem;
using testing::TempDir;

std::string slurp(const std::string& path) {
  PosixFilesystem fs;
  auto r = fs.read_file(path);
  return r ? *r : "<missing: " + r.error().message + ">";
}

std::vector<PayloadFile> payload(int version) {
  // Large enough that a torn write would be visible.
  const std::string token = "tok-" + std::to_string(version) + "-" + std::string(8000, 'x');
  nlohmann::json meta{{"accessToken", token}, {"version", version}};
  return {{"token", token, 0640}, {"token.json", meta.dump(), 0640}};
}

class AtomicWriterTest : public ::testing::Test {
 protected:
  // The version directory ..data points to now, as a reader following the link sees it.
  std::string version_dir() {
    auto link = fs.read_link(dir + "/..data");
    EXPECT_TRUE(link) << link.error().message;
    return link ? dir + "/" + *link : "";
  }
  TempDir tmp;
  FaultyFilesystem fs;
  keyward::testing::FakeClock clock;
  std::string dir = tmp / "tokens";
  AtomicWriter writer{fs, clock, dir, make_null_logger()};
};

TEST_F(AtomicWriterTest, LaysOutVersionDirDataLinkAndTopLevelLinks) {
  ASSERT_TRUE(writer.write(payload(1)));
  PosixFilesystem real;
  auto data = real.read_link(dir + "/..data");
  ASSERT_TRUE(data);
  EXPECT_TRUE(data->starts_with("..20")) << *data;
  EXPECT_EQ(*real.read_link(dir + "/token"), "..data/token");
  EXPECT_EQ(*real.read_link(dir + "/token.json"), "..data/token.json");
  EXPECT_TRUE(slurp(dir + "/token").starts_with("tok-1-"));

  struct stat st {};
  ASSERT_EQ(::stat((dir + "/token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
}

// On the first write every file appears in the same instant: the top-level links exist (and
// dangle) before ..data is switched in, so a reader that sees token.json never misses token.env
// (the exec shim once read token.json, then failed on a token.env link not made yet).
TEST_F(AtomicWriterTest, TheFirstWriteShowsEveryFileAtOnce) {
  bool checked = false;
  fs.on_rename([&](const std::string&, const std::string& to) {
    if (to != dir + "/..data") return;
    checked = true;
    PosixFilesystem real;
    for (const char* name : {"token", "token.json"}) {
      auto link = real.read_link(dir + "/" + name);
      EXPECT_TRUE(link) << name << " is linked only after the switch";
      EXPECT_FALSE(std::filesystem::exists(dir + "/" + name))
          << name << " is readable before the switch";
    }
  });
  ASSERT_TRUE(writer.write(payload(1)));
  EXPECT_TRUE(checked);
  EXPECT_TRUE(slurp(dir + "/token.json").find("\"version\":1") != std::string::npos);
}

TEST_F(AtomicWriterTest, NarrowsModesWiderThan0640) {
  ASSERT_TRUE(writer.write({{"token", "abc", 0666}}));
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST_F(AtomicWriterTest, ReplacesVersionAndRemovesOldDirectory) {
  ASSERT_TRUE(writer.write(payload(1)));
  const auto first = version_dir();
  clock.advance(std::chrono::seconds(2));
  ASSERT_TRUE(writer.write(payload(2)));
  const auto second = version_dir();
  EXPECT_NE(first, second);
  EXPECT_FALSE(fs.exists(first));
  EXPECT_TRUE(slurp(dir + "/token").starts_with("tok-2-"));
  auto names = *fs.list_dir(dir);
  std::set<std::string> got(names.begin(), names.end());
  EXPECT_EQ(got.size(), 4u) << "..data, one version dir, token, token.json";
}

TEST_F(AtomicWriterTest, DropsLinksOfFilesNoLongerInThePayload) {
  ASSERT_TRUE(writer.write({{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(writer.write({{"a", "3"}}));
  EXPECT_FALSE(fs.exists(dir + "/b"));
  EXPECT_EQ(slurp(dir + "/a"), "3");
}

TEST_F(AtomicWriterTest, RejectsBadNames) {
  EXPECT_EQ(writer.write({{"../etc", "x"}}).error().reason, "InvalidPayload");
  EXPECT_EQ(writer.write({{"..data", "x"}}).error().reason, "InvalidPayload");
  EXPECT_EQ(writer.write({{"a/b", "x"}}).error().reason, "InvalidPayload");
  EXPECT_EQ(writer.write({{"a", "x"}, {"a", "y"}}).error().reason, "InvalidPayload");
}

TEST_F(AtomicWriterTest, NoSpaceKeepsThePreviousVersionAndSaysWhatToDo) {
  ASSERT_TRUE(writer.write(payload(1)));
  const auto before = version_dir();
  fs.fail_nth_write(2, ENOSPC);  // token lands, token.json hits a full disk
  auto s = writer.write(payload(2));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().reason, "NoSpace");
  EXPECT_NE(s.error().message.find("no space left on " + dir), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("sizeLimit"), std::string::npos);
  EXPECT_NE(s.error().message.find("previous version is still in place"), std::string::npos);
  EXPECT_EQ(version_dir(), before);
  EXPECT_TRUE(slurp(dir + "/token").starts_with("tok-1-"));
  EXPECT_EQ(nlohmann::json::parse(slurp(dir + "/token.json"))["version"], 1);
  auto names = *fs.list_dir(dir);
  EXPECT_EQ(names.size(), 4u) << "the half-written version directory is gone";
  // Space comes back: the next write works.
  ASSERT_TRUE(writer.write(payload(3)));
  EXPECT_TRUE(slurp(dir + "/token").starts_with("tok-3-"));
}

TEST_F(AtomicWriterTest, CleansUpLeftoversOfACrash) {
  ASSERT_TRUE(writer.write(payload(1)));
  PosixFilesystem real;
  ASSERT_TRUE(real.make_dirs(dir + "/..2020_01_01_00_00_00.abcdef", 0750));
  ASSERT_TRUE(real.symlink("..2020_01_01_00_00_00.abcdef", dir + "/..data_tmp"));
  ASSERT_TRUE(writer.write(payload(2)));
  EXPECT_FALSE(fs.exists(dir + "/..2020_01_01_00_00_00.abcdef"));
  EXPECT_FALSE(fs.exists(dir + "/..data_tmp"));
}

// A reader in a tight loop during hundreds of replacements never sees a partial file, and the
// files it reads through one resolution of ..data always belong to the same version.
TEST_F(AtomicWriterTest, ConcurrentReaderNeverSeesTornOrMixedVersions) {
  ASSERT_TRUE(writer.write(payload(0)));
  std::atomic<bool> done{false};
  std::atomic<int> consistent_reads{0};
  std::atomic<int> top_level_reads{0};
  std::string problem;  // written by the reader only, read after join

  std::jthread reader([&] {
    auto read_at = [](int dirfd, const char* name, std::string& out) -> bool {
      UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC));
      if (!fd) return false;
      out.clear();
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd.get(), buf, sizeof buf)) > 0)
        out.append(buf, static_cast<std::size_t>(n));
      return n == 0;
    };
    const std::string data = dir + "/..data";
    while (!done.load() && problem.empty()) {
      // 1. Through the top-level link: always one whole token.
      std::string tok;
      {
        UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (d && read_at(d.get(), "token", tok)) {
          if (tok.size() < 8000 || tok.substr(tok.size() - 8000) != std::string(8000, 'x')) {
            problem = "partial token of size " + std::to_string(tok.size());
          }
          ++top_level_reads;
        }
      }
      // 2. Both files relative to one resolution of ..data: same version or ENOENT.
      UniqueFd version(::open(data.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!version) continue;
      std::string t, j;
      if (!read_at(version.get(), "token", t) || !read_at(version.get(), "token.json", j)) continue;
      nlohmann::json meta = nlohmann::json::parse(j, nullptr, false);
      if (meta.is_discarded()) {
        problem = "token.json is not whole JSON: " + j.substr(0, 40);
      } else if (meta["accessToken"] != t) {
        problem = "token and token.json from different versions";
      }
      ++consistent_reads;
    }
  });

  for (int v = 1; v <= 400; ++v) {
    clock.advance(std::chrono::milliseconds(300));
    ASSERT_TRUE(writer.write(payload(v))) << v;
  }
  done = true;
  reader.join();
  EXPECT_EQ(problem, "");
  EXPECT_GT(consistent_reads.load(), 0);
  EXPECT_GT(top_level_reads.load(), 0);
  EXPECT_TRUE(slurp(dir + "/token").starts_with("tok-400-"));
}

}  // namespace
}  // namespace keyward
