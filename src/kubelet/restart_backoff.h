#pragma once
// CrashLoopBackOff, as upstream kuberuntime_manager.doBackOff. The pod worker calls CheckRestartBackOff
// right before starting each container; it is the only place the restart backoff advances. A caller may
// rely on:
// - a container that never exited starts at once and does not touch the backoff;
// - the first restart after an exit is immediate, the next ones wait 10 s, 20 s, 40 s ... 300 s counted
//   from the moment the container last finished; 10 min of running without a failure resets the window;
// - while in backoff the result is the waiting reason CrashLoopBackOff with upstream's exact message
//   ("back-off 20s restarting failed container=app pod=web_default(uid)"), for the ReasonCache.
#include <optional>
#include <string>

#include "kubelet/reason_cache.h"

namespace nanolet::api {
struct Container;
struct Pod;
}  // namespace nanolet::api

namespace nanolet::kubelet {

class Backoff;
struct RuntimePodStatus;

// Upstream format.Pod: "name_namespace(uid)".
std::string FormatPod(const api::Pod& pod);
// Upstream GetStableKey: "name_namespace_uid_container_hash" (a spec change gets a fresh backoff).
std::string RestartBackOffKey(const api::Pod& pod, const api::Container& container);

// nullopt: start it now (the backoff has been advanced if the container had exited before).
std::optional<ContainerWaitingReason> CheckRestartBackOff(Backoff& backoff, const api::Pod& pod,
                                                          const api::Container& container,
                                                          const RuntimePodStatus& status);

}  // namespace nanolet::kubelet
