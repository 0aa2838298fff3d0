#pragma once
// Pod phase, exactly as upstream getPhase (pkg/kubelet/kubelet_pods.go), with restartable (sidecar) init
// containers and without the alpha ContainerRestartRules / RestartAllContainersOnContainerExits gates.
// A caller may rely on: the result is one of the five phase strings below; it depends only on the spec,
// the API container statuses (init and app statuses together, looked up by name) and the two flags.
#include <string_view>
#include <vector>

namespace nanolet::api {
struct ContainerStatus;
struct Container;
struct Pod;
}  // namespace nanolet::api

namespace nanolet::kubelet {

inline constexpr std::string_view kPodPending = "Pending";
inline constexpr std::string_view kPodRunning = "Running";
inline constexpr std::string_view kPodSucceeded = "Succeeded";
inline constexpr std::string_view kPodFailed = "Failed";
inline constexpr std::string_view kPodUnknown = "Unknown";

// pod_is_terminal: the pod worker decided the pod is done (its containers will not run again).
// pod_has_initialized: a regular container of the current sandbox has started (upstream
// HasAnyActiveRegularContainerStarted); keeps a pod whose sidecars restart out of Pending.
std::string_view GetPhase(const api::Pod& pod, const std::vector<api::ContainerStatus>& statuses,
                          bool pod_is_terminal, bool pod_has_initialized);

// An init container with restartPolicy Always (upstream podutil.IsRestartableInitContainer).
bool IsRestartableInitContainer(const api::Container& c);
// A pod whose config source is not the apiserver (upstream kubetypes.IsStaticPod: the
// kubernetes.io/config.source annotation is present and not "api").
bool IsStaticPod(const api::Pod& pod);

}  // namespace nanolet::kubelet
