#include "runtime/volume/subpath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

namespace nanolet::volume {
namespace subpath_detail {

int OpenBeneath(int root, const std::string& rel, uint64_t flags) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how);
    if (fd < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return static_cast<int>(fd);
  }
}

// Kernels without openat2 (before 5.6): walk element by element with O_NOFOLLOW and refuse every
// symlink (stricter than upstream, never less safe).
int OpenNoSymlinks(int root, const std::vector<std::string>& elems, size_t n) {
  int cur = ::dup(root);
  for (size_t i = 0; i < n && cur >= 0; ++i) {
    int next = ::openat(cur, elems[i].c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    ::close(cur);
    if (next < 0) {
      errno = err;
      return -1;
    }
    struct stat st;
    if (::fstat(next, &st) == 0 && S_ISLNK(st.st_mode)) {
      ::close(next);
      errno = EXDEV;
      return -1;
    }
    cur = next;
  }
  return cur;
}

std::atomic<bool> have_openat2{true};

int OpenPrefix(int root, const std::vector<std::string>& elems, size_t n) {
  if (n == 0) return ::dup(root);
  if (have_openat2) {
    std::string rel;
    for (size_t i = 0; i < n; ++i) rel += (i ? "/" : "") + elems[i];
    int fd = OpenBeneath(root, rel, O_PATH);
    if (fd >= 0 || errno != ENOSYS) return fd;
    have_openat2 = false;
  }
  return OpenNoSymlinks(root, elems, n);
}

}  // namespace subpath_detail

using namespace subpath_detail;

Result<UniqueFd> OpenSubPathBeneath(const std::string& volume_root, const std::string& sub_path) {
  std::string ctx = "subPath \"" + sub_path + "\"";
  if (sub_path.empty() || sub_path[0] == '/') return Invalid(ctx + ": must be a relative path");
  std::vector<std::string> elems;
  for (size_t i = 0; i <= sub_path.size();) {
    size_t j = sub_path.find('/', i);
    if (j == std::string::npos) j = sub_path.size();
    std::string e = sub_path.substr(i, j - i);
    if (e == "..") return Invalid(ctx + ": must not contain '..'");
    if (!e.empty() && e != ".") elems.push_back(e);
    i = j + 1;
  }
  UniqueFd root(::open(volume_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoError("open volume " + volume_root).Wrap(ctx);
  size_t created_at = 0;  // the element last created, to stop on a dangling symlink
  for (size_t n = 1; n <= elems.size(); ++n) {
    UniqueFd fd(OpenPrefix(root.get(), elems, n));
    if (fd.valid()) {
      if (n == elems.size()) return fd;
      continue;
    }
    if (errno == EXDEV || errno == ELOOP) {
      return Invalid(ctx + " resolves outside the volume (through a symlink)");
    }
    if (errno != ENOENT) return ErrnoError("open").Wrap(ctx);
    if (created_at == n)
      return Invalid(ctx + ": element \"" + elems[n - 1] + "\" is a dangling symlink");
    created_at = n;
    // Missing: create it below its (checked) parent. A dangling symlink there makes mkdirat fail
    // with EEXIST, and the next open resolves it beneath the volume or refuses it.
    UniqueFd parent(OpenPrefix(root.get(), elems, n - 1));
    if (!parent.valid()) return ErrnoError("open parent").Wrap(ctx);
    if (::mkdirat(parent.get(), elems[n - 1].c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError("mkdir " + elems[n - 1]).Wrap(ctx);
    }
    --n;  // open the same prefix again
  }
  return UniqueFd(::dup(root.get()));
}

Result<std::string> BindSubPath(const std::string& volume_root, const std::string& sub_path,
                                const std::string& target) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenSubPathBeneath(volume_root, sub_path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat subPath " + sub_path);
  // Replace an earlier bind (a restarted container) with one of what the subPath is now.
  while (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
  }
  auto slash = target.find_last_of('/');
  RETURN_IF_ERROR(MkdirAll(target.substr(0, slash), 0750));
  struct stat tst;
  bool exists = ::lstat(target.c_str(), &tst) == 0;
  if (exists && (S_ISDIR(tst.st_mode) != S_ISDIR(st.st_mode) || S_ISLNK(tst.st_mode))) {
    if (S_ISDIR(tst.st_mode) ? ::rmdir(target.c_str()) : ::unlink(target.c_str())) {
      return ErrnoError("remove " + target);
    }
    exists = false;
  }
  if (!exists) {
    if (S_ISDIR(st.st_mode)) {
      if (::mkdir(target.c_str(), 0750) != 0) return ErrnoError("mkdir " + target);
    } else {
      int t = ::open(target.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0640);
      if (t < 0) return ErrnoError("create " + target);
      ::close(t);
    }
  }
  std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
  if (::mount(proc.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return ErrnoError("bind subPath " + sub_path + " onto " + target);
  }
  return target;
}

}  // namespace nanolet::volume
