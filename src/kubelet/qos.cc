#include "kubelet/qos.h"

#include <map>
#include <string>

#include "api/types.h"

namespace nanolet::kubelet {

std::string_view ComputePodQOS(const api::Pod& pod) {
  // Summed in milli-units: exact for every quantity a pod spec can express at milli precision.
  std::map<std::string, int64_t> requests, limits;
  bool guaranteed = true;
  auto supported = [](const std::string& name) { return name == "cpu" || name == "memory"; };
  auto add = [&](const api::Container& c) {
    for (const auto& [name, q] : c.resources.requests) {
      if (supported(name) && q.Sign() > 0) requests[name] += q.MilliValue();
    }
    bool found_cpu = false, found_memory = false;
    for (const auto& [name, q] : c.resources.limits) {
      if (supported(name) && q.Sign() > 0) {
        limits[name] += q.MilliValue();
        (name == "cpu" ? found_cpu : found_memory) = true;
      }
    }
    // Every container must limit both cpu and memory for the pod to be Guaranteed.
    if (!found_cpu || !found_memory) guaranteed = false;
  };
  for (const auto& c : pod.spec.containers) add(c);
  for (const auto& c : pod.spec.init_containers) add(c);
  if (requests.empty() && limits.empty()) return kQOSBestEffort;
  if (guaranteed) {
    for (const auto& [name, req] : requests) {
      auto it = limits.find(name);
      if (it == limits.end() || it->second != req) {
        guaranteed = false;
        break;
      }
    }
  }
  if (guaranteed && requests.size() == limits.size()) return kQOSGuaranteed;
  return kQOSBurstable;
}

std::string_view GetPodQOS(const api::Pod& pod) {
  if (!pod.status.qos_class.empty()) return pod.status.qos_class;
  return ComputePodQOS(pod);
}

}  // namespace nanolet::kubelet
