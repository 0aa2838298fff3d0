#pragma once
// Why a container could not be started on the last sync (upstream pkg/kubelet/reason_cache.go): the pod
// worker records the reason and message of each failed start, keyed by container name, and clears it when
// the container starts. Status generation shows it as the container's waiting state. Plain data.
#include <map>
#include <string>
#include <string_view>

namespace nanolet::kubelet {

// Waiting reasons (upstream pkg/kubelet/container/sync_result.go, images/types.go, kubelet_pods.go).
inline constexpr std::string_view kReasonContainerCreating = "ContainerCreating";
inline constexpr std::string_view kReasonPodInitializing = "PodInitializing";
inline constexpr std::string_view kReasonCrashLoopBackOff = "CrashLoopBackOff";
inline constexpr std::string_view kReasonErrImagePull = "ErrImagePull";
inline constexpr std::string_view kReasonImagePullBackOff = "ImagePullBackOff";
inline constexpr std::string_view kReasonErrImageNeverPull = "ErrImageNeverPull";
inline constexpr std::string_view kReasonErrImageInspect = "ImageInspectError";
inline constexpr std::string_view kReasonCreateContainerConfigError = "CreateContainerConfigError";
inline constexpr std::string_view kReasonCreateContainerError = "CreateContainerError";
inline constexpr std::string_view kReasonRunContainerError = "RunContainerError";
// Terminated reasons.
inline constexpr std::string_view kReasonCompleted = "Completed";
inline constexpr std::string_view kReasonError = "Error";
inline constexpr std::string_view kReasonOOMKilled = "OOMKilled";
inline constexpr std::string_view kReasonContainerStatusUnknown = "ContainerStatusUnknown";

struct ContainerWaitingReason {
  std::string reason;   // one of the waiting reasons above
  std::string message;  // upstream's exact text, e.g. `Back-off pulling image "busybox"`
};

// Container name -> the last start failure of that container in this pod.
using ReasonCache = std::map<std::string, ContainerWaitingReason, std::less<>>;

}  // namespace nanolet::kubelet
