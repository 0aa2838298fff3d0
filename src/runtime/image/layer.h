#pragma once
// Unpacking one image layer (a tar, uncompressed or gzip/zstd/xz/bzip2) into a directory usable as
// an overlayfs lower layer.
//
// - OCI whiteouts become what overlayfs understands: `.wh.<name>` a character device 0:0 named
//   `<name>`, `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its directory (as containerd's
//   archive/tar.go).
// - Entries are written below the layer directory only: a leading `/` is stripped, a `..`
//   component fails the layer, nothing is written through a symlink (`etc -> /etc` then
//   `etc/passwd` is an error; libarchive's SECURE_SYMLINKS backs our own check), hardlink targets
//   must lie inside the layer and not behind a symlink. Symlinks themselves are written as they
//   are: the container resolves them, never nanolet.
// - Ownership (numeric ids), modes, mtimes, device nodes and xattrs are kept (ownership and
//   devices when running as root).
#include <cstdint>
#include <string>

#include "util/result.h"

namespace nanolet::image {

struct LayerStats {
  std::string diff_id;  // "sha256:<hex>" of the uncompressed tar
  uint64_t entries = 0;
  uint64_t bytes = 0;  // file content written
};

// Extracts the layer archive at `archive_path` into `dir`, an existing (normally empty) directory.
// Not atomic: on error `dir` holds part of the layer; UnpackLayer is the atomic form.
Result<LayerStats> ExtractLayer(const std::string& archive_path, const std::string& dir);

// Atomically creates `dest` (whose parent must exist) holding the unpacked layer: extracts into a
// temporary sibling `.tmp-*` and renames it. When `expected_diff_id` is not empty the uncompressed
// content must match it. If `dest` appears meanwhile (another unpacker won the race), the temporary
// is discarded and that is success. On error nothing is left.
Result<LayerStats> UnpackLayer(const std::string& archive_path, const std::string& dest,
                               const std::string& expected_diff_id);

}  // namespace nanolet::image
