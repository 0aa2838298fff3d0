#pragma once
// Garbage collection of one live pod's runtime objects, as upstream kuberuntime_gc.go with the
// kubelet's defaults (no minimum age, one dead container kept per container name). A caller may
// rely on:
// - the newest container of each name is never removed (it is the container's state and restart
// count);
//   besides it, the newest dead container that did run is kept (the lastState); every other
//   container that is not running is removed, first of all those that never started (NeverStarted);
// - the newest sandbox is never removed; an older one is removed once it is not ready and every
// container
//   in it is garbage (RemovePodSandbox then removes those too), as upstream removes sandboxes that
//   are not ready and not the latest of their pod;
// - pods being terminated are not for this: TerminatePod removes everything of them.
// FindPodGarbage is pure; RemovePodGarbage calls the runtime and must run in the pod's worker slot
// (never beside the pod's sync).
#include <string>
#include <vector>

namespace nanolet::runtime {
class Runtime;
}

namespace nanolet::kubelet {

struct RuntimePodStatus;

struct PodGarbage {
  std::vector<std::string> containers;  // container IDs, removed first
  std::vector<std::string> sandboxes;   // sandbox IDs, removed after the containers
  bool empty() const { return containers.empty() && sandboxes.empty(); }
};

PodGarbage FindPodGarbage(const RuntimePodStatus& status);

// Removes what FindPodGarbage found; returns how many objects could not be removed (logged).
int RemovePodGarbage(runtime::Runtime& rt, const PodGarbage& garbage);

}  // namespace nanolet::kubelet
