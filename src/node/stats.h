#pragma once
// The Summary API (/stats/summary, k8s.io/kubelet/pkg/apis/stats/v1alpha1) read from cgroups, v1 or
// v2.
//
// Cgroup layout (created by the OCI runtime): pod `<parent>/pod<uid>`, container
// `<parent>/pod<uid>/<id>` (the id from status `runc://<id>`), relative to each v1 controller mount
// (cpuacct, memory) or to the v2 root; <parent> is StatsOptions::cgroup_parent, the runtime's
// OciOptions::cgroup_parent (default "nanolet"; NANOLET_CGROUP_PARENT). The node's figures come
// from the root cgroup (/proc when the root has no such files, as under v2).
//
// usageNanoCores is a rate and needs two samples. As cAdvisor's housekeeping, the owner calls
// Sample() on a timer (the node API server: at start, 1 s later, then every 10 s); each Sample()
// computes, per cgroup, the rate against its previous sample when that is at least 1 s older.
// Summary() reports the rate of the last two samples and never samples itself, so the figure does
// not depend on how often or when clients ask. Until a cgroup has two samples its usageNanoCores is
// omitted, as upstream omits a nil pointer.
//
// Thread-safety: Summary() and Sample() may be called from any thread (the sample map has its own
// mutex).
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/types.h"
#include "util/clock.h"
#include "util/result.h"

namespace nanolet::node {

// Where the cgroup filesystems are and which version they speak.
class CgroupFs {
 public:
  // `root`: /sys/fs/cgroup normally. v2 when ROOT/cgroup.controllers exists (pure v2); else v1
  // controllers under ROOT/<controller> (hybrid machines keep their v2 tree at ROOT/unified, unused
  // here).
  explicit CgroupFs(std::string root = "/sys/fs/cgroup");
  bool v2() const { return v2_; }

  struct Sample {
    TimePoint time;
    uint64_t cpu_usage_ns = 0;
    uint64_t memory_usage = 0;
    uint64_t working_set = 0;  // usage - inactive_file, as cAdvisor
    uint64_t rss = 0;
    uint64_t page_faults = 0;
    uint64_t major_page_faults = 0;
    std::optional<uint64_t> memory_limit;  // none when unlimited
  };
  // Reads cgroup `rel` ("" is the root; "nanolet/pod<uid>" ...). NotFound when it does not exist.
  Result<Sample> Read(const std::string& rel, TimePoint now) const;
  // Only the cumulative CPU time of `rel` (ns): one file, for the periodic sampler that needs
  // nothing else.
  Result<uint64_t> ReadCpuUsage(const std::string& rel) const;

  // Directory of controller `ctl` (v1: cpuacct/memory; ignored on v2) for `rel`.
  std::string Path(const std::string& ctl, const std::string& rel) const;

 private:
  std::string root_;
  bool v2_ = false;
  std::string cpuacct_;  // v1: ROOT/cpuacct or ROOT/cpu,cpuacct (looked up once)
};

struct StatsOptions {
  std::string node_name;
  std::string root_dir;      // --root-dir: node fs, image fs, container rootfs capacities
  std::string pod_logs_dir;  // --pod-logs-dir: logs usage
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string proc_root = "/proc";
  const Clock* clock = nullptr;  // RealClock when null
  // Pods' cgroup parent, relative to the hierarchy roots (leading and trailing '/' ignored).
  std::string cgroup_parent = "nanolet";
};

class StatsProvider {
 public:
  explicit StatsProvider(StatsOptions opts);

  // The Summary JSON for `pods` (the PodView snapshot): node, then one entry per pod with a start
  // time, its containers that have a container id. Missing cgroups leave their stats out, never
  // fail the call.
  nlohmann::json Summary(const std::vector<api::Pod>& pods);

  // Takes CPU samples of the node and of every pod and container cgroup (a housekeeping tick).
  void Sample(const std::vector<api::Pod>& pods);

  // Pod cgroup path relative to the hierarchy root: <parent>/pod<uid>.
  static std::string PodCgroup(const std::string& uid, const std::string& parent = "nanolet");
  // The cgroup parent as used in paths ("nanolet", "a/b").
  const std::string& cgroup_parent() const { return parent_; }
  // Strips a `runc://` (any `scheme://`) prefix.
  static std::string ContainerIdFromStatus(const std::string& container_id);

 private:
  struct CpuState {
    TimePoint time;
    uint64_t usage_ns = 0;
    std::optional<uint64_t> rate;  // nanocores
  };
  // Records `s` for `rel` (a housekeeping sample).
  void Record(const std::string& rel, const CgroupFs::Sample& s);
  // The rate of the last two samples of `rel`, if any.
  std::optional<uint64_t> Rate(const std::string& rel);
  nlohmann::json NodeJson(TimePoint now);
  // nanolet's own cgroup (memory controller on v1), relative; "" for the root.
  std::string SelfCgroup() const;

  const StatsOptions opts_;
  const Clock& clock_;
  const CgroupFs cg_;
  const std::string parent_;  // normalized opts_.cgroup_parent
  std::mutex mu_;
  std::map<std::string, CpuState> cpu_;  // guarded by mu_; keyed by cgroup rel path
};

}  // namespace nanolet::node
