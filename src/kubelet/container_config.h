#pragma once
// Translates a desired api::Pod into what the Runtime takes: the SandboxConfig of the pod and the
// ContainerConfig of each container (env with $(VAR) expansion and downward-API fieldRefs, command/args
// expansion, resources as cgroup settings, mounts, log paths, labels). Pure apart from the lookups given.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "runtime/runtime.h"
#include "util/result.h"

namespace nanolet::kubelet {

struct PodContext {
  std::string node_name;
  std::string pod_logs_dir;  // --pod-logs-dir
  std::string pod_ip;        // status.podIP (empty before the sandbox has one)
  std::vector<std::string> pod_ips;
  std::string host_ip;
  // ConfigMap and Secret lookups for env (namespace, name) -> data (a ConfigMap's `data`, a Secret's
  // decoded `data`); an error with ErrorCode::kNotFound when absent, any other error when unusable.
  using ObjectLookup =
      std::function<Result<std::map<std::string, std::string>>(const std::string&, const std::string&)>;
  ObjectLookup config_map;
  ObjectLookup secret;
};

// "<namespace>_<name>_<uid>" under --pod-logs-dir (upstream BuildPodLogsDirectory).
std::string PodLogsDirectory(const std::string& logs_root, const api::Pod& pod);

runtime::SandboxConfig MakeSandboxConfig(const api::Pod& pod, uint32_t attempt, const PodContext& ctx);

// Expands $(VAR) references as upstream third_party/forked/golang/expansion: `$(NAME)` becomes the value
// when NAME is defined, stays as written otherwise; `$$` is an escaped `$`.
std::string ExpandVars(std::string_view in, const std::function<std::optional<std::string>(std::string_view)>& lookup);

// The container's environment, in order: envFrom sources, then env (each value expanded against what
// came before it), as upstream makeEnvironmentVariables. envFrom keys that are not valid variable names
// (after the prefix) are skipped and logged, as upstream. Errors carry the upstream
// CreateContainerConfigError message (e.g. `configmap "x" not found`).
Result<std::vector<std::pair<std::string, std::string>>> MakeEnvironment(const api::Pod& pod,
                                                                         const api::Container& c,
                                                                         const PodContext& ctx);

// `mounts` are the volume mounts already resolved to host paths by the volume manager.
Result<runtime::ContainerConfig> MakeContainerConfig(const api::Pod& pod, const api::Container& c,
                                                     uint32_t attempt, const PodContext& ctx,
                                                     std::vector<runtime::Mount> mounts);

// CPU request -> shares, CPU limit -> quota/period, memory limit -> bytes (upstream's
// MilliCPUToShares/MilliCPUToQuota with a 100 ms period).
runtime::Resources MakeResources(const api::Container& c);

}  // namespace nanolet::kubelet
