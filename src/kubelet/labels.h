#pragma once
// How runtime objects are tied to the pods and containers they run. A caller may rely on:
// - every sandbox and container nanolet creates carries the label keys below (as upstream's
//   pkg/kubelet/kuberuntime/labels.go), so the runtime's view of a pod is found by pod UID alone;
// - ContainerHash() is stable across nanolet versions and processes (FNV-1a over the fields it covers),
//   formatted as lower-case hex, and stored by the caller under kContainerHashLabel;
// - the restart attempt of a container is runtime::ContainerStatus::attempt (upstream keeps it in the
//   io.kubernetes.container.restartCount annotation as well; SandboxLabels/ContainerLabels write both).
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/runtime.h"

namespace nanolet::api {
struct Container;
struct Pod;
}  // namespace nanolet::api

namespace nanolet::kubelet {

inline constexpr std::string_view kPodNameLabel = "io.kubernetes.pod.name";
inline constexpr std::string_view kPodNamespaceLabel = "io.kubernetes.pod.namespace";
inline constexpr std::string_view kPodUIDLabel = "io.kubernetes.pod.uid";
inline constexpr std::string_view kContainerNameLabel = "io.kubernetes.container.name";
inline constexpr std::string_view kContainerHashLabel = "io.kubernetes.container.hash";
inline constexpr std::string_view kContainerRestartCountLabel = "io.kubernetes.container.restartCount";
// nanolet's own: whether the sandbox was made for a hostNetwork pod (upstream reads the CRI namespace
// options; our SandboxStatus does not carry them). "true" or "false".
inline constexpr std::string_view kSandboxHostNetworkLabel = "nanolet.io/host-network";

// As upstream HashContainer (pkg/kubelet/container/helpers.go): since 1.31 upstream hashes only the fields
// that may change on a running pod (name and image); everything else in a container spec is immutable for
// a given pod UID, and hashing more would restart every container when nanolet learns a new field.
uint64_t HashContainer(const api::Container& container);
// HashContainer as lower-case hex (strconv.FormatUint(hash, 16) upstream).
std::string ContainerHash(const api::Container& container);

// Labels for a pod's sandbox: pod name, namespace, UID and kSandboxHostNetworkLabel.
runtime::Labels SandboxLabels(const api::Pod& pod);
// Labels for a container of the pod: the sandbox's pod labels plus container name, hash and restart count.
runtime::Labels ContainerLabels(const api::Pod& pod, const api::Container& container, uint32_t attempt);

// Reads a label, then the annotation of the same key; "" when absent.
std::string LabelOrAnnotation(const runtime::Labels& labels, const runtime::Labels& annotations,
                              std::string_view key);

}  // namespace nanolet::kubelet
