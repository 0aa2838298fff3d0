#pragma once
// Helpers for the image tests: temporary directories, small tars built with libarchive, the
// project's test image.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "util/fs.h"
#include "util/subprocess.h"

namespace nanolet::image::testing {

class TempDir {
 public:
  TempDir() {
    std::string t = "/tmp/nanolet-image-test-XXXXXX";
    path_ = ::mkdtemp(t.data()) ? t : "";
  }
  ~TempDir() {
    if (!path_.empty()) (void)RemoveAll(path_);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& s) const { return path_ + "/" + s; }

 private:
  std::string path_;
};

struct TarEntry {
  enum Kind { kFile, kDir, kSymlink, kHardlink } kind = kFile;
  std::string path;
  std::string data;  // file content; link target for links
  int mode = 0644;
};

// Writes a tar (gzip-compressed when `gzip`) of `entries` in order.
inline void WriteTar(const std::string& out, const std::vector<TarEntry>& entries,
                     bool gzip = false) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  ASSERT_EQ(archive_write_open_filename(a, out.c_str()), ARCHIVE_OK);
  for (const auto& t : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_mtime(e, 1000000, 0);
    switch (t.kind) {
      case TarEntry::kFile:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, t.mode);
        archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
        break;
      case TarEntry::kDir:
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        break;
      case TarEntry::kSymlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_perm(e, 0777);
        archive_entry_set_symlink(e, t.data.c_str());
        break;
      case TarEntry::kHardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_hardlink(e, t.data.c_str());
        break;
    }
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (t.kind == TarEntry::kFile && !t.data.empty()) {
      archive_write_data(a, t.data.data(), t.data.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// The project's test image (scripts/build-test-image.sh), built once into the build directory (the
// script is idempotent and atomic). Empty when busybox-static is not installed.
inline std::string TestImageArchive() {
  if (::access("/bin/busybox", X_OK) != 0) return "";
  static const std::string path = [] {
    std::string out = std::string(NANOLET_BINARY_DIR) + "/testdata/busybox-oci.tar";
    auto r = nanolet::Run(
        {"bash", std::string(NANOLET_SOURCE_DIR) + "/scripts/build-test-image.sh", out},
        {.timeout = std::chrono::seconds(120)});
    if (!r.ok() || !r->success()) {
      ADD_FAILURE() << "build-test-image.sh: " << (r.ok() ? r->Describe() : r.error().message());
      return std::string();
    }
    return out;
  }();
  return path;
}

}  // namespace nanolet::image::testing
