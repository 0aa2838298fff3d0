#include "kubelet/phase.h"

#include "api/types.h"

namespace nanolet::kubelet {
namespace {

const api::ContainerStatus* Find(const std::vector<api::ContainerStatus>& statuses, const std::string& name) {
  for (const auto& s : statuses) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace

bool IsRestartableInitContainer(const api::Container& c) {
  return c.restart_policy.has_value() && *c.restart_policy == "Always";
}

bool IsStaticPod(const api::Pod& pod) {
  auto it = pod.metadata.annotations.find("kubernetes.io/config.source");
  return it != pod.metadata.annotations.end() && it->second != "api";
}

std::string_view GetPhase(const api::Pod& pod, const std::vector<api::ContainerStatus>& statuses,
                          bool pod_is_terminal, bool pod_has_initialized) {
  const api::PodSpec& spec = pod.spec;
  int pending_restartable_init = 0;
  int pending_regular_init = 0;
  int failed_initialization = 0;

  // Regular init containers.
  for (const auto& c : spec.init_containers) {
    if (IsRestartableInitContainer(c)) continue;
    const api::ContainerStatus* s = Find(statuses, c.name);
    if (s == nullptr) {
      ++pending_regular_init;
      continue;
    }
    if (s->state.running) {
      ++pending_regular_init;
    } else if (s->state.terminated) {
      if (s->state.terminated->exit_code != 0) ++failed_initialization;
    } else if (s->state.waiting) {
      if (s->last_state.terminated) {
        if (s->last_state.terminated->exit_code != 0) ++failed_initialization;
      } else {
        ++pending_regular_init;
      }
    } else {
      ++pending_regular_init;
    }
  }

  int unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0;

  // Sidecar (restartable) init containers: terminated ones do not count towards the phase.
  for (const auto& c : spec.init_containers) {
    if (!IsRestartableInitContainer(c)) continue;
    const api::ContainerStatus* s = Find(statuses, c.name);
    if (s == nullptr) {
      ++unknown;
      continue;
    }
    if (s->state.running) {
      if (!s->started.value_or(false)) ++pending_restartable_init;
      ++running;
    } else if (s->state.terminated) {
      // not taken into account
    } else if (s->state.waiting) {
      if (!s->last_state.terminated) {
        ++pending_restartable_init;
        ++waiting;
      }
    } else {
      ++pending_restartable_init;
      ++unknown;
    }
  }

  for (const auto& c : spec.containers) {
    const api::ContainerStatus* s = Find(statuses, c.name);
    if (s == nullptr) {
      ++unknown;
      continue;
    }
    if (s->state.running) {
      ++running;
    } else if (s->state.terminated) {
      ++stopped;
      if (s->state.terminated->exit_code == 0) ++succeeded;
    } else if (s->state.waiting) {
      if (s->last_state.terminated) {
        ++stopped;
      } else {
        ++waiting;
      }
    } else {
      ++unknown;
    }
  }

  // As upstream: a failed regular init container fails the pod only under restartPolicy Never (otherwise it
  // is restarted and the pod stays Pending).
  if (failed_initialization > 0 && spec.restart_policy == "Never") return kPodFailed;

  if (pending_regular_init > 0 || (pending_restartable_init > 0 && !pod_has_initialized) || waiting > 0) {
    return kPodPending;  // one or more containers has not been started
  }
  if (running > 0 && unknown == 0) return kPodRunning;
  if (running == 0 && stopped > 0 && unknown == 0) {
    // The pod worker says the containers will not restart whatever the policy (upstream skips static pods
    // here: TODO(#116484) there).
    if (pod_is_terminal && !IsStaticPod(pod)) {
      return stopped == succeeded ? kPodSucceeded : kPodFailed;
    }
    if (spec.restart_policy == "Always") return kPodRunning;  // all restarting
    if (stopped == succeeded) return kPodSucceeded;
    if (spec.restart_policy == "Never") return kPodFailed;
    return kPodRunning;  // OnFailure, at least one failed and restarting
  }
  return kPodPending;
}

}  // namespace nanolet::kubelet
