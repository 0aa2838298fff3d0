#pragma once
// Pod namespaces created by nanolet itself, so that CNI ADD and container creation can overlap
// (DESIGN.md, "The fast path"): every container, the pause container included, joins them by path.
//
// Layout: one flat directory (the runtime uses ROOT-independent tmpfs, e.g. /run/nanolet/ns), and
// per pod `DIR/<id>-net`, `DIR/<id>-ipc`, `DIR/<id>-uts`, each an nsfs bind mount, as `ip netns
// add` makes /run/netns/<name>. DIR itself is made a mount point (bound onto itself) with shared
// propagation, as iproute2 does for /run/netns, so that unmounting a namespace file here also
// unmounts the copies in mount namespaces created after it (letting the kernel free the namespace).
// That self bind mount of DIR stays for the life of the machine, like /run/netns.
//
// How: a short-lived thread unshare(2)s the new namespaces (unshare in a thread moves only that
// thread), sets the hostname in the new UTS namespace, brings `lo` up in the new network namespace,
// bind-mounts /proc/thread-self/ns/<kind> onto each file and exits. No fork, no exec: well under a
// millisecond.
//
// `lo` is brought up here (one ioctl) so that the CNI loopback plugin, an extra exec per ADD and
// per DEL, is not needed for nanolet's own namespaces (CniOptions::run_loopback_plugin).
//
// PID namespaces (shareProcessNamespace) are not created here: a PID namespace needs a process
// inside it, so runc creates it with the pause container and the others join /proc/<pause
// pid>/ns/pid.
//
// Teardown order matters: CNI DEL must run while the network namespace still exists (the bridge
// plugin finds eth0's addresses there to remove its iptables masquerade rules), then
// RemovePodNamespaces.
#include <string>

#include "util/result.h"

namespace nanolet::network {

struct PodNamespaceOptions {
  bool net = true;
  bool ipc = true;
  bool uts = true;
  // Set with sethostname(2) in the new UTS namespace; empty leaves the kernel's default.
  std::string hostname;
  // Bring the loopback interface up in the new network namespace.
  bool loopback_up = true;
};

// The namespace files of one pod. Move-only. The destructor removes what it holds (unmount and
// unlink) unless Release() was called, so an error path between creation and hand-over cannot leak
// a mounted namespace.
class PodNamespaces {
 public:
  PodNamespaces() = default;
  PodNamespaces(PodNamespaces&& o) noexcept;
  PodNamespaces& operator=(PodNamespaces&& o) noexcept;
  PodNamespaces(const PodNamespaces&) = delete;
  PodNamespaces& operator=(const PodNamespaces&) = delete;
  ~PodNamespaces();

  // Paths of the namespace files; empty for a kind that was not asked for.
  const std::string& net_path() const { return net_; }
  const std::string& ipc_path() const { return ipc_; }
  const std::string& uts_path() const { return uts_; }

  // Unmounts and unlinks now. Idempotent.
  Result<void> Remove();
  // Keeps the namespaces: the caller now owns them (recorded in its pod state) and removes them
  // later with RemovePodNamespaces(dir, id).
  void Release();

 private:
  friend Result<PodNamespaces> CreatePodNamespaces(const std::string&, const std::string&,
                                                   const PodNamespaceOptions&);
  std::string net_, ipc_, uts_;
  bool armed_ = false;
};

// Creates the namespaces asked for in `options` as DIR/<id>-{net,ipc,uts}. `id` is a file-name-safe
// identifier (the sandbox id). Fails with kAlreadyExists if a file of that pod is already there
// (remove it first). On failure nothing is left behind. Safe to call from several threads at once
// for different ids.
Result<PodNamespaces> CreatePodNamespaces(const std::string& dir, const std::string& id,
                                          const PodNamespaceOptions& options = {});

// Unmounts (MNT_DETACH) and unlinks DIR/<id>-{net,ipc,uts}. Missing or already unmounted files are
// fine (idempotent; used by recovery after a restart).
Result<void> RemovePodNamespaces(const std::string& dir, const std::string& id);

// "DIR/<id>-<kind>", kind one of "net", "ipc", "uts".
std::string PodNamespacePath(const std::string& dir, const std::string& id, const char* kind);

// Whether `path` is a mounted namespace file (nsfs), i.e. joinable with setns(2).
bool IsNamespaceMount(const std::string& path);

}  // namespace nanolet::network
