#include "kubelet/restart_backoff.h"

#include "api/types.h"
#include "kubelet/backoff.h"
#include "kubelet/labels.h"
#include "kubelet/runtime_pod.h"
#include "util/timefmt.h"

namespace nanolet::kubelet {

std::string FormatPod(const api::Pod& pod) {
  return pod.metadata.name + "_" + pod.metadata.namespace_ + "(" + pod.metadata.uid + ")";
}

std::string RestartBackOffKey(const api::Pod& pod, const api::Container& container) {
  return pod.metadata.name + "_" + pod.metadata.namespace_ + "_" + pod.metadata.uid + "_" + container.name +
         "_" + ContainerHash(container);
}

std::optional<ContainerWaitingReason> CheckRestartBackOff(Backoff& backoff, const api::Pod& pod,
                                                          const api::Container& container,
                                                          const RuntimePodStatus& status) {
  // The newest exited container of that name (the list is newest first).
  const runtime::ContainerStatus* exited = nullptr;
  for (const auto& c : status.containers) {
    if (c.name == container.name && c.state == runtime::ContainerState::kExited) {
      exited = &c;
      break;
    }
  }
  if (exited == nullptr) return std::nullopt;

  const TimePoint ts = exited->finished_at;  // the window counts from the last finish
  const std::string key = RestartBackOffKey(pod, container);
  if (backoff.IsInBackOffSince(key, ts)) {
    return ContainerWaitingReason{std::string(kReasonCrashLoopBackOff),
                                  "back-off " + FormatDuration(backoff.Get(key)) +
                                      " restarting failed container=" + container.name +
                                      " pod=" + FormatPod(pod)};
  }
  backoff.Next(key, ts);
  return std::nullopt;
}

}  // namespace nanolet::kubelet
