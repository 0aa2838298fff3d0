#pragma once
// The runtime's view of one pod (upstream's kubecontainer.PodStatus): its sandboxes and containers
// as the Runtime reports them, newest first. A caller may rely on:
// - Build() keeps only objects labelled with the pod's UID (kPodUIDLabel on containers, pod_uid on
//   sandboxes) and sorts both lists by created_at, newest first, as upstream does before every
//   decision;
// - FindContainer() returns the newest container of that name (upstream FindContainerStatusByName);
// - nothing here talks to the runtime: the caller lists, this file only groups and looks up.
#include <string>
#include <string_view>
#include <vector>

#include "runtime/runtime.h"

namespace nanolet::kubelet {

struct RuntimePodStatus {
  std::string uid;
  std::vector<runtime::SandboxStatus> sandboxes;     // newest first
  std::vector<runtime::ContainerStatus> containers;  // newest first

  // Groups what ListPodSandboxes/ListContainers returned for the pod `uid`.
  static RuntimePodStatus Build(std::string_view uid,
                                const std::vector<runtime::SandboxStatus>& sandboxes,
                                const std::vector<runtime::ContainerStatus>& containers);
  // Sorts both lists newest first (for callers that fill the fields by hand).
  void Sort();

  // The newest container named `name`, or nullptr.
  const runtime::ContainerStatus* FindContainer(std::string_view name) const;
  // The IPs of the newest sandbox when it is ready (upstream GetPodStatus: "only get pod IP from
  // latest sandbox"), primary first; empty otherwise.
  std::vector<std::string> PodIPs() const;
  // Containers of the newest sandbox (upstream ActiveContainerStatuses).
  std::vector<const runtime::ContainerStatus*> ActiveContainers() const;
};

// The Kubernetes container name of a runtime container: the kContainerNameLabel label, else its
// name.
std::string ContainerName(const runtime::ContainerStatus& c);

// Whether the container's process never ran: created only, or killed (exited) before it was
// started, e.g. when nanolet was restarted between the two. Such a container is not a run: it
// counts neither for the restart count nor for the restart policy, and garbage collection removes
// it first.
bool NeverStarted(const runtime::ContainerStatus& c);

}  // namespace nanolet::kubelet
