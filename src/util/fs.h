#pragma once
// File-system helpers and the RAII file descriptor.
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace nanolet {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// errno as text: "open /x: No such file or directory".
Error ErrnoError(std::string_view what, int err);
Error ErrnoError(std::string_view what);

Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 64 << 20);
// Writes via a temporary file in the same directory and rename(2): readers see the old or the new content.
Result<void> WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);
Result<void> WriteFile(const std::string& path, std::string_view data, unsigned mode = 0644);
Result<void> MkdirAll(const std::string& path, unsigned mode = 0755);
// Removes a tree without following symlinks and without crossing into other mounts (fails on a mount point).
Result<void> RemoveAll(const std::string& path);
bool PathExists(const std::string& path);
bool IsDirectory(const std::string& path);
// Sorted names in a directory (no "." or "..").
Result<std::vector<std::string>> ListDir(const std::string& path);
std::string JoinPath(std::string_view a, std::string_view b);
// Is `path` (already cleaned) equal to or below `root`?
bool IsWithin(std::string_view root, std::string_view path);
// Lexical clean as Go's filepath.Clean.
std::string CleanPath(std::string_view p);

}  // namespace nanolet
