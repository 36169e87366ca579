#pragma once
// A read-only in-memory Filesystem for tests of code that only reads files (kubeconfig,
// service-account token, KEK directory): set(path, content) and remove(path); writes are refused.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/io/filesystem.h"

namespace keyward::testing {

class MemoryFilesystem final : public Filesystem {
 public:
  void set(const std::string& path, std::string content) {
    std::lock_guard lock(mu_);
    files_[path] = std::move(content);
  }
  void remove(const std::string& path) {
    std::lock_guard lock(mu_);
    files_.erase(path);
  }
  [[nodiscard]] int reads() const {
    std::lock_guard lock(mu_);
    return reads_;
  }

  Result<std::string> read_file(const std::string& path) const override {
    std::lock_guard lock(mu_);
    ++reads_;
    const auto it = files_.find(path);
    if (it == files_.end())
      return fail("NotFound", "opening " + path + " failed: No such file or directory");
    return it->second;
  }
  [[nodiscard]] bool exists(const std::string& path) const override {
    std::lock_guard lock(mu_);
    return files_.contains(path);
  }
  Status make_dirs(const std::string& path, mode_t) override { return refuse(path); }
  Result<std::string> make_temp_dir(const std::string& prefix, mode_t) override {
    return refuse(prefix);
  }
  Status write_new_file(const std::string& path, const std::string&, mode_t) override {
    return refuse(path);
  }
  Status symlink(const std::string&, const std::string& link) override { return refuse(link); }
  Result<std::string> read_link(const std::string& path) const override { return refuse(path); }
  Status rename(const std::string& from, const std::string&) override { return refuse(from); }
  Status remove_all(const std::string& path) override { return refuse(path); }
  // The names of the files directly below path (a directory exists when a file is below it).
  Result<std::vector<std::string>> list_dir(const std::string& path) const override {
    std::lock_guard lock(mu_);
    const std::string prefix = path + "/";
    std::vector<std::string> names;
    for (const auto& [file, _] : files_) {
      if (file.rfind(prefix, 0) != 0) continue;
      const std::string rest = file.substr(prefix.size());
      const std::string name = rest.substr(0, rest.find('/'));
      if (names.empty() || names.back() != name) names.push_back(name);
    }
    if (names.empty())
      return fail("NotFound", "opening " + path + " failed: No such file or directory");
    return names;
  }
  Status sync_dir(const std::string& path) override { return refuse(path); }

 private:
  static std::unexpected<Error> refuse(const std::string& path) {
    return fail("PermissionDenied", "MemoryFilesystem is read-only: " + path);
  }
  mutable std::mutex mu_;  // guards files_ and reads_
  std::map<std::string, std::string> files_;
  mutable int reads_ = 0;
};

}  // namespace keyward::testing
