#pragma once
// The Runtime interface: the whole contract the pod workers see (CRI-shaped). Implementations: oci/ (runc,
// pause sandbox, CNI, OCI images) and fake_runtime.h for unit tests. Callers never see runc, CNI or paths.
//
// Every method may block (runc, CNI, pulls): the kubelet calls them from its worker pool, at most one call in
// flight per pod. Implementations are thread-safe across pods.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/result.h"

namespace nanolet::runtime {

using Labels = std::map<std::string, std::string>;

struct PortMapping {
  std::string protocol = "TCP";  // TCP, UDP, SCTP
  int32_t container_port = 0;
  int32_t host_port = 0;  // 0: none
  std::string host_ip;
};

struct DnsConfig {
  std::vector<std::string> servers;
  std::vector<std::string> searches;
  std::vector<std::string> options;
};

struct SandboxConfig {
  std::string pod_uid;
  std::string pod_name;
  std::string pod_namespace;
  uint32_t attempt = 0;
  std::string hostname;
  std::string log_directory;  // --pod-logs-dir/<ns>_<name>_<uid>
  DnsConfig dns;
  std::vector<PortMapping> port_mappings;
  bool host_network = false;
  bool host_pid = false;
  bool host_ipc = false;
  bool share_process_namespace = false;
  // /etc/hosts extras (hostAliases): ip -> names
  std::vector<std::pair<std::string, std::vector<std::string>>> host_aliases;
  // Pod-level limits for the per-pod cgroup (0: none).
  int64_t cpu_quota_us = 0;
  int64_t cpu_period_us = 0;
  int64_t memory_limit_bytes = 0;
  std::vector<int64_t> supplemental_groups;
  // The fast path (DESIGN.md): RunPodSandbox returns once the pause container runs, with CNI ADD still in
  // flight; containers are created meanwhile and StartContainer waits for the network before the process
  // starts. Set when a container needs the pod IP before it is created (env from status.podIP(s)): then
  // RunPodSandbox returns only once the network is up.
  bool wait_for_network = false;
  Labels labels;
  Labels annotations;
};

struct Mount {
  std::string container_path;
  std::string host_path;
  bool readonly = false;
  // "private" (default), "rslave" (HostToContainer) or "rshared" (Bidirectional).
  std::string propagation = "private";
};

struct SecurityContext {
  bool privileged = false;
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  std::string run_as_username;  // from the image's USER when not numeric
  std::vector<std::string> add_capabilities;   // "NET_ADMIN" or "CAP_NET_ADMIN"; "ALL"
  std::vector<std::string> drop_capabilities;  // "ALL" drops everything not added
  bool readonly_rootfs = false;
  bool no_new_privs = false;  // allowPrivilegeEscalation: false
  std::vector<int64_t> supplemental_groups;
};

struct Resources {
  int64_t cpu_shares = 0;       // 2..262144; 0: runtime default
  int64_t cpu_quota_us = 0;     // 0: unlimited
  int64_t cpu_period_us = 0;    // default 100000 when quota is set
  int64_t memory_limit_bytes = 0;
  int64_t oom_score_adj = 0;    // never negative here (see DESIGN.md facts)
};

struct ContainerConfig {
  std::string name;
  uint32_t attempt = 0;  // restart count
  std::string image;     // a reference the image store resolves
  // Kubernetes semantics: command replaces the image ENTRYPOINT, args replaces CMD; the runtime merges with
  // the image config. Both already $(VAR)-expanded by the kubelet.
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::string working_dir;
  // Container env after expansion; the runtime puts the image's env first (container wins).
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<Mount> mounts;
  std::string log_path;  // relative to the sandbox's log_directory: "<container>/<attempt>.log"
  bool tty = false;
  bool stdin_open = false;
  SecurityContext security;
  Resources resources;
  Labels labels;
  Labels annotations;
};

enum class SandboxState { kReady, kNotReady };
enum class ContainerState { kCreated, kRunning, kExited, kUnknown };

struct SandboxStatus {
  std::string id;
  SandboxState state = SandboxState::kNotReady;
  std::string pod_uid, pod_name, pod_namespace;
  uint32_t attempt = 0;
  std::string ip;                // primary pod IP ("" for hostNetwork: the kubelet reports the host IP)
  std::vector<std::string> ips;  // all pod IPs
  TimePoint created_at{};
  // The fast path: Ready while CNI ADD is still in flight (no IP yet); not a sandbox to replace.
  bool network_pending = false;
  // Why its network failed after RunPodSandbox returned (the fast path); the sandbox is NotReady then.
  std::string network_error;
  std::string network_namespace_path;
  Labels labels;
  Labels annotations;
};

struct ContainerStatus {
  std::string id;
  std::string sandbox_id;
  std::string name;
  uint32_t attempt = 0;
  ContainerState state = ContainerState::kUnknown;
  TimePoint created_at{};
  TimePoint started_at{};
  TimePoint finished_at{};
  int32_t exit_code = 0;
  int32_t signal = 0;
  std::string reason;   // "Completed", "Error", "OOMKilled" once exited
  std::string message;  // termination message when the runtime read one
  std::string image;    // the reference as asked for
  std::string image_id; // resolved: "<repo>@sha256:<digest>" or "sha256:<config digest>"
  int64_t pid = 0;
  std::string log_path;  // absolute
  Labels labels;
  Labels annotations;
};

struct ExecResult {
  int exit_code = -1;
  bool timed_out = false;
  std::string out;
  std::string err;
};

struct ImageInfo {
  std::string id;  // "sha256:<config digest>"
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  int64_t size = 0;
};

struct PullAuth {
  std::string username, password, identity_token, registry_token;
};

// Reported asynchronously by the runtime (from container monitors) as soon as it notices.
struct ContainerEvent {
  // kSandboxNetwork: a sandbox's network setup ended (pod IP known, or the sandbox turned NotReady);
  // container_id is the sandbox's ID.
  enum class Type { kStarted, kExited, kSandboxNetwork } type = Type::kExited;
  std::string container_id;
  std::string sandbox_id;
  std::string pod_uid;
  TimePoint at{};
};

struct VersionInfo {
  std::string runtime_name;     // "runc"
  std::string runtime_version;  // "1.1.5"
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  virtual Result<VersionInfo> Version() = 0;

  // Sandboxes. RunPodSandbox creates the namespaces, network and pause container; on failure nothing is left.
  // The network may still be coming up when it returns (SandboxConfig::wait_for_network): the sandbox is Ready
  // without an IP until then, StartContainer waits for it, and a failure turns the sandbox NotReady and fails
  // the waiting StartContainer with ErrorCode::kUnavailable.
  virtual Result<std::string> RunPodSandbox(const SandboxConfig& config) = 0;
  // Stops every container of the sandbox (kill), then the pause container; releases the network. Idempotent.
  virtual Result<void> StopPodSandbox(const std::string& sandbox_id) = 0;
  // Removes what is left (containers, bundles, netns, cgroup, files). Idempotent; NotFound is success.
  virtual Result<void> RemovePodSandbox(const std::string& sandbox_id) = 0;
  virtual Result<SandboxStatus> PodSandboxStatus(const std::string& sandbox_id) = 0;
  virtual Result<std::vector<SandboxStatus>> ListPodSandboxes() = 0;

  // Containers.
  virtual Result<std::string> CreateContainer(const std::string& sandbox_id, const ContainerConfig& config,
                                              const SandboxConfig& sandbox_config) = 0;
  virtual Result<void> StartContainer(const std::string& container_id) = 0;
  // SIGTERM (or the image's STOPSIGNAL) to PID 1, SIGKILL when `grace` runs out; returns once it is dead.
  virtual Result<void> StopContainer(const std::string& container_id, std::chrono::milliseconds grace) = 0;
  virtual Result<void> RemoveContainer(const std::string& container_id) = 0;
  virtual Result<ContainerStatus> GetContainerStatus(const std::string& container_id) = 0;
  virtual Result<std::vector<ContainerStatus>> ListContainers() = 0;
  // Those of one pod (CRI's List* with a pod-UID label filter, as upstream's GetPodStatus asks, so a pod sync
  // does not copy every pod's objects). A runtime may return more (callers still group with
  // RuntimePodStatus::Build); the defaults list everything.
  virtual Result<std::vector<SandboxStatus>> ListPodSandboxesOf(const std::string& pod_uid) {
    return ListPodSandboxes();
  }
  virtual Result<std::vector<ContainerStatus>> ListContainersOf(const std::string& pod_uid) {
    return ListContainers();
  }
  // A number that changes whenever a sandbox or container is added, removed or changes state, so that a caller
  // polling the lists (housekeeping) can skip a scan when nothing changed. 0: the runtime does not say (every
  // call must be taken as a change).
  virtual uint64_t StateGeneration() { return 0; }
  // Runs cmd inside the container; on timeout the process is killed and timed_out is set.
  virtual Result<ExecResult> ExecSync(const std::string& container_id, const std::vector<std::string>& cmd,
                                      std::chrono::milliseconds timeout) = 0;

  // Images. ImageStatus returns NotFound when the image is absent.
  virtual Result<ImageInfo> ImageStatus(const std::string& ref) = 0;
  virtual Result<ImageInfo> PullImage(const std::string& ref, const PullAuth& auth) = 0;
  virtual Result<std::vector<ImageInfo>> ListImages() = 0;
  virtual Result<void> RemoveImage(const std::string& ref) = 0;

  // The handler runs on a runtime-owned thread; it must only post to its owner's queue.
  virtual void SetEventHandler(std::function<void(const ContainerEvent&)> handler) = 0;
};

}  // namespace nanolet::runtime
