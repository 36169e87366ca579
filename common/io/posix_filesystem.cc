#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "common/io/filesystem.h"
#include "common/io/unique_fd.h"

namespace keyward {

Error errno_error(int err, const std::string& operation, const std::string& path) {
  std::string reason = "FilesystemError";
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      reason = "NoSpace";
      break;
    case EACCES:
    case EPERM:
    case EROFS:
      reason = "PermissionDenied";
      break;
    case ENOENT:
      reason = "NotFound";
      break;
    default:
      break;
  }
  return Error{reason, operation + " " + path + " failed: " + std::strerror(err), 0};
}

Status PosixFilesystem::make_dirs(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail(errno_error(ec.value(), "creating directory", path));
  if (::chmod(path.c_str(), mode) != 0) return fail(errno_error(errno, "chmod of", path));
  return ok();
}

Result<std::string> PosixFilesystem::make_temp_dir(const std::string& prefix, mode_t mode) {
  std::string templ = prefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return fail(errno_error(errno, "creating directory", templ));
  }
  if (::chmod(templ.c_str(), mode) != 0) {
    const int err = errno;
    ::rmdir(templ.c_str());
    return fail(errno_error(err, "chmod of", templ));
  }
  return templ;
}

Status PosixFilesystem::write_new_file(const std::string& path, const std::string& data,
                                       mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return fail(errno_error(errno, "creating file", path));
  // The umask may have narrowed the mode; set it exactly.
  if (::fchmod(fd.get(), mode) != 0) return fail(errno_error(errno, "chmod of", path));
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_error(errno, "writing", path));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail(errno_error(errno, "fsync of", path));
  if (fd.close() != 0) return fail(errno_error(errno, "closing", path));
  return ok();
}

Result<std::string> PosixFilesystem::read_file(const std::string& path) const {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(errno_error(errno, "opening", path));
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_error(errno, "reading", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Status PosixFilesystem::symlink(const std::string& target, const std::string& link_path) {
  if (::symlink(target.c_str(), link_path.c_str()) != 0) {
    return fail(errno_error(errno, "creating symlink", link_path));
  }
  return ok();
}

Result<std::string> PosixFilesystem::read_link(const std::string& path) const {
  std::string buf(4096, '\0');
  const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0) return fail(errno_error(errno, "reading symlink", path));
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

Status PosixFilesystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return fail(errno_error(errno, "renaming " + from + " to", to));
  }
  return ok();
}

Status PosixFilesystem::remove_all(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return fail(errno_error(ec.value(), "removing", path));
  return ok();
}

Result<std::vector<std::string>> PosixFilesystem::list_dir(const std::string& path) const {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (!dir) return fail(errno_error(errno, "listing", path));
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(dir.get())) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  return names;
}

Status PosixFilesystem::sync_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail(errno_error(errno, "opening directory", path));
  if (::fsync(fd.get()) != 0) return fail(errno_error(errno, "fsync of directory", path));
  return ok();
}

bool PosixFilesystem::exists(const std::string& path) const {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace keyward
