#include "kubelet/pod_actions.h"

#include <algorithm>

#include "api/types.h"
#include "kubelet/labels.h"
#include "kubelet/phase.h"
#include "kubelet/runtime_pod.h"

namespace nanolet::kubelet {
namespace {

using runtime::ContainerState;

bool ShouldRestartOnFailure(const api::Pod& pod) { return pod.spec.restart_policy != "Never"; }

bool AnyContainerStarted(const RuntimePodStatus& status) {
  return std::any_of(status.containers.begin(), status.containers.end(),
                     [](const runtime::ContainerStatus& c) { return !NeverStarted(c); });
}

// As upstream containerChanged: the hash the container was created with differs from the spec's. A
// container without a hash label (not created by nanolet) is taken as unchanged rather than killed.
bool ContainerChanged(const api::Container& c, const runtime::ContainerStatus& s) {
  std::string h = LabelOrAnnotation(s.labels, s.annotations, kContainerHashLabel);
  return !h.empty() && h != ContainerHash(c);
}

// As upstream isInitContainerFailed (kuberuntime/helpers.go).
bool IsInitContainerFailed(const runtime::ContainerStatus& s) {
  if (s.reason == "OOMKilled") return true;
  if (s.state == ContainerState::kExited && s.exit_code != 0) return true;
  return s.state == ContainerState::kUnknown;
}

bool ContainerSucceeded(const api::Container& c, const RuntimePodStatus& status) {
  const runtime::ContainerStatus* s = status.FindContainer(c.name);
  return s != nullptr && s->state == ContainerState::kExited && s->exit_code == 0;
}

bool HasAnyRegularContainerCreated(const api::Pod& pod, const RuntimePodStatus& status) {
  for (const auto& c : pod.spec.containers) {
    const runtime::ContainerStatus* s = status.FindContainer(c.name);
    if (s != nullptr && s->state != ContainerState::kUnknown) return true;
  }
  return false;
}

const char* StateName(ContainerState s) {
  switch (s) {
    case ContainerState::kCreated:
      return "created";
    case ContainerState::kRunning:
      return "running";
    case ContainerState::kExited:
      return "exited";
    case ContainerState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<ProbeResult> Probe(const ProbeResults& probes, const std::string& id,
                                 std::optional<ProbeResult> ContainerProbeResults::*member) {
  auto it = probes.find(id);
  if (it == probes.end()) return std::nullopt;
  return it->second.*member;
}

class Builder {
 public:
  Builder(const api::Pod& pod, const RuntimePodStatus& status, PodActions& a)
      : pod_(pod), status_(status), a_(a) {}

  void StartInit(size_t i) {
    const auto& c = pod_.spec.init_containers[i];
    a_.init_containers_to_start.push_back({i, c.name, NextAttempt(status_, c.name)});
  }
  void Start(size_t i) {
    const auto& c = pod_.spec.containers[i];
    a_.containers_to_start.push_back({i, c.name, NextAttempt(status_, c.name)});
  }
  void Kill(const runtime::ContainerStatus& s, std::string message, std::string_view reason) {
    for (auto& k : a_.containers_to_kill) {
      if (k.container_id == s.id) {  // a map keyed by container ID upstream: the last write wins
        k = {s.id, s.name, std::move(message), std::string(reason)};
        return;
      }
    }
    a_.containers_to_kill.push_back({s.id, s.name, std::move(message), std::string(reason)});
  }

 private:
  const api::Pod& pod_;
  const RuntimePodStatus& status_;
  PodActions& a_;
};

// As upstream computeInitContainerActions: returns whether the pod has been initialized; may set
// kill_pod.
bool ComputeInitContainerActions(const api::Pod& pod, const RuntimePodStatus& status,
                                 const ProbeResults& probes, PodActions& a, Builder& b) {
  const auto& inits = pod.spec.init_containers;
  if (inits.empty()) return true;

  // A regular container created or running means initialization happened before, even if the init
  // containers were removed since (exited ones may be from a previous sandbox: not counted).
  bool pod_has_initialized = false;
  for (const auto& c : pod.spec.containers) {
    const runtime::ContainerStatus* s = status.FindContainer(c.name);
    if (s != nullptr &&
        (s->state == ContainerState::kCreated || s->state == ContainerState::kRunning)) {
      pod_has_initialized = true;
      break;
    }
  }

  bool previously_initialized = pod_has_initialized;
  const bool restart_on_failure = ShouldRestartOnFailure(pod);
  std::vector<size_t> to_start;  // collected backwards, reversed at the end

  // Backwards: the last init container that left a trace tells how far initialization got, since
  // completed ones may have been removed from the runtime.
  for (size_t n = inits.size(); n-- > 0;) {
    const api::Container& c = inits[n];
    const bool restartable = IsRestartableInitContainer(c);
    const runtime::ContainerStatus* s = status.FindContainer(c.name);
    if (s == nullptr) {
      if (previously_initialized && restartable) to_start.push_back(n);
      continue;
    }
    if (previously_initialized && !restartable)
      continue;  // only sidecars are kept running afterwards

    switch (NeverStarted(*s) ? ContainerState::kCreated : s->state) {
      case ContainerState::kCreated:
        // Never started (the runtime failed to start it, or nanolet restarted meanwhile): start it
        // again, after killing what runc may hold of it.
        if (s->state == ContainerState::kCreated) {
          b.Kill(*s,
                 "Init container " + c.name +
                     " was created but never started, try killing it before restart",
                 kKillReasonUnknown);
        }
        to_start.push_back(n);
        break;
      case ContainerState::kRunning: {
        if (!restartable) break;  // wait for it to finish
        if (c.startup_probe) {
          auto startup = Probe(probes, s->id, &ContainerProbeResults::startup);
          if (!startup) break;  // not probed yet: wait
          if (*startup != ProbeResult::kSuccess) {
            b.Kill(*s, "Init container " + c.name + " failed startup probe",
                   kKillReasonStartupProbe);
            to_start.push_back(n);
            break;
          }
        }
        if (n == inits.size() - 1) {
          pod_has_initialized = true;
        } else if (!previously_initialized) {
          to_start.push_back(n + 1);  // started for the first time: start the next one
        }
        if (ContainerChanged(c, *s)) {
          b.Kill(*s, "Init container " + c.name + " definition changed", "");
          to_start.push_back(n);
          break;
        }
        if (c.liveness_probe) {
          auto liveness = Probe(probes, s->id, &ContainerProbeResults::liveness);
          if (liveness && *liveness == ProbeResult::kFailure) {
            b.Kill(*s, "Init container " + c.name + " failed liveness probe",
                   kKillReasonLivenessProbe);
            to_start.push_back(n);
          }
        }
        break;
      }
      case ContainerState::kExited:
        if (restartable) {
          to_start.push_back(n);
        } else if (IsInitContainerFailed(*s)) {
          if (!restart_on_failure) {
            a.kill_pod = true;
            a.init_containers_to_start.clear();
            return false;
          }
          to_start.push_back(n);
        } else if (n == inits.size() - 1) {
          pod_has_initialized = true;
        } else {
          to_start.push_back(n + 1);
        }
        break;
      case ContainerState::kUnknown:
        if (!restartable && !restart_on_failure) {
          a.kill_pod = true;
          a.init_containers_to_start.clear();
          return false;
        }
        b.Kill(*s,
               std::string("Init container is in \"") + StateName(s->state) +
                   "\" state, try killing it before restart",
               kKillReasonUnknown);
        to_start.push_back(n);
        break;
    }
    previously_initialized = true;  // the ones before this one have been initialized
  }
  if (!previously_initialized) to_start.push_back(0);  // nothing started yet: the first one

  std::reverse(to_start.begin(), to_start.end());
  for (size_t i : to_start) b.StartInit(i);
  return pod_has_initialized;
}

}  // namespace

uint32_t NextAttempt(const RuntimePodStatus& status, std::string_view name) {
  const runtime::ContainerStatus* s = status.FindContainer(name);
  if (s == nullptr) return 0;
  return NeverStarted(*s) ? s->attempt
                          : s->attempt + 1;  // an attempt that never ran is tried again
}

SandboxChange PodSandboxChanged(const api::Pod& pod, const RuntimePodStatus& status) {
  if (status.sandboxes.empty()) return {true, 0, ""};
  int ready = 0;
  uint32_t max_attempt = 0;
  for (const auto& s : status.sandboxes) {
    if (s.state == runtime::SandboxState::kReady) ++ready;
    max_attempt = std::max(max_attempt, s.attempt);
  }
  const runtime::SandboxStatus& sb = status.sandboxes.front();
  if (ready > 1) return {true, max_attempt + 1, sb.id};  // reconcile several ready sandboxes
  if (sb.state != runtime::SandboxState::kReady) return {true, max_attempt + 1, sb.id};
  std::string host_net = LabelOrAnnotation(sb.labels, sb.annotations, kSandboxHostNetworkLabel);
  if (!host_net.empty() && (host_net == "true") != pod.spec.host_network) {
    return {true, max_attempt + 1, ""};  // network namespace mode changed
  }
  if (!pod.spec.host_network && sb.ip.empty() && sb.ips.empty() && !sb.network_pending) {
    return {true, max_attempt + 1, sb.id};  // no IP address
  }
  return {false, max_attempt, sb.id};
}

bool ShouldContainerBeRestarted(const api::Container& container, const api::Pod& pod,
                                const RuntimePodStatus& status) {
  if (!pod.metadata.deletion_timestamp.empty()) return false;
  const runtime::ContainerStatus* s = status.FindContainer(container.name);
  if (s == nullptr) return true;
  if (s->state == ContainerState::kRunning) return false;
  if (s->state == ContainerState::kUnknown || NeverStarted(*s)) return true;
  if (pod.spec.restart_policy == "Never") return false;
  if (pod.spec.restart_policy == "OnFailure" && s->exit_code == 0) return false;
  return true;
}

PodActions ComputePodActions(const api::Pod& pod, const RuntimePodStatus& status,
                             const ProbeResults& probes) {
  PodActions a;
  Builder b(pod, status, a);
  SandboxChange sc = PodSandboxChanged(pod, status);
  a.kill_pod = sc.changed;
  a.create_sandbox = sc.changed;
  a.sandbox_id = sc.sandbox_id;
  a.sandbox_attempt = sc.attempt;

  if (sc.changed) {
    // Under restartPolicy Never a pod whose sandbox died after running containers is not started
    // again (containers that never started do not count: nanolet restarted while making the pod).
    if (!ShouldRestartOnFailure(pod) && sc.attempt != 0 && AnyContainerStarted(status)) {
      a.create_sandbox = false;
      return a;
    }
    std::vector<size_t> to_start;
    for (size_t i = 0; i < pod.spec.containers.size(); ++i) {
      if (pod.spec.restart_policy == "OnFailure" &&
          ContainerSucceeded(pod.spec.containers[i], status))
        continue;
      to_start.push_back(i);
    }
    // Initialized and nothing left to run: just kill what is left, no new sandbox.
    if (to_start.empty() && HasAnyRegularContainerCreated(pod, status)) {
      a.create_sandbox = false;
      return a;
    }
    if (!pod.spec.init_containers.empty()) {
      b.StartInit(0);  // a new sandbox starts over from the first init container
      return a;
    }
    for (size_t i : to_start) b.Start(i);
    return a;
  }

  bool initialized = ComputeInitContainerActions(pod, status, probes, a, b);
  if (a.kill_pod || !initialized) return a;  // initialization failed or still in progress

  int keep = 0;
  for (size_t i = 0; i < pod.spec.containers.size(); ++i) {
    const api::Container& c = pod.spec.containers[i];
    const runtime::ContainerStatus* s = status.FindContainer(c.name);
    if (s == nullptr || s->state != ContainerState::kRunning) {
      if (ShouldContainerBeRestarted(c, pod, status)) {
        b.Start(i);
        if (s != nullptr && s->state == ContainerState::kCreated) {
          // Created and never started: runc may hold its process waiting to start; never two of
          // one.
          b.Kill(*s,
                 "Container " + c.name +
                     " was created but never started, try killing it before restart",
                 kKillReasonUnknown);
        } else if (s != nullptr && s->state == ContainerState::kUnknown) {
          // It may still run: kill it first so that two instances never run at once.
          b.Kill(*s,
                 std::string("Container is in \"") + StateName(s->state) +
                     "\" state, try killing it before restart",
                 kKillReasonUnknown);
        }
      }
      continue;
    }
    // Running: kill it if its spec changed or a probe failed.
    std::string message;
    std::string_view reason;
    bool restart = ShouldRestartOnFailure(pod);
    if (ContainerChanged(c, *s)) {
      message = "Container " + c.name + " definition changed";
      restart = true;  // whatever the restart policy
    } else if (auto l = Probe(probes, s->id, &ContainerProbeResults::liveness);
               l && *l == ProbeResult::kFailure) {
      message = "Container " + c.name + " failed liveness probe";
      reason = kKillReasonLivenessProbe;
    } else if (auto st = Probe(probes, s->id, &ContainerProbeResults::startup);
               st && *st == ProbeResult::kFailure) {
      message = "Container " + c.name + " failed startup probe";
      reason = kKillReasonStartupProbe;
    } else {
      ++keep;
      continue;
    }
    if (restart) {
      message += ", will be restarted";
      b.Start(i);
    }
    b.Kill(*s, std::move(message), reason);
  }

  if (keep == 0 && a.containers_to_start.empty()) {
    a.kill_pod = true;
    a.init_containers_to_start.clear();  // sidecars must not keep a finished pod alive
  }
  return a;
}

std::string PodActions::String() const {
  auto list = [](const std::vector<ContainerToStart>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i)
      s += (i ? " " : "") + v[i].name + "#" + std::to_string(v[i].attempt);
    return s + "]";
  };
  std::string kills = "[";
  for (size_t i = 0; i < containers_to_kill.size(); ++i) {
    kills += (i ? " " : "") + containers_to_kill[i].name + "(" +
             containers_to_kill[i].container_id + ")";
  }
  kills += "]";
  return std::string("KillPod: ") + (kill_pod ? "true" : "false") +
         ", CreateSandbox: " + (create_sandbox ? "true" : "false") + ", SandboxID: " + sandbox_id +
         ", Attempt: " + std::to_string(sandbox_attempt) +
         ", InitContainersToStart: " + list(init_containers_to_start) +
         ", ContainersToStart: " + list(containers_to_start) + ", ContainersToKill: " + kills;
}

}  // namespace nanolet::kubelet
