#pragma once
// NodeStatusAgent: this node's Node object and Lease in the apiserver, as upstream
// kubelet_node_status.go (registerWithAPIServer, updateNodeStatus, the nodestatus setters) and
// pkg/kubelet/nodelease.
//
//  - Registration: POST /api/v1/nodes; on AlreadyExists the existing Node is taken over (its
//  default labels
//    patched back when they differ, as upstream updateDefaultLabels). Retried with backoff (100 ms
//    doubling to 7 s, as upstream) while the apiserver is unreachable; pods keep running meanwhile.
//  - Status: computed every `status_update_frequency` (--node-status-update-frequency, 10 s) and
//  PATCHed
//    (strategic merge) to nodes/<name>/status when it changed (heartbeat times aside) or when
//    `status_report_frequency` (5 min) passed since the last report.
//  - Lease kube-node-lease/<name>: holderIdentity = node name, leaseDurationSeconds 40, renewTime
//  every
//    `lease_renew_interval` (10 s = duration/4, as upstream), ownerReference to the Node once its
//    UID is known. Renewals PUT the cached Lease with its resourceVersion; on 409 it is fetched
//    again and the PUT retried.
//
// Threading: one thread of its own; Start/Stop from one thread. NodeUID() from any thread.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/event_sink.h"
#include "api/types.h"
#include "client/rest_client.h"
#include "node/machine_info.h"
#include "util/clock.h"

namespace nanolet::kubelet {

// What upstream's eviction signals read on this machine (pkg/kubelet/eviction/api): unset when
// unknown. memory.available is /proc/meminfo MemAvailable (upstream: capacity less the root
// cgroup's working set); nodefs is the filesystem of --root-dir, imagefs that of ROOT/images;
// pid.available is min(pid_max, threads-max) less the tasks running.
struct NodeReadings {
  std::optional<uint64_t> memory_available;
  std::optional<uint64_t> nodefs_available, nodefs_capacity, nodefs_inodes_free, nodefs_inodes;
  std::optional<uint64_t> imagefs_available, imagefs_capacity, imagefs_inodes_free, imagefs_inodes;
  std::optional<uint64_t> pid_available, pid_max;
};
NodeReadings ReadNodeReadings(const std::string& root_dir);

// Upstream's default hard eviction thresholds on Linux (DefaultEvictionHard):
// memory.available<100Mi, nodefs.available<10%, nodefs.inodesFree<5%, imagefs.available<15%.
// pid.available has no default upstream (PIDPressure only with a configured threshold): unset here
// too.
struct EvictionThresholds {
  uint64_t memory_available = 100ULL << 20;
  double nodefs_available = 0.10;
  double nodefs_inodes_free = 0.05;
  double imagefs_available = 0.15;
  std::optional<double> pid_available;  // fraction of pid_max
};

struct NodePressure {
  bool memory = false, disk = false, pid = false;
  bool operator==(const NodePressure&) const = default;
};
// Which thresholds the readings cross (a signal without a reading never does).
NodePressure ComputePressure(const NodeReadings& r, const EvictionThresholds& t);

struct NodeStatusOptions {
  std::string node_name;
  std::map<std::string, std::string> extra_labels;  // --node-labels
  std::vector<std::string> host_ips;
  int kubelet_port = 10250;
  int max_pods = 110;
  std::string root_dir = "/var/lib/nanolet";  // its filesystem is the node's ephemeral-storage
  std::string kubelet_version = "v0.0.0";
  std::string runtime_version = "runc://unknown";
  Duration status_update_frequency = std::chrono::seconds(10);
  Duration status_report_frequency = std::chrono::minutes(5);
  int lease_duration_seconds = 40;
  Duration lease_renew_interval = std::chrono::seconds(10);
  bool register_node = true;
  EvictionThresholds eviction_hard;
  // A pressure stays reported this long after its signal went back under the threshold (upstream
  // --eviction-pressure-transition-period, 5 min).
  Duration pressure_transition_period = std::chrono::minutes(5);
  // The machine's readings (tests inject them); null: ReadNodeReadings(root_dir).
  std::function<NodeReadings()> readings;
  // Node events (NodeHasSufficientMemory, NodeReady, ...); null: none. Outlives the agent.
  api::EventSink* events = nullptr;
};

// The Node upstream's setters would produce for this machine (labels, capacity, allocatable,
// conditions all healthy, addresses, daemonEndpoints, nodeInfo). Times are `now`. Exposed for
// tests.
// Pressure conditions as upstream's setters: MemoryPressure KubeletHasInsufficientMemory /
// KubeletHasSufficientMemory, DiskPressure KubeletHasDiskPressure / KubeletHasNoDiskPressure,
// PIDPressure KubeletHasInsufficientPID / KubeletHasSufficientPID.
api::Node BuildNode(const NodeStatusOptions& opts, const node::MachineInfo& mi, TimePoint now,
                    const NodePressure& pressure = {});
// Node statuses equal apart from condition heartbeat times (upstream nodeStatusHasChanged)?
bool NodeStatusEqual(const api::NodeStatus& a, const api::NodeStatus& b);

class NodeStatusAgent {
 public:
  NodeStatusAgent(client::RestClient& client, NodeStatusOptions opts, const Clock& clock);
  ~NodeStatusAgent();
  void Start();
  void Stop();
  std::string NodeUID() const;
  bool Registered() const { return registered_.load(); }
  uint64_t lease_renewals() const { return renewals_.load(); }
  uint64_t status_patches() const { return patches_.load(); }

 private:
  void Run();
  Result<void> Register();
  Result<void> UpdateStatus(bool force);
  Result<void> RenewLease();
  void SleepFor(Duration d);

  client::RestClient& client_;
  const NodeStatusOptions opts_;
  const Clock& clock_;
  node::MachineInfo machine_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;     // guarded by mu_
  std::string node_uid_;  // guarded by mu_
  std::atomic<bool> registered_{false};
  std::atomic<uint64_t> renewals_{0}, patches_{0};
  // Agent thread only.
  api::NodeStatus last_sent_;
  bool sent_ = false;
  TimePoint memory_seen_{}, disk_seen_{}, pid_seen_{};  // last time each pressure was observed
  std::map<std::string, std::string> reported_;         // condition type -> status events told
  TimePoint last_report_{};
  std::map<std::string, std::string> transition_;  // condition type -> lastTransitionTime
  nlohmann::json lease_;                           // last Lease written or read; null when unknown
};

}  // namespace nanolet::kubelet
