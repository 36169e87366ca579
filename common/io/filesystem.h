#pragma once
// The filesystem behind a small interface, so tests can make a write fail with ENOSPC (a full
// emptyDir) and prove the previous token stays in place. PosixFilesystem is the real one.
//
// Errors: reason "NoSpace" (ENOSPC, EDQUOT), "PermissionDenied" (EACCES, EPERM, EROFS),
// "NotFound" (ENOENT), otherwise "FilesystemError"; the message names the operation, the path
// and the system's own words.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/core/result.h"

namespace keyward {

class Filesystem {
 public:
  Filesystem() = default;
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;
  virtual ~Filesystem() = default;

  // Creates a directory (and missing parents) with the given mode; an existing directory is
  // fine and gets its mode set.
  virtual Status make_dirs(const std::string& path, mode_t mode) = 0;
  // Creates a fresh, uniquely named directory "<prefix>XXXXXX" (mkdtemp) and returns its path.
  virtual Result<std::string> make_temp_dir(const std::string& prefix, mode_t mode) = 0;
  // Creates a new file (it must not exist), writes all of data, fsyncs and closes it.
  virtual Status write_new_file(const std::string& path, const std::string& data, mode_t mode) = 0;
  virtual Result<std::string> read_file(const std::string& path) const = 0;
  virtual Status symlink(const std::string& target, const std::string& link_path) = 0;
  // Empty result with reason NotFound when the link does not exist.
  virtual Result<std::string> read_link(const std::string& path) const = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // Removes a file, a symlink or a whole directory tree; a missing path is fine.
  virtual Status remove_all(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) const = 0;
  // fsyncs a directory so renames and new entries in it are durable.
  virtual Status sync_dir(const std::string& path) = 0;
  // Whether anything (also a dangling symlink) exists at path.
  [[nodiscard]] virtual bool exists(const std::string& path) const = 0;
};

class PosixFilesystem final : public Filesystem {
 public:
  Status make_dirs(const std::string& path, mode_t mode) override;
  Result<std::string> make_temp_dir(const std::string& prefix, mode_t mode) override;
  Status write_new_file(const std::string& path, const std::string& data, mode_t mode) override;
  Result<std::string> read_file(const std::string& path) const override;
  Status symlink(const std::string& target, const std::string& link_path) override;
  Result<std::string> read_link(const std::string& path) const override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove_all(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) const override;
  Status sync_dir(const std::string& path) override;
  [[nodiscard]] bool exists(const std::string& path) const override;
};

// Turns an errno into an Error with the reasons listed above.
Error errno_error(int err, const std::string& operation, const std::string& path);

}  // namespace keyward
