#pragma once
// Writes a set of files into a volume directory so that a reader never sees a mix of two versions,
// as upstream pkg/volume/util/atomic_writer.go:
//
//   <dir>/..2026_11_27_22_10_00.123456789/<the files>   one timestamped directory per version
//   <dir>/..data -> ..2026_11_27_22_10_00.123456789      swapped by a single rename(2)
//   <dir>/<top-level name> -> ..data/<top-level name>     what users open
//
// Every open of a user-visible name resolves ..data once, so it sees one complete version (an open
// racing the removal of the version it resolved fails with ENOENT, as upstream: retry). A reader
// that resolves ..data once and reads several files through it sees one consistent set, never a
// mix. Old user-visible names that the new version lacks are removed after the swap, then the old
// version's directory.
//
// Nothing is written outside `dir`: paths are checked (relative, no `..` element, not starting with
// `..`) and every file is created with openat/O_NOFOLLOW below a directory fd.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "util/result.h"

namespace nanolet::volume {

struct FileProjection {
  std::string data;
  uint32_t mode = 0644;
  bool operator==(const FileProjection&) const = default;
};
// Relative path in the volume -> content.
using Payload = std::map<std::string, FileProjection>;

// As upstream validatePath: not empty, relative, no `..` element, not starting with `..`, at most
// 4096 bytes with elements of at most 255.
Result<void> ValidatePayloadPath(std::string_view path);

// Writes `payload` into `dir` (created when missing). Returns true when something changed on disk,
// false when the current version already holds exactly this payload.
Result<bool> WritePayload(const std::string& dir, const Payload& payload);

// The payload currently visible in `dir` (read through ..data), for tests and comparisons.
Result<Payload> ReadPayload(const std::string& dir);

}  // namespace nanolet::volume
