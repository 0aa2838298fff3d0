#include "kubelet/pod_status.h"

#include <algorithm>
#include <map>

#include "kubelet/pod_actions.h"
#include "kubelet/qos.h"
#include "kubelet/phase.h"
#include "kubelet/runtime_pod.h"
#include "util/timefmt.h"

namespace nanolet::kubelet {
namespace {

using runtime::ContainerState;

constexpr std::string_view kContainerIDPrefix = "runc://";

bool IsTerminalPhase(std::string_view p) { return p == kPodSucceeded || p == kPodFailed; }

const api::ContainerStatus* FindStatus(const std::vector<api::ContainerStatus>& v, const std::string& name) {
  for (const auto& s : v) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// Go's fmt %s of a []string: "[a b c]".
std::string GoList(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + v[i];
  return s + "]";
}

std::string JoinComma(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

std::string StripContainerID(const std::string& id) {
  return id.rfind(kContainerIDPrefix, 0) == 0 ? id.substr(kContainerIDPrefix.size()) : id;
}

// As upstream convertContainerStatus (inside convertToAPIContainerStatuses).
api::ContainerStatus ConvertOne(const runtime::ContainerStatus& cs, const api::ContainerStatus* old) {
  api::ContainerStatus st;
  st.name = cs.name;
  st.restart_count = static_cast<int32_t>(cs.attempt);
  st.image = cs.image;
  st.image_id = cs.image_id;
  st.container_id = std::string(kContainerIDPrefix) + cs.id;
  switch (cs.state) {
    case ContainerState::kRunning:
      st.state.running = api::ContainerStateRunning{FormatTime(cs.started_at)};
      break;
    case ContainerState::kCreated:
      st.state.waiting = api::ContainerStateWaiting{};  // created, not yet running
      break;
    case ContainerState::kExited: {
      api::ContainerStateTerminated t;
      t.exit_code = cs.exit_code;
      t.signal = cs.signal;
      t.reason = cs.reason;
      if (t.reason.empty()) t.reason = std::string(cs.exit_code == 0 ? kReasonCompleted : kReasonError);
      t.message = cs.message;
      t.started_at = FormatTime(cs.started_at);
      t.finished_at = FormatTime(cs.finished_at);
      t.container_id = st.container_id;
      st.state.terminated = std::move(t);
      break;
    }
    case ContainerState::kUnknown:
      if (old != nullptr && old->state.running) {
        // It ran and is gone: report it terminated rather than waiting, so a run-once pod does not run twice.
        api::ContainerStateTerminated t;
        t.reason = std::string(kReasonContainerStatusUnknown);
        t.message = "The container could not be located when the pod was terminated";
        t.exit_code = 137;
        st.state.terminated = std::move(t);
        st.restart_count = old->restart_count + 1;
      } else {
        st.state.waiting = api::ContainerStateWaiting{};
      }
      break;
  }
  return st;
}

bool HasAnyRegularContainerStarted(const api::PodSpec& spec, const std::vector<api::ContainerStatus>& statuses) {
  for (const auto& s : statuses) {
    bool regular = std::any_of(spec.containers.begin(), spec.containers.end(),
                               [&](const api::Container& c) { return c.name == s.name; });
    if (regular && (s.state.running || s.state.terminated)) return true;
  }
  return false;
}

bool HasAnyActiveRegularContainerStarted(const api::PodSpec& spec, const RuntimePodStatus& rt) {
  for (const runtime::ContainerStatus* c : rt.ActiveContainers()) {
    if (c->started_at == TimePoint{}) continue;
    for (const auto& sc : spec.containers) {
      if (sc.name == c->name) return true;
    }
  }
  return false;
}

api::PodCondition Condition(std::string_view type, std::string_view status, std::string_view reason = "",
                            std::string message = "") {
  api::PodCondition c;
  c.type = std::string(type);
  c.status = std::string(status);
  c.reason = std::string(reason);
  c.message = std::move(message);
  return c;
}

bool OwnedByKubelet(const std::string& type) {
  return type == "PodScheduled" || type == "Ready" || type == "Initialized" || type == "ContainersReady" ||
         type == "PodReadyToStartContainers" || type == "PodResizeInProgress" || type == "PodResizePending";
}

const api::PodCondition* FindCondition(const std::vector<api::PodCondition>& v, std::string_view type) {
  for (const auto& c : v) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

void ApplyProbe(const api::Container& spec, const ProbeResults* probes, bool sidecar_or_app,
                api::ContainerStatus& st) {
  auto find = [&](std::optional<ProbeResult> ContainerProbeResults::*m) -> std::optional<ProbeResult> {
    if (probes == nullptr) return std::nullopt;
    auto it = probes->find(StripContainerID(st.container_id));
    if (it == probes->end()) return std::nullopt;
    return it->second.*m;
  };
  bool started = false;
  if (st.state.running) {
    auto r = find(&ContainerProbeResults::startup);
    started = r ? *r == ProbeResult::kSuccess : !spec.startup_probe.has_value();
  }
  st.started = started;
  if (!sidecar_or_app) {  // a regular init container is ready once it exited 0
    if (st.state.terminated && st.state.terminated->exit_code == 0) st.ready = true;
    return;
  }
  if (!started) return;
  bool ready = false;
  if (st.state.running) {
    auto r = find(&ContainerProbeResults::readiness);
    ready = (r && *r == ProbeResult::kSuccess) || !spec.readiness_probe.has_value();
  }
  st.ready = ready;
}

}  // namespace

std::string FormatTime(TimePoint t) { return t == TimePoint{} ? std::string() : FormatRFC3339(t); }

std::vector<api::ContainerStatus> ConvertContainerStatuses(const api::Pod& pod, const RuntimePodStatus& runtime,
                                                           const std::vector<api::ContainerStatus>& previous,
                                                           const std::vector<api::Container>& containers,
                                                           bool is_init, const ReasonCache* reasons) {
  const bool has_init = !pod.spec.init_containers.empty();
  const std::string_view default_reason = has_init ? kReasonPodInitializing : kReasonContainerCreating;

  std::map<std::string, api::ContainerStatus> old;
  for (const auto& s : previous) old[s.name] = s;

  // Defaults: waiting, carrying over the restart count and last state of the previous status (the whole
  // previous status when it was terminated).
  std::map<std::string, api::ContainerStatus> statuses;
  for (const auto& c : containers) {
    auto it = old.find(c.name);
    if (it != old.end() && it->second.state.terminated) {
      statuses[c.name] = it->second;
      continue;
    }
    api::ContainerStatus& st = statuses[c.name];
    st.name = c.name;
    st.image = c.image;
    st.state.waiting.emplace();
    st.state.waiting->reason = std::string(default_reason);
    if (it != old.end()) {
      st.restart_count = it->second.restart_count;
      st.last_state = it->second.last_state;
    }
  }

  // Containers the runtime no longer knows that were running: infer a termination instead of showing them
  // waiting again (which would push the pod back to Pending).
  for (const auto& c : containers) {
    if (runtime.FindContainer(c.name) != nullptr) continue;
    auto it = old.find(c.name);
    if (it == old.end() || it->second.state.terminated || !it->second.state.running) continue;
    api::ContainerStatus& st = statuses[c.name];
    bool default_waiting = st.state.waiting && st.state.waiting->reason == default_reason;
    if (!default_waiting || st.last_state.terminated) continue;
    api::ContainerStateTerminated t;
    t.reason = std::string(kReasonContainerStatusUnknown);
    t.message = "The container could not be located when the pod was deleted.  The container used to be Running";
    t.exit_code = 137;
    st.last_state.terminated = std::move(t);
    if (pod.metadata.deletion_timestamp.empty()) st.restart_count += 1;
  }

  // The newest run of each container is its state, the one before it its lastState.
  std::map<std::string, int> seen;
  for (const auto& cs : runtime.containers) {  // newest first
    auto it = statuses.find(cs.name);
    if (it == statuses.end()) continue;
    int& n = seen[cs.name];
    if (n >= 2) continue;
    auto o = old.find(cs.name);
    api::ContainerStatus st = ConvertOne(cs, o == old.end() ? nullptr : &o->second);
    if (cs.state == ContainerState::kRunning && o != old.end() && o->second.started) {
      st.started = o->second.started;
    }
    if (n == 0) {
      it->second = std::move(st);
    } else {
      it->second.last_state = st.state;
    }
    ++n;
  }

  // Containers that will be (re)started on the next sync show why they are not running yet.
  for (const auto& c : containers) {
    if (is_init) {
      const runtime::ContainerStatus* s = runtime.FindContainer(c.name);
      if (s != nullptr && s->state == ContainerState::kExited && s->exit_code == 0) continue;
      // Init container gone from the runtime after the app containers were created: it completed.
      bool created_regular = std::any_of(
          pod.spec.containers.begin(), pod.spec.containers.end(), [&](const api::Container& ac) {
            const runtime::ContainerStatus* r = runtime.FindContainer(ac.name);
            return r != nullptr && r->state != ContainerState::kUnknown;
          });
      if (s == nullptr && created_regular && !IsRestartableInitContainer(c) && statuses[c.name].state.waiting) {
        api::ContainerStateTerminated t;
        t.reason = std::string(kReasonCompleted);
        t.message =
            "Unable to get init container status from container runtime and pod has been initialized, treat it "
            "as exited normally";
        statuses[c.name].state = api::ContainerState{};
        statuses[c.name].state.terminated = std::move(t);
        continue;
      }
    }
    if (!ShouldContainerBeRestarted(c, pod, runtime)) continue;
    if (reasons == nullptr) continue;
    auto r = reasons->find(c.name);
    if (r == reasons->end()) continue;
    api::ContainerStatus& st = statuses[c.name];
    if (st.state.terminated) st.last_state = st.state;
    st.state = api::ContainerState{};
    st.state.waiting = api::ContainerStateWaiting{r->second.reason, r->second.message};
  }

  std::vector<api::ContainerStatus> out;
  out.reserve(statuses.size());
  if (is_init) {
    for (const auto& c : containers) out.push_back(statuses[c.name]);
  } else {
    for (auto& [name, st] : statuses) out.push_back(std::move(st));  // std::map: sorted by name
  }
  return out;
}

void ApplyProbeResults(const api::Pod& pod, const ProbeResults* probes, api::PodStatus& status) {
  for (auto& st : status.container_statuses) {
    for (const auto& c : pod.spec.containers) {
      if (c.name == st.name) ApplyProbe(c, probes, true, st);
    }
  }
  for (auto& st : status.init_container_statuses) {
    for (const auto& c : pod.spec.init_containers) {
      if (c.name == st.name) ApplyProbe(c, probes, IsRestartableInitContainer(c), st);
    }
  }
}

bool PastActiveDeadline(const api::Pod& pod, TimePoint start_time, TimePoint now) {
  if (!pod.spec.active_deadline_seconds || start_time == TimePoint{}) return false;
  return now - start_time >= std::chrono::seconds(*pod.spec.active_deadline_seconds);
}

api::PodCondition GenerateContainersReadyCondition(const api::Pod& pod,
                                                   const std::vector<api::ContainerStatus>& statuses,
                                                   std::string_view phase) {
  if (statuses.empty()) return Condition("ContainersReady", "False", kUnknownContainerStatuses);
  std::vector<std::string> unknown, unready;
  auto check = [&](const api::Container& c) {
    const api::ContainerStatus* s = FindStatus(statuses, c.name);
    if (s == nullptr) {
      unknown.push_back(c.name);
    } else if (!s->ready) {
      unready.push_back(c.name);
    }
  };
  for (const auto& c : pod.spec.init_containers) {
    if (IsRestartableInitContainer(c)) check(c);
  }
  for (const auto& c : pod.spec.containers) check(c);

  if (phase == kPodSucceeded && unknown.empty()) return Condition("ContainersReady", "False", kPodCompleted);
  if (phase == kPodFailed) return Condition("ContainersReady", "False", kPodFailedReason);

  std::vector<std::string> msgs;
  if (!unknown.empty()) msgs.push_back("containers with unknown status: " + GoList(unknown));
  if (!unready.empty()) msgs.push_back("containers with unready status: " + GoList(unready));
  if (!msgs.empty()) return Condition("ContainersReady", "False", kContainersNotReady, JoinComma(msgs));
  return Condition("ContainersReady", "True");
}

api::PodCondition GeneratePodReadyCondition(const api::Pod& pod, const std::vector<api::ContainerStatus>& statuses,
                                            std::string_view phase) {
  api::PodCondition cr = GenerateContainersReadyCondition(pod, statuses, phase);
  // No readiness gates in nanolet's PodSpec: Ready follows ContainersReady.
  return Condition("Ready", cr.status, cr.reason, cr.message);
}

api::PodCondition GeneratePodInitializedCondition(const api::Pod& pod,
                                                  const std::vector<api::ContainerStatus>& statuses,
                                                  std::string_view phase) {
  if (statuses.empty() && !pod.spec.init_containers.empty()) {
    return Condition("Initialized", "False", kUnknownContainerStatuses);
  }
  std::vector<std::string> unknown, incomplete;
  for (const auto& c : pod.spec.init_containers) {
    const api::ContainerStatus* s = FindStatus(statuses, c.name);
    if (s == nullptr) {
      unknown.push_back(c.name);
      continue;
    }
    bool initialized = IsRestartableInitContainer(c) ? s->started.value_or(false) : s->ready;
    if (!initialized) incomplete.push_back(c.name);
  }
  if (phase == kPodSucceeded && unknown.empty()) return Condition("Initialized", "True", kPodCompleted);
  // A regular container that ran means the pod was initialized (sidecars may be restarting).
  if (HasAnyRegularContainerStarted(pod.spec, statuses)) return Condition("Initialized", "True");
  std::vector<std::string> msgs;
  if (!unknown.empty()) msgs.push_back("containers with unknown status: " + GoList(unknown));
  if (!incomplete.empty()) msgs.push_back("containers with incomplete status: " + GoList(incomplete));
  if (!msgs.empty()) return Condition("Initialized", "False", kContainersNotInitialized, JoinComma(msgs));
  return Condition("Initialized", "True");
}

api::PodStatus GeneratePodStatus(const api::Pod& pod, const RuntimePodStatus& runtime,
                                 const PodStatusContext& ctx) {
  const api::PodStatus& old = ctx.previous != nullptr ? *ctx.previous : pod.status;
  const TimePoint now = ctx.now;
  api::PodStatus s;

  for (const auto& ip : runtime.PodIPs()) s.pod_ips.push_back({ip});
  if (!s.pod_ips.empty()) s.pod_ip = s.pod_ips.front().ip;
  s.qos_class = !old.qos_class.empty() ? old.qos_class : std::string(GetPodQOS(pod));

  s.container_statuses = ConvertContainerStatuses(pod, runtime, old.container_statuses, pod.spec.containers,
                                                  false, ctx.reasons);
  s.init_container_statuses = ConvertContainerStatuses(pod, runtime, old.init_container_statuses,
                                                       pod.spec.init_containers, true, ctx.reasons);

  // Phase. As upstream, before the prober results are applied: `started` here is the previous one.
  std::vector<api::ContainerStatus> all = s.container_statuses;
  all.insert(all.end(), s.init_container_statuses.begin(), s.init_container_statuses.end());
  s.phase = std::string(
      GetPhase(pod, all, ctx.pod_is_terminal, HasAnyActiveRegularContainerStarted(pod.spec, runtime)));
  if (!IsTerminalPhase(s.phase)) {
    if (IsTerminalPhase(old.phase)) {
      s.phase = old.phase;
    } else if (IsTerminalPhase(pod.status.phase)) {
      s.phase = pod.status.phase;
    }
  }
  if (s.phase == old.phase) {  // keep the reason and message that came with the phase
    s.reason = old.reason.empty() ? pod.status.reason : old.reason;
    s.message = old.message.empty() ? pod.status.message : old.message;
  }

  // startTime: set once (status manager).
  TimePoint first_seen = ctx.first_seen == TimePoint{} ? now : ctx.first_seen;
  s.start_time = !old.start_time.empty() ? old.start_time : FormatTime(first_seen);
  TimePoint start = first_seen;
  if (!old.start_time.empty()) {
    if (auto t = ParseRFC3339(old.start_time); t.ok()) start = *t;
  }
  if (PastActiveDeadline(pod, start, now)) {  // upstream activeDeadlineHandler.ShouldEvict
    s.phase = std::string(kPodFailed);
    s.reason = std::string(kDeadlineExceededReason);
    s.message = std::string(kDeadlineExceededMessage);
  }
  if (IsTerminalPhase(pod.status.phase) && s.phase != pod.status.phase) s.phase = pod.status.phase;

  ApplyProbeResults(pod, ctx.probes, s);

  // Conditions: the ones the kubelet does not own first, then its own.
  for (const auto& c : pod.status.conditions) {
    if (!OwnedByKubelet(c.type)) s.conditions.push_back(c);
  }
  if (const api::PodCondition* d = FindCondition(old.conditions, "DisruptionTarget");
      d != nullptr && FindCondition(s.conditions, "DisruptionTarget") == nullptr) {
    s.conditions.push_back(*d);
  }
  std::vector<api::ContainerStatus> all_statuses = s.init_container_statuses;
  all_statuses.insert(all_statuses.end(), s.container_statuses.begin(), s.container_statuses.end());
  std::vector<api::PodCondition> own;
  own.push_back(Condition("PodReadyToStartContainers", PodSandboxChanged(pod, runtime).changed ? "False" : "True"));
  own.push_back(GeneratePodInitializedCondition(pod, all_statuses, s.phase));
  own.push_back(GeneratePodReadyCondition(pod, all_statuses, s.phase));
  own.push_back(GenerateContainersReadyCondition(pod, all_statuses, s.phase));
  own.push_back(Condition("PodScheduled", "True"));
  for (auto& c : own) {  // status manager updateLastTransitionTime
    const api::PodCondition* o = FindCondition(old.conditions, c.type);
    c.last_transition_time = (o != nullptr && o->status == c.status) ? o->last_transition_time : FormatTime(now);
    s.conditions.push_back(std::move(c));
  }

  if (!ctx.host_ips.empty()) {
    s.host_ip = ctx.host_ips.front();
    for (const auto& ip : ctx.host_ips) s.host_ips.push_back({ip});
    if (pod.spec.host_network && s.pod_ip.empty()) {
      s.pod_ip = s.host_ip;
      s.pod_ips = {api::PodIP{s.host_ip}};
    }
  }
  return s;
}

}  // namespace nanolet::kubelet
