#include "runtime/volume/atomic_writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <set>
#include <vector>

#include "util/fs.h"
#include "util/strings.h"

namespace nanolet::volume {
namespace atomic_writer_detail {

constexpr const char* kDataDirName = "..data";
constexpr const char* kDataTmpName = "..data_tmp";

std::vector<std::string> SplitPath(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    if (j > i) out.emplace_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string TopLevel(const std::string& p) { return p.substr(0, p.find('/')); }

bool IsVersionDirName(std::string_view n) {
  return n.size() > 2 && n.starts_with("..") && n[2] >= '0' && n[2] <= '9';
}

// Recursively reads regular files below `fd` into `out` (keys prefixed by `prefix`). Symlinks and
// other kinds are not followed (a version directory holds only what WritePayload put there).
Result<void> ReadTree(int fd, const std::string& prefix, Payload& out) {
  int dup_fd = ::dup(fd);
  if (dup_fd < 0) return ErrnoError("dup");
  DIR* d = ::fdopendir(dup_fd);
  if (!d) {
    ::close(dup_fd);
    return ErrnoError("opendir " + prefix);
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) {
    std::string rel = prefix.empty() ? n : prefix + "/" + n;
    struct stat st;
    if (::fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat " + rel);
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) return ErrnoError("open " + rel);
      RETURN_IF_ERROR(ReadTree(sub.get(), rel, out));
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd f(::openat(fd, n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!f.valid()) return ErrnoError("open " + rel);
      std::string data;
      char buf[65536];
      for (;;) {
        ssize_t r = ::read(f.get(), buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return ErrnoError("read " + rel);
        if (r == 0) break;
        data.append(buf, static_cast<size_t>(r));
      }
      out[rel] = {std::move(data), static_cast<uint32_t>(st.st_mode & 07777)};
    }
  }
  return Ok();
}

Result<std::string> ReadLinkAt(int dirfd, const char* name) {
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(dirfd, name, buf, sizeof buf - 1);
  if (n < 0) return ErrnoError(std::string("readlink ") + name);
  return std::string(buf, static_cast<size_t>(n));
}

std::string VersionDirPrefix() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "..%Y_%m_%d_%H_%M_%S.", &tm);
  return std::string(buf) + std::to_string(ts.tv_nsec);
}

// Creates the directories of `rel` (a validated relative path) below `root` and returns an fd of
// the innermost one.
Result<UniqueFd> MkdirsAt(int root, const std::vector<std::string>& elems) {
  UniqueFd cur(::dup(root));
  if (!cur.valid()) return ErrnoError("dup");
  for (const auto& e : elems) {
    if (::mkdirat(cur.get(), e.c_str(), 0755) != 0 && errno != EEXIST)
      return ErrnoError("mkdir " + e);
    UniqueFd next(::openat(cur.get(), e.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return ErrnoError("open " + e);
    ::fchmod(next.get(), 0755);
    cur = std::move(next);
  }
  return cur;
}

Result<void> WriteAt(int dirfd, const std::string& name, const FileProjection& f) {
  UniqueFd fd(
      ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoError("create " + name);
  size_t off = 0;
  while (off < f.data.size()) {
    ssize_t w = ::write(fd.get(), f.data.data() + off, f.data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return ErrnoError("write " + name);
    off += static_cast<size_t>(w);
  }
  if (::fchmod(fd.get(), f.mode & 07777) != 0) return ErrnoError("chmod " + name);
  return Ok();
}

}  // namespace atomic_writer_detail

using namespace atomic_writer_detail;

Result<void> ValidatePayloadPath(std::string_view path) {
  std::string quoted = "\"" + std::string(path) + "\"";
  if (path.empty()) return Invalid("invalid path: must not be empty");
  if (path.size() > 4096)
    return Invalid("invalid path " + quoted + ": must be less than or equal to 4096");
  if (path[0] == '/') return Invalid("invalid path " + quoted + ": must be relative path");
  if (path.starts_with(".."))
    return Invalid("invalid path " + quoted + ": must not start with '..'");
  for (const auto& e : SplitPath(path)) {
    if (e == "..") return Invalid("invalid path " + quoted + ": must not contain '..'");
    if (e.size() > 255)
      return Invalid("invalid path " + quoted + ": elements must be at most 255 bytes");
  }
  if (path.find('\0') != std::string_view::npos)
    return Invalid("invalid path: contains a NUL byte");
  return Ok();
}

Result<Payload> ReadPayload(const std::string& dir) {
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return ErrnoError("open " + dir);
  ASSIGN_OR_RETURN(std::string target, ReadLinkAt(root.get(), kDataDirName));
  if (!IsVersionDirName(target) || target.find('/') != std::string::npos) {
    return Invalid(dir + "/..data points to an unexpected " + target);
  }
  UniqueFd data(
      ::openat(root.get(), target.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!data.valid()) return ErrnoError("open " + dir + "/" + target);
  Payload out;
  RETURN_IF_ERROR(ReadTree(data.get(), "", out));
  return out;
}

Result<bool> WritePayload(const std::string& dir, const Payload& in) {
  // 1. Validate and clean the paths.
  Payload payload;
  for (const auto& [p, f] : in) {
    RETURN_IF_ERROR(ValidatePayloadPath(p));
    std::string clean = CleanPath(p);
    if (clean == ".") return Invalid("invalid path \"" + p + "\"");
    payload[clean] = f;
  }
  // A path must not be both a file and the directory of another.
  for (const auto& [p, f] : payload) {
    auto next = payload.upper_bound(p);
    if (next != payload.end() && next->first.starts_with(p + "/")) {
      return Invalid("invalid payload: \"" + p + "\" is a file and a directory");
    }
  }
  RETURN_IF_ERROR(MkdirAll(dir, 0755));
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return ErrnoError("open " + dir);

  // 2. The current version; nothing to do when it holds the same payload and every name is visible.
  std::string old_version;
  Payload old_payload;
  if (auto t = ReadLinkAt(root.get(), kDataDirName); t.ok() && IsVersionDirName(*t)) {
    old_version = *t;
    if (auto p = ReadPayload(dir); p.ok()) old_payload = std::move(*p);
  }
  std::set<std::string> new_top, old_top;
  for (const auto& [p, f] : payload) new_top.insert(TopLevel(p));
  for (const auto& [p, f] : old_payload) old_top.insert(TopLevel(p));
  if (!old_version.empty() && old_payload == payload) {
    bool visible = true;
    for (const auto& n : new_top) {
      auto l = ReadLinkAt(root.get(), n.c_str());
      visible = visible && l.ok() && *l == std::string(kDataDirName) + "/" + n;
    }
    if (visible) return false;
  }

  // 3. The new version's directory, filled completely before anyone can see it.
  std::string version;
  for (int attempt = 0;; ++attempt) {
    version = VersionDirPrefix() + (attempt ? "_" + std::to_string(attempt) : "");
    if (::mkdirat(root.get(), version.c_str(), 0755) == 0) break;
    if (errno != EEXIST || attempt > 100) return ErrnoError("mkdir " + dir + "/" + version);
  }
  auto cleanup_new = [&] { (void)RemoveAll(dir + "/" + version); };
  {
    UniqueFd vfd(
        ::openat(root.get(), version.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!vfd.valid()) {
      cleanup_new();
      return ErrnoError("open " + dir + "/" + version);
    }
    ::fchmod(vfd.get(), 0755);
    for (const auto& [p, f] : payload) {
      auto elems = SplitPath(p);
      std::string base = elems.back();
      elems.pop_back();
      auto parent = MkdirsAt(vfd.get(), elems);
      Result<void> w = parent.ok() ? WriteAt(parent->get(), base, f) : Result<void>(parent.error());
      if (!w.ok()) {
        cleanup_new();
        return std::move(w).error().Wrap("write " + p);
      }
    }
  }

  // 4. Swap ..data in one rename.
  ::unlinkat(root.get(), kDataTmpName, 0);
  if (::symlinkat(version.c_str(), root.get(), kDataTmpName) != 0) {
    Error e = ErrnoError("symlink " + dir + "/" + kDataTmpName);
    cleanup_new();
    return e;
  }
  if (::renameat(root.get(), kDataTmpName, root.get(), kDataDirName) != 0) {
    Error e = ErrnoError("rename " + dir + "/" + kDataDirName);
    ::unlinkat(root.get(), kDataTmpName, 0);
    cleanup_new();
    return e;
  }

  // 5. User-visible names (symlinks through ..data); a non-symlink in the way is an error, never
  // followed.
  for (const auto& n : new_top) {
    std::string want = std::string(kDataDirName) + "/" + n;
    auto l = ReadLinkAt(root.get(), n.c_str());
    if (l.ok() && *l == want) continue;
    if (l.ok()) ::unlinkat(root.get(), n.c_str(), 0);
    if (::symlinkat(want.c_str(), root.get(), n.c_str()) != 0) {
      return ErrnoError("symlink " + dir + "/" + n);
    }
  }

  // 6. Old names the new version lacks, then old versions (also any left by an interrupted write).
  for (const auto& n : old_top) {
    if (new_top.count(n)) continue;
    struct stat st;
    if (::fstatat(root.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      ::unlinkat(root.get(), n.c_str(), 0);
    }
  }
  if (auto names = ListDir(dir); names.ok()) {
    for (const auto& n : *names) {
      if (IsVersionDirName(n) && n != version) RETURN_IF_ERROR(RemoveAll(dir + "/" + n));
    }
  }
  return true;
}

}  // namespace nanolet::volume
