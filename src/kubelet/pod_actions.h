#pragma once
// What the pod worker must do to converge the runtime to the desired pod, as upstream
// kuberuntime_manager.computePodActions (with computeInitContainerActions: init containers in
// order, each to success; restartable "sidecar" init containers kept running). Pure: no runtime
// calls, no clock. A caller may rely on:
// - kill_pod: stop every container and the sandbox(es) of the pod first; with create_sandbox, start
// over in
//   a new sandbox (attempt = sandbox_attempt) and remove the old init containers;
// - without kill_pod: kill containers_to_kill, then start init_containers_to_start then
// containers_to_start
//   (in that order, each list in spec order) in the sandbox `sandbox_id`;
// - kill_pod && !create_sandbox with nothing to start means the pod is done: its containers are
// finished
//   (restart policy) and only the sandbox is left to stop;
// - each container to start carries the attempt to pass in ContainerConfig (previous attempt + 1,
// or 0);
// - the restart backoff is not applied here: the worker checks CheckRestartBackOff before each
// start.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kubelet/probe_results.h"

namespace nanolet::api {
struct Container;
struct Pod;
}  // namespace nanolet::api

namespace nanolet::kubelet {

struct RuntimePodStatus;

// Why a container is killed (upstream containerKillReason); "" when the spec changed.
inline constexpr std::string_view kKillReasonStartupProbe = "StartupProbe";
inline constexpr std::string_view kKillReasonLivenessProbe = "LivenessProbe";
inline constexpr std::string_view kKillReasonUnknown = "Unknown";

struct ContainerToStart {
  size_t index = 0;  // into spec.init_containers or spec.containers
  std::string name;
  uint32_t attempt = 0;
};

struct ContainerToKill {
  std::string container_id;
  std::string name;
  std::string message;  // e.g. "Container app failed liveness probe, will be restarted"
  std::string reason;   // kKillReason*, or ""
};

struct PodActions {
  bool kill_pod = false;
  bool create_sandbox = false;
  std::string sandbox_id;  // the current sandbox ("" when there is none)
  uint32_t sandbox_attempt = 0;
  std::vector<ContainerToStart> init_containers_to_start;
  std::vector<ContainerToStart> containers_to_start;
  std::vector<ContainerToKill> containers_to_kill;

  // "KillPod: false, CreateSandbox: true, ..." for logs.
  std::string String() const;
};

PodActions ComputePodActions(const api::Pod& pod, const RuntimePodStatus& status,
                             const ProbeResults& probes);

// As upstream runtimeutil.PodSandboxChanged: whether a new sandbox is needed (none, none ready,
// more than one ready, network mode changed, no IP), the attempt for it, and the current sandbox's
// ID.
struct SandboxChange {
  bool changed = false;
  uint32_t attempt = 0;
  std::string sandbox_id;
};
SandboxChange PodSandboxChanged(const api::Pod& pod, const RuntimePodStatus& status);

// As upstream kubecontainer.ShouldContainerBeRestarted: never once the pod is being deleted; yes
// when the container never ran (or is created/unknown); no while it runs; else by restartPolicy and
// exit code.
bool ShouldContainerBeRestarted(const api::Container& container, const api::Pod& pod,
                                const RuntimePodStatus& status);

// The attempt for the next run of `name`: the newest runtime container's attempt + 1, or 0.
uint32_t NextAttempt(const RuntimePodStatus& status, std::string_view name);

}  // namespace nanolet::kubelet
