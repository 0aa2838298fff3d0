#pragma once
// OciRuntime: the Runtime interface on runc. Each pod sandbox is a pause container holding network, IPC and
// UTS namespaces that nanolet creates itself (bind-mounted files); app containers join them by path. Each
// container runs under its own nanolet-monitor, which outlives nanolet, writes the CRI log and records the
// exit status; all state lives under ROOT/runtime, so a restarted nanolet adopts what is running.
//
// The fast path: RunPodSandbox starts CNI ADD on a thread of its own, runs the pause container meanwhile and
// returns (the sandbox is Ready without an IP). CreateContainer prepares the rootfs and the bundle only.
// StartContainer has the monitor run `runc run --detach` (one runc process, as containerd creates its task
// at start); while the pod's CNI ADD is still in flight it runs `runc create` instead, waits for the network
// (the pod IP goes into /etc/hosts in place) and then `runc start`: the costly runc work overlaps CNI, and no
// container process runs without its network. A failed ADD turns the sandbox NotReady.
//
// Layout under ROOT/runtime:
//   runc/                       runc --root (state of our containers only)
//   exits/<id>.json             exit files written by monitors (watched with inotify)
//   pause/rootfs/pause          the pause program
//   sandboxes/<sid>/            meta.json, hosts, resolv.conf, hostname, shm/ (tmpfs), bundle/config.json
//   containers/<cid>/           meta.json, config.json, rootfs/ (overlay), upper/, work/, pid
//
// Thread-safety: every public method may be called from any thread. mu_ guards the maps and records;
// runc, CNI and mounts run outside it. The kubelet serialises calls per pod.
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/runtime.h"

namespace nanolet::image {
class ImageStore;
}
namespace nanolet::network {
class CniNetwork;
}

namespace nanolet::runtime::oci {

struct OciOptions {
  std::string root_dir = "/var/lib/nanolet";
  std::string runc;          // path; "" = find "runc" on PATH
  std::string monitor_path;  // nanolet-monitor; "" = next to /proc/self/exe
  std::string pause_path;    // nanolet-pause; "" = next to /proc/self/exe
  std::vector<std::string> cni_bin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
  std::string cni_conf_dir = "/etc/cni/net.d";
  // Overrides for the built-in bridge config (tests use their own bridge and subnet).
  std::string cni_bridge = "nanolet0";
  std::string cni_subnet = "10.88.0.0/16";
  // Namespace files (tmpfs: they die with the machine, as the namespaces do) and the cgroup under which every
  // pod gets pod<uid>. Tests give each nanolet its own so that leak checks see only their own.
  std::string netns_dir = "/run/nanolet/ns";
  std::string cgroup_parent = "/nanolet";
  std::vector<std::string> insecure_registries;
  int64_t log_max_size = 10 << 20;
  int log_max_files = 5;
};

class OciRuntime final : public Runtime {
 public:
  // Creates directories, loads state left by an earlier nanolet and starts the exit watcher.
  static Result<std::unique_ptr<OciRuntime>> Create(const OciOptions& options);
  ~OciRuntime() override;

  Result<VersionInfo> Version() override;
  Result<std::string> RunPodSandbox(const SandboxConfig& config) override;
  Result<void> StopPodSandbox(const std::string& sandbox_id) override;
  Result<void> RemovePodSandbox(const std::string& sandbox_id) override;
  Result<SandboxStatus> PodSandboxStatus(const std::string& sandbox_id) override;
  Result<std::vector<SandboxStatus>> ListPodSandboxes() override;
  Result<std::string> CreateContainer(const std::string& sandbox_id, const ContainerConfig& config,
                                      const SandboxConfig& sandbox_config) override;
  Result<void> StartContainer(const std::string& container_id) override;
  Result<void> StopContainer(const std::string& container_id, std::chrono::milliseconds grace) override;
  Result<void> RemoveContainer(const std::string& container_id) override;
  Result<ContainerStatus> GetContainerStatus(const std::string& container_id) override;
  Result<std::vector<ContainerStatus>> ListContainers() override;
  uint64_t StateGeneration() override { return generation_.load(); }
  Result<std::vector<SandboxStatus>> ListPodSandboxesOf(const std::string& pod_uid) override;
  Result<std::vector<ContainerStatus>> ListContainersOf(const std::string& pod_uid) override;
  Result<ExecResult> ExecSync(const std::string& container_id, const std::vector<std::string>& cmd,
                              std::chrono::milliseconds timeout) override;
  Result<ImageInfo> ImageStatus(const std::string& ref) override;
  Result<ImageInfo> PullImage(const std::string& ref, const PullAuth& auth) override;
  Result<std::vector<ImageInfo>> ListImages() override;
  Result<void> RemoveImage(const std::string& ref) override;
  void SetEventHandler(std::function<void(const ContainerEvent&)> handler) override;

  image::ImageStore& images() { return *images_; }

  struct SandboxRecord;
  struct ContainerRecord;

 private:
  explicit OciRuntime(const OciOptions& options);
  Result<void> Init();
  void LoadState();
  void WatchExits();
  void OnExitFile(const std::string& id);
  std::vector<std::string> Runc(std::vector<std::string> args) const;
  Result<void> RuncUsable() const;  // an error naming the runc binary when it is missing
  Result<void> SaveSandbox(SandboxRecord& s);
  // The fast path: CNI ADD on the sandbox's own thread; WaitNetwork blocks until it ended (kUnavailable on
  // failure); JoinNetwork joins the thread (before DEL, teardown and destruction).
  void SetUpNetworkAsync(const std::shared_ptr<SandboxRecord>& rec, const std::string& hostname);
  Result<void> WaitNetwork(SandboxRecord& rec);
  void JoinNetwork(SandboxRecord& rec);
  Result<void> SaveContainer(const ContainerRecord& c);
  // Waits until the exit file of `id` exists or the deadline passes; true when it exited.
  bool WaitExit(const std::string& id, std::chrono::steady_clock::time_point deadline);
  Result<void> KillAndWait(const std::string& id, int signal, std::chrono::milliseconds grace);
  Result<void> CleanupSandbox(SandboxRecord& s);
  Result<void> CleanupContainerFiles(const std::string& id);
  std::string PodCgroup(const std::string& pod_uid) const;

  OciOptions opts_;  // constant after construction
  std::string state_dir_, runc_root_, exits_dir_, pause_rootfs_, netns_dir_;
  std::string runc_version_;
  std::unique_ptr<image::ImageStore> images_;
  std::unique_ptr<network::CniNetwork> cni_;

  std::mutex mu_;
  std::condition_variable exit_cv_;  // signalled (with mu_) when an exit file is seen
  std::condition_variable net_cv_;   // signalled (after mu_) when a sandbox's CNI ADD ended
  std::map<std::string, std::shared_ptr<SandboxRecord>> sandboxes_;      // guarded by mu_
  std::map<std::string, std::shared_ptr<ContainerRecord>> containers_;  // guarded by mu_
  std::function<void(const ContainerEvent&)> handler_;                   // guarded by mu_
  // StateGeneration: bumped after every change of the maps or of a record's state (the saves follow them).
  std::atomic<uint64_t> generation_{1};
  void Changed() { generation_.fetch_add(1); }

  int inotify_fd_ = -1;
  int wake_fd_ = -1;  // eventfd to stop the watcher
  std::thread watcher_;
};

}  // namespace nanolet::runtime::oci
