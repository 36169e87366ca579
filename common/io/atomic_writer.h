#pragma once
// AtomicWriter replaces a set of files in a directory all at once, after the kubelet's
// pkg/volume/util/atomic_writer.go:
//
//   <dir>/..2026_11_23_04_22_00.AbC123/   the payload of one version (files 0640 or stricter)
//   <dir>/..data -> ..2026_11_23_04_22_00.AbC123   swapped by rename(2) of a "..data_tmp" link
//   <dir>/token  -> ..data/token          top-level links, created once
//
// A reader that opens <dir>/token sees a whole file of one version. A reader that needs several
// files of the same version opens <dir>/..data once (as a directory fd) and reads the files
// relative to it: the old version's files vanish only after ..data points to the new one, so a
// read relative to the old directory either succeeds with old data or fails with ENOENT (retry).
//
// On any failure before the rename the new directory is removed and the previous version stays
// intact and visible; the error names the path and says what to do (a full emptyDir says to
// raise its sizeLimit).

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/io/filesystem.h"

namespace keyward {

struct PayloadFile {
  std::string name;  // a plain file name: no '/', not starting with ".."
  std::string content;
  mode_t mode = 0640;  // group-readable at most; anything wider is narrowed to 0640
};

class AtomicWriter {
 public:
  static constexpr const char* kDataLink = "..data";
  static constexpr const char* kDataTmpLink = "..data_tmp";
  static constexpr mode_t kDirMode = 0750;

  AtomicWriter(Filesystem& fs, const Clock& clock, std::string target_dir, Logger logger);

  // Creates the target directory (mode 0750) if needed and replaces the payload atomically.
  // Files of an earlier payload whose names are absent now lose their top-level links.
  Status write(const std::vector<PayloadFile>& payload);

  [[nodiscard]] const std::string& target_dir() const { return target_dir_; }

 private:
  Status validate(const std::vector<PayloadFile>& payload) const;
  Error explain(Error e, const std::string& what) const;
  Status link_user_visible(const std::vector<PayloadFile>& payload);
  void remove_stale(const std::string& keep_dir_name, const std::vector<PayloadFile>& payload);

  Filesystem& fs_;
  const Clock& clock_;
  std::string target_dir_;
  Logger logger_;
};

}  // namespace keyward
