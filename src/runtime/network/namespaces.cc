#include "runtime/network/namespaces.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include "util/fs.h"
#include "util/log.h"

namespace nanolet::network {
namespace {

constexpr long kNsfsMagic = 0x6e736673;  // NSFS_MAGIC, linux/magic.h
constexpr const char* kKinds[] = {"net", "ipc", "uts"};

// Serialises making a namespace directory a shared mount point: two threads seeing "not a mount
// point" at once would each bind it onto itself and stack two mounts.
std::mutex dir_mu;

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 200 || id == "." || id == "..") return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// As iproute2's netns_add does for /run/netns: make DIR a mount point with shared propagation, so
// namespace mounts below it propagate between mount namespaces (and their unmounts too).
Result<void> PrepareDir(const std::string& dir) {
  RETURN_IF_ERROR(MkdirAll(dir, 0755));
  std::lock_guard<std::mutex> lock(dir_mu);
  bool bound = false;
  while (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    if (errno != EINVAL || bound) return ErrnoError("make " + dir + " a shared mount");
    // Not a mount point yet: bind it onto itself.
    if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
      return ErrnoError("bind mount " + dir + " onto itself");
    }
    bound = true;
  }
  return Ok();
}

Result<void> RemoveOne(const std::string& path) {
  // Unmount until nothing is mounted there (a crash between two attempts could have stacked
  // mounts).
  for (int i = 0; i < 8; ++i) {
    if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) break;
    return ErrnoError("unmount " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("remove " + path);
  return Ok();
}

Result<void> BringUpLoopback() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return ErrnoError("socket");
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return ErrnoError("get flags of lo");
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return ErrnoError("set lo up");
  return Ok();
}

// Runs on its own thread: everything here affects only this thread's namespaces, and the thread
// exits after.
Result<void> UnshareAndMount(int flags, const PodNamespaces& ns,
                             const PodNamespaceOptions& options) {
  if (::unshare(flags) != 0) return ErrnoError("unshare");
  if ((flags & CLONE_NEWUTS) && !options.hostname.empty() &&
      ::sethostname(options.hostname.data(), options.hostname.size()) != 0) {
    return ErrnoError("sethostname " + options.hostname);
  }
  if ((flags & CLONE_NEWNET) && options.loopback_up) RETURN_IF_ERROR(BringUpLoopback());
  const std::string* paths[] = {&ns.net_path(), &ns.ipc_path(), &ns.uts_path()};
  for (int i = 0; i < 3; ++i) {
    if (paths[i]->empty()) continue;
    std::string src = std::string("/proc/thread-self/ns/") + kKinds[i];
    if (::mount(src.c_str(), paths[i]->c_str(), "none", MS_BIND, nullptr) != 0) {
      return ErrnoError("bind mount " + src + " to " + *paths[i]);
    }
  }
  return Ok();
}

}  // namespace

std::string PodNamespacePath(const std::string& dir, const std::string& id, const char* kind) {
  return JoinPath(dir, id + "-" + kind);
}

bool IsNamespaceMount(const std::string& path) {
  struct statfs st;
  return ::statfs(path.c_str(), &st) == 0 && static_cast<long>(st.f_type) == kNsfsMagic;
}

PodNamespaces::PodNamespaces(PodNamespaces&& o) noexcept
    : net_(std::move(o.net_)), ipc_(std::move(o.ipc_)), uts_(std::move(o.uts_)), armed_(o.armed_) {
  o.armed_ = false;
}

PodNamespaces& PodNamespaces::operator=(PodNamespaces&& o) noexcept {
  if (this != &o) {
    if (armed_) (void)Remove();
    net_ = std::move(o.net_);
    ipc_ = std::move(o.ipc_);
    uts_ = std::move(o.uts_);
    armed_ = o.armed_;
    o.armed_ = false;
  }
  return *this;
}

PodNamespaces::~PodNamespaces() {
  if (!armed_) return;
  auto r = Remove();
  if (!r.ok()) log::Error("remove pod namespaces", {{"err", r.error().message()}});
}

Result<void> PodNamespaces::Remove() {
  Result<void> result;
  for (const std::string* p : {&net_, &ipc_, &uts_}) {
    if (p->empty()) continue;
    auto r = RemoveOne(*p);
    if (!r.ok() && result.ok()) result = std::move(r);
  }
  if (result.ok()) armed_ = false;
  return result;
}

void PodNamespaces::Release() { armed_ = false; }

Result<PodNamespaces> CreatePodNamespaces(const std::string& dir, const std::string& id,
                                          const PodNamespaceOptions& options) {
  if (!ValidId(id)) return Invalid("create pod namespaces: invalid id \"" + id + "\"");
  int flags = (options.net ? CLONE_NEWNET : 0) | (options.ipc ? CLONE_NEWIPC : 0) |
              (options.uts ? CLONE_NEWUTS : 0);
  PodNamespaces ns;
  if (flags == 0) return ns;
  RETURN_IF_ERROR_CTX(PrepareDir(dir), "create pod namespaces");

  ns.armed_ = true;  // from here on, every file created is removed if anything fails
  bool want[] = {options.net, options.ipc, options.uts};
  std::string* paths[] = {&ns.net_, &ns.ipc_, &ns.uts_};
  for (int i = 0; i < 3; ++i) {
    if (!want[i]) continue;
    std::string path = PodNamespacePath(dir, id, kKinds[i]);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!fd.valid()) {
      int e = errno;
      Error err = ErrnoError("create " + path, e);
      if (e == EEXIST) err = Error(err.message(), ErrorCode::kAlreadyExists);
      return std::move(err).Wrap("create pod namespaces");
    }
    *paths[i] = std::move(path);
  }

  Result<void> result = Error("not run");
  try {
    std::thread t([&] { result = UnshareAndMount(flags, ns, options); });
    t.join();
  } catch (const std::system_error& e) {
    return Error(std::string("create pod namespaces: start thread: ") + e.what());
  }
  if (!result.ok()) return std::move(result).error().Wrap("create pod namespaces");
  return ns;
}

Result<void> RemovePodNamespaces(const std::string& dir, const std::string& id) {
  if (!ValidId(id)) return Invalid("remove pod namespaces: invalid id \"" + id + "\"");
  Result<void> result;
  for (const char* kind : kKinds) {
    auto r = RemoveOne(PodNamespacePath(dir, id, kind));
    if (!r.ok() && result.ok()) result = std::move(r).error().Wrap("remove pod namespaces");
  }
  return result;
}

}  // namespace nanolet::network
