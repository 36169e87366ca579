#pragma once
// A Filesystem for tests: the real POSIX one on a temporary directory, plus injected failures
// (a full tmpfs: writes fail with ENOSPC) and a count of operations.

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>

#include "common/io/filesystem.h"

namespace keyward::testing {

class FaultyFilesystem final : public Filesystem {
 public:
  // Every write_new_file fails with err (ENOSPC by default) while set; 0 clears it.
  void fail_writes(int err) { write_errno_ = err; }
  // Only the n-th next write fails (1 = the next one), the others succeed.
  void fail_nth_write(int n, int err) {
    std::lock_guard lock(mu_);
    countdown_ = n;
    countdown_errno_ = err;
  }
  [[nodiscard]] int writes() const { return writes_; }

  Status make_dirs(const std::string& path, mode_t mode) override {
    return real_.make_dirs(path, mode);
  }
  Result<std::string> make_temp_dir(const std::string& prefix, mode_t mode) override {
    return real_.make_temp_dir(prefix, mode);
  }
  Status write_new_file(const std::string& path, const std::string& data, mode_t mode) override {
    ++writes_;
    int err = write_errno_.load();
    {
      std::lock_guard lock(mu_);
      if (countdown_ > 0 && --countdown_ == 0) err = countdown_errno_;
    }
    if (err != 0) {
      // Like a real full tmpfs: the file gets created, part of the data lands, then the error.
      (void)real_.write_new_file(path, data.substr(0, data.size() / 2), mode);
      return fail(errno_error(err, "writing", path));
    }
    return real_.write_new_file(path, data, mode);
  }
  Result<std::string> read_file(const std::string& path) const override {
    return real_.read_file(path);
  }
  Status symlink(const std::string& target, const std::string& link_path) override {
    return real_.symlink(target, link_path);
  }
  Result<std::string> read_link(const std::string& path) const override {
    return real_.read_link(path);
  }
  Status rename(const std::string& from, const std::string& to) override {
    if (before_rename_) before_rename_(from, to);
    return real_.rename(from, to);
  }
  // Runs just before every rename (tests look at the directory at that moment).
  void on_rename(std::function<void(const std::string& from, const std::string& to)> hook) {
    before_rename_ = std::move(hook);
  }
  Status remove_all(const std::string& path) override { return real_.remove_all(path); }
  Result<std::vector<std::string>> list_dir(const std::string& path) const override {
    return real_.list_dir(path);
  }
  Status sync_dir(const std::string& path) override { return real_.sync_dir(path); }
  [[nodiscard]] bool exists(const std::string& path) const override { return real_.exists(path); }

 private:
  PosixFilesystem real_;
  std::function<void(const std::string&, const std::string&)> before_rename_;
  std::atomic<int> write_errno_{0};
  std::atomic<int> writes_{0};
  std::mutex mu_;  // guards countdown_ and countdown_errno_
  int countdown_ = 0;
  int countdown_errno_ = 0;
};

// A fresh directory under the system temp dir, removed with everything in it at scope end.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "keyward-test-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    path_ = templ;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace keyward::testing
