#include "common/io/atomic_writer.h"

#include <date/date.h>

#include <algorithm>
#include <set>

namespace keyward {

namespace {

std::string join(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

AtomicWriter::AtomicWriter(Filesystem& fs, const Clock& clock, std::string target_dir,
                           Logger logger)
    : fs_(fs), clock_(clock), target_dir_(std::move(target_dir)), logger_(std::move(logger)) {
  while (target_dir_.size() > 1 && target_dir_.back() == '/') target_dir_.pop_back();
}

Status AtomicWriter::validate(const std::vector<PayloadFile>& payload) const {
  std::set<std::string> seen;
  for (const auto& f : payload) {
    if (f.name.empty() || f.name.find('/') != std::string::npos || f.name.starts_with("..") ||
        f.name == ".") {
      return fail("InvalidPayload",
                  "file name '" + f.name + "' for " + target_dir_ +
                      " must be a plain name without '/' and not start with '..'");
    }
    if (!seen.insert(f.name).second) {
      return fail("InvalidPayload", "file name '" + f.name + "' appears twice in the payload");
    }
  }
  return ok();
}

Error AtomicWriter::explain(Error e, const std::string& what) const {
  if (e.reason == "NoSpace") {
    e.message = "no space left on " + target_dir_ + " while " + what + " (" + e.message +
                "): the emptyDir's sizeLimit (or the tmpfs) is too small; raise it. The previous "
                "version is still in place";
  } else if (e.reason == "PermissionDenied") {
    e.message = "permission denied on " + target_dir_ + " while " + what + " (" + e.message +
                "): the directory must be writable by the sidecar's user (check the volume's "
                "owner, fsGroup and readOnly). The previous version is still in place";
  } else {
    e.message = "could not update " + target_dir_ + " while " + what + " (" + e.message +
                "). The previous version is still in place";
  }
  return e;
}

Status AtomicWriter::write(const std::vector<PayloadFile>& payload) {
  if (auto v = validate(payload); !v) return v;
  if (auto s = fs_.make_dirs(target_dir_, kDirMode); !s) {
    return fail(explain(s.error(), "creating the directory"));
  }

  // 1. A fresh timestamped directory, as the kubelet names them.
  const std::string stamp =
      date::format("..%Y_%m_%d_%H_%M_%S.", std::chrono::floor<std::chrono::seconds>(clock_.now()));
  auto version_dir = fs_.make_temp_dir(join(target_dir_, stamp), kDirMode);
  if (!version_dir) return fail(explain(version_dir.error(), "creating a version directory"));
  const std::string version_name = base_name(*version_dir);

  auto abandon = [&](Error e, const std::string& what) -> Status {
    if (auto r = fs_.remove_all(*version_dir); !r) {
      logger_.warn("could not remove an abandoned version directory",
                   {{"path", *version_dir}, {"error", r.error().message}});
    }
    return fail(explain(std::move(e), what));
  };

  // 2. Every file written and fsynced, then the directory itself.
  for (const auto& f : payload) {
    const mode_t mode = f.mode & 0640;  // never wider than rw-r-----
    if (auto s = fs_.write_new_file(join(*version_dir, f.name), f.content, mode); !s) {
      return abandon(s.error(), "writing " + f.name);
    }
  }
  if (auto s = fs_.sync_dir(*version_dir); !s) return abandon(s.error(), "syncing the new version");

  // 3. Top-level links, pointing through ..data, BEFORE the switch: on the first write they
  // dangle until ..data exists, so every file appears in the same instant (a reader that saw
  // token.json could otherwise miss token.env, whose link came a moment later). On later writes
  // they exist already and never change.
  if (auto s = link_user_visible(payload); !s) return abandon(s.error(), "linking the files");

  // 4. ..data_tmp -> new dir, renamed over ..data: the single atomic switch.
  const std::string data_link = join(target_dir_, kDataLink);
  const std::string tmp_link = join(target_dir_, kDataTmpLink);
  if (auto s = fs_.remove_all(tmp_link); !s)
    return abandon(s.error(), "removing a stale ..data_tmp");
  if (auto s = fs_.symlink(version_name, tmp_link); !s)
    return abandon(s.error(), "creating ..data_tmp");
  if (auto s = fs_.rename(tmp_link, data_link); !s) {
    (void)fs_.remove_all(tmp_link);
    return abandon(s.error(), "switching ..data to the new version");
  }
  if (auto s = fs_.sync_dir(target_dir_); !s) {
    // The switch happened; durability of a tmpfs is moot. Report, but the new version is live.
    logger_.warn("could not fsync the token directory",
                 {{"path", target_dir_}, {"error", s.error().message}});
  }

  // 5. The old version and anything stale go.
  remove_stale(version_name, payload);
  return ok();
}

Status AtomicWriter::link_user_visible(const std::vector<PayloadFile>& payload) {
  for (const auto& f : payload) {
    const std::string link = join(target_dir_, f.name);
    const std::string want = std::string(kDataLink) + "/" + f.name;
    auto have = fs_.read_link(link);
    if (have && *have == want) continue;
    // Create beside and rename over, so a reader never finds the name missing.
    const std::string tmp = join(target_dir_, ".." + f.name + ".tmp");
    (void)fs_.remove_all(tmp);
    if (auto s = fs_.symlink(want, tmp); !s) return s;
    if (auto s = fs_.rename(tmp, link); !s) {
      (void)fs_.remove_all(tmp);
      return s;
    }
  }
  return ok();
}

void AtomicWriter::remove_stale(const std::string& keep_dir_name,
                                const std::vector<PayloadFile>& payload) {
  auto names = fs_.list_dir(target_dir_);
  if (!names) return;
  std::set<std::string> wanted;
  for (const auto& f : payload) wanted.insert(f.name);
  for (const auto& name : *names) {
    const std::string path = join(target_dir_, name);
    bool stale = false;
    if (name.starts_with("..")) {
      // Version directories other than the live one (including leftovers of a crash).
      stale = name != kDataLink && name != keep_dir_name && name.size() > 2 &&
              std::isdigit(static_cast<unsigned char>(name[2]));
    } else if (!wanted.contains(name)) {
      // A top-level link of a file the payload no longer has.
      auto link = fs_.read_link(path);
      stale = link && link->starts_with(std::string(kDataLink) + "/");
    }
    if (!stale) continue;
    if (auto r = fs_.remove_all(path); !r) {
      logger_.warn("could not remove an old token version",
                   {{"path", path}, {"error", r.error().message}});
    }
  }
}

}  // namespace keyward
