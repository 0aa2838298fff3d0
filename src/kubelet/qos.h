#pragma once
// The pod's QoS class, as upstream ComputePodQOS (pkg/apis/core/v1/helper/qos/qos.go), without
// pod-level resources: requests and limits of cpu and memory summed over app and init containers
// (zero values ignored); none at all is BestEffort; limits for both cpu and memory equal to the
// requests for every requested resource is Guaranteed; anything else Burstable. Pure.
#include <string_view>

namespace nanolet::api {
struct Pod;
}

namespace nanolet::kubelet {

inline constexpr std::string_view kQOSGuaranteed = "Guaranteed";
inline constexpr std::string_view kQOSBurstable = "Burstable";
inline constexpr std::string_view kQOSBestEffort = "BestEffort";

std::string_view ComputePodQOS(const api::Pod& pod);
// As upstream GetPodQOS: the class already in pod.status when there is one, else ComputePodQOS.
std::string_view GetPodQOS(const api::Pod& pod);

}  // namespace nanolet::kubelet
