#pragma once
// The pod status the kubelet reports, as upstream generateAPIPodStatus / convertToAPIContainerStatuses
// (pkg/kubelet/kubelet_pods.go), the prober manager's UpdatePodStatus (ready, started), the conditions of
// pkg/kubelet/status/generate.go and the status manager's lastTransitionTime/startTime rules. Pure.
// A caller may rely on:
// - container statuses: app ones sorted by name, init ones in spec order; state waiting ContainerCreating
//   (PodInitializing when the pod has init containers) before the first start, running with startedAt,
//   terminated with exitCode/signal/reason/message/startedAt/finishedAt/containerID "runc://<id>";
//   lastState = the previous run's terminated state; restartCount = the runtime attempt; a container that
//   will be restarted shows the ReasonCache entry (CrashLoopBackOff, ErrImagePull, ...) as its waiting
//   state, the exit it restarts from moving to lastState;
// - phase from GetPhase, never leaving Succeeded/Failed once reported; activeDeadlineSeconds exceeded
//   gives Failed/DeadlineExceeded;
// - conditions PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled (in that
//   order, after any condition not owned by the kubelet), lastTransitionTime kept from `previous` when the
//   condition's status did not change, else `now`;
// - qosClass kept from `previous`, else upstream GetPodQOS (kubelet/qos.h);
// - startTime kept from `previous`, else first_seen; podIP(s) from the newest sandbox when ready
//   (the host IP for hostNetwork pods); hostIP(s) from host_ips; times RFC 3339 in UTC.
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "kubelet/probe_results.h"
#include "kubelet/reason_cache.h"
#include "util/clock.h"

namespace nanolet::kubelet {

struct RuntimePodStatus;

inline constexpr std::string_view kDeadlineExceededReason = "DeadlineExceeded";
inline constexpr std::string_view kDeadlineExceededMessage =
    "Pod was active on the node longer than the specified deadline";

// Condition reasons (pkg/kubelet/status/generate.go).
inline constexpr std::string_view kUnknownContainerStatuses = "UnknownContainerStatuses";
inline constexpr std::string_view kPodCompleted = "PodCompleted";
inline constexpr std::string_view kPodFailedReason = "PodFailed";
inline constexpr std::string_view kContainersNotReady = "ContainersNotReady";
inline constexpr std::string_view kContainersNotInitialized = "ContainersNotInitialized";

struct PodStatusContext {
  // The status last generated for this pod (status manager); nullptr: the pod's own .status.
  const api::PodStatus* previous = nullptr;
  const ReasonCache* reasons = nullptr;  // nullptr: none
  const ProbeResults* probes = nullptr;  // nullptr: none have run
  std::vector<std::string> host_ips;     // the node's IPs, primary first
  bool pod_is_terminal = false;          // the worker will not run the pod's containers again
  TimePoint now{};
  TimePoint first_seen{};  // when the kubelet first saw the pod (startTime); zero: now
};

api::PodStatus GeneratePodStatus(const api::Pod& pod, const RuntimePodStatus& runtime, const PodStatusContext& ctx);

// The pieces, for the worker and for tests.
std::vector<api::ContainerStatus> ConvertContainerStatuses(const api::Pod& pod, const RuntimePodStatus& runtime,
                                                           const std::vector<api::ContainerStatus>& previous,
                                                           const std::vector<api::Container>& containers,
                                                           bool is_init, const ReasonCache* reasons);
// Sets started and ready as the prober manager does (statuses of pod.spec's containers, in place).
void ApplyProbeResults(const api::Pod& pod, const ProbeResults* probes, api::PodStatus& status);
// As upstream activeDeadlineHandler.pastActiveDeadline: a deadline is set, the pod has a start time and
// now - start >= deadline.
bool PastActiveDeadline(const api::Pod& pod, TimePoint start_time, TimePoint now);

api::PodCondition GenerateContainersReadyCondition(const api::Pod& pod,
                                                   const std::vector<api::ContainerStatus>& statuses,
                                                   std::string_view phase);
api::PodCondition GeneratePodReadyCondition(const api::Pod& pod, const std::vector<api::ContainerStatus>& statuses,
                                            std::string_view phase);
api::PodCondition GeneratePodInitializedCondition(const api::Pod& pod,
                                                  const std::vector<api::ContainerStatus>& statuses,
                                                  std::string_view phase);

// RFC 3339 text of t, "" for the zero time point.
std::string FormatTime(TimePoint t);

}  // namespace nanolet::kubelet
